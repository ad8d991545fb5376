"""Reads the portal's lists need beside notices.selectors: the headline figures of each notice on a
page of the sent list (the publishing unit's statistics row: its whole audience). Scoped like the
statistics themselves: only for notices the caller may manage, anything else is left out."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import User

from ..models import DELIVERED_STATES, Notice, NoticeUnitStat
from . import is_manager_of


def headline_stats(*, user: User, notices: Iterable[Notice]) -> dict[int, NoticeUnitStat]:
    """notice id → its publishing unit's row (audience, read, confirmed), one query for the page."""
    mine = [n for n in notices if n.state in DELIVERED_STATES and is_manager_of(user, n)]
    if not mine:
        return {}
    rows = NoticeUnitStat.objects.filter(notice_id__in=[n.pk for n in mine], unit_id__in={n.unit_id for n in mine})
    by_notice = {n.pk: n.unit_id for n in mine}
    return {row.notice_id: row for row in rows if by_notice.get(row.notice_id) == row.unit_id}
