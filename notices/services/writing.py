"""发送公告: write, revise and submit a notice, and forward one down the tree (分级发布).

A notice publisher writes for the unit where it holds the role; the audience is checked against that
unit's subtree here, so nothing outside it can be addressed whatever a client sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.scope import path_in_subtree, scope_of
from helpdesk.core.markdown import render_markdown
from helpdesk.core.search import search_text_for
from orgtree.models import OrgLevel, OrgUnit

from .. import notifications, selectors
from ..models import (
    BODY_MAX,
    TITLE_MAX,
    AudienceKind,
    AudienceMode,
    Importance,
    Notice,
    NoticeEvent,
    NoticeSearch,
    NoticeState,
    TimelineAction,
)

MAX_CHOSEN_UNITS = 500


@dataclass
class NoticeInput:
    """What a publisher fills in. ``audience_units`` are units (looked up by the caller)."""

    title: str = ""
    body: str = ""
    importance: str = Importance.NORMAL
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    receipt_required: bool = False
    audience_mode: str = AudienceMode.UNIT
    audience_units: list[OrgUnit] = field(default_factory=list)
    chosen_with_subtrees: bool = False
    audience_levels: list[int] = field(default_factory=list)
    audience_kinds: list[str] = field(default_factory=list)
    publish_at: datetime | None = None
    cover_note: str = ""

    @classmethod
    def from_notice(cls, notice: Notice, **changes) -> NoticeInput:
        current = cls(
            title=notice.title,
            body=notice.body,
            importance=notice.importance,
            valid_from=notice.valid_from,
            valid_until=notice.valid_until,
            receipt_required=notice.receipt_required,
            audience_mode=notice.audience_mode,
            audience_units=list(notice.chosen_units.order_by("path")),
            chosen_with_subtrees=notice.chosen_with_subtrees,
            audience_levels=list(notice.audience_levels),
            audience_kinds=list(notice.audience_kinds),
            publish_at=notice.publish_at,
            cover_note=notice.cover_note,
        )
        known = {f.name for f in fields(cls)}
        return replace(current, **{name: value for name, value in changes.items() if name in known})


def validate(*, unit: OrgUnit, data: NoticeInput, forwarding: bool = False, now: datetime | None = None) -> None:
    """Every rule on what a notice says and whom it reaches; a ValidationError naming each bad field."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}

    def error(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    data.title = (data.title or "").strip()
    if not data.title:
        error("title", _("Give the notice a title."))
    elif len(data.title) > TITLE_MAX:
        error("title", _("At most %(max)d characters.") % {"max": TITLE_MAX})
    if not forwarding and not (data.body or "").strip():
        error("body", _("Write the notice's text."))
    if len(data.body or "") > BODY_MAX or len(data.cover_note or "") > BODY_MAX:
        error("cover_note" if forwarding else "body", _("At most %(max)d characters.") % {"max": BODY_MAX})
    if data.importance not in Importance.values:
        error("importance", _("Choose 普通, 重要 or 紧急."))
    if data.valid_from and data.valid_until and data.valid_until <= data.valid_from:
        error("valid_until", _("The end of the validity period must come after its start."))
    elif data.valid_until and data.valid_until <= now:
        error("valid_until", _("The end of the validity period has already passed."))
    if data.publish_at and data.publish_at <= now:
        error(
            "publish_at", _("A scheduled publishing time must be in the future; leave it empty to publish on approval.")
        )
    if data.valid_until and data.publish_at and data.valid_until <= data.publish_at:
        error("valid_until", _("The notice would expire before it is published."))

    mode = data.audience_mode
    if mode not in AudienceMode.values:
        error("audience_mode", _("Choose whom the notice is for."))
    if mode == AudienceMode.UNITS:
        if not data.audience_units:
            error("audience_units", _("Choose at least one unit."))
        elif len(data.audience_units) > MAX_CHOSEN_UNITS:
            error(
                "audience_units",
                _("At most %(max)d units; address their common superior instead.") % {"max": MAX_CHOSEN_UNITS},
            )
        for chosen in data.audience_units:
            if not path_in_subtree(chosen.path, unit.path):
                error(
                    "audience_units",
                    _(
                        "%(unit)s is outside the subtree of %(own)s: a notice reaches only your own unit and the "
                        "units below it."
                    )
                    % {"unit": chosen.name, "own": unit.name},
                )
    elif data.audience_units:
        error("audience_units", _("Units are chosen only for the audience 指定单位 (chosen units)."))
    if mode == AudienceMode.LEVELS:
        if not data.audience_levels:
            error("audience_levels", _("Choose at least one level."))
        for level in data.audience_levels:
            if level not in OrgLevel.values:
                error("audience_levels", _("%(level)s is not a level of the tree.") % {"level": level})
            elif unit.level is not None and level < unit.level:
                error(
                    "audience_levels",
                    _("The level %(level)s lies above %(own)s, outside its subtree.")
                    % {"level": OrgLevel(level).label, "own": unit.name},
                )
    elif data.audience_levels:
        error("audience_levels", _("Levels are chosen only for the audience 下级中的指定层级 (chosen levels)."))
    for kind in data.audience_kinds:
        if kind not in AudienceKind.values:
            error("audience_kinds", _("%(kind)s is not a role a notice can be limited to.") % {"kind": kind})
    data.audience_levels = sorted(set(data.audience_levels))
    data.audience_kinds = (
        sorted(set(data.audience_kinds), key=AudienceKind.values.index)
        if not errors.get("audience_kinds")
        else data.audience_kinds
    )
    if errors:
        raise ValidationError(errors)


def publishes_for(user: User, unit: OrgUnit) -> bool:
    scope = scope_of(user)
    return scope.is_superuser or any(held.unit_id == unit.pk for held in scope.held(Role.NOTICE_PUBLISHER))


def _apply(notice: Notice, data: NoticeInput) -> None:
    notice.title = data.title
    notice.body = data.body
    notice.body_html = render_markdown(data.body)
    notice.cover_note = data.cover_note or ""
    notice.cover_note_html = render_markdown(notice.cover_note) if notice.cover_note else ""
    notice.importance = data.importance
    notice.valid_from = data.valid_from
    notice.valid_until = data.valid_until
    notice.receipt_required = data.receipt_required
    notice.audience_mode = data.audience_mode
    notice.chosen_with_subtrees = data.chosen_with_subtrees and data.audience_mode == AudienceMode.UNITS
    notice.audience_levels = list(data.audience_levels)
    notice.audience_kinds = list(data.audience_kinds)
    notice.publish_at = data.publish_at


def _index(notice: Notice) -> None:
    text = search_text_for(notice.title, notice.body, notice.cover_note)
    NoticeSearch.objects.update_or_create(notice=notice, defaults={"text": text})


def record(notice: Notice, action: str, *, actor: User | None, note: str = "") -> NoticeEvent:
    return NoticeEvent.objects.create(notice=notice, actor=actor, action=action, note=(note or "")[:500])


@transaction.atomic
def notice_create(*, user: User, unit: OrgUnit, data: NoticeInput) -> Notice:
    """A draft of ``unit``'s, written by one of its notice publishers."""
    if not publishes_for(user, unit):
        raise ValidationError({"unit": [_("You do not publish notices for %(unit)s.") % {"unit": unit.name}]})
    validate(unit=unit, data=data)
    notice = Notice(unit=unit, unit_path=unit.path, author=user, state=NoticeState.DRAFT)
    _apply(notice, data)
    notice.save()
    notice.chosen_units.set(data.audience_units)
    _index(notice)
    record(notice, TimelineAction.CREATED, actor=user)
    return notice


@transaction.atomic
def notice_update(*, user: User, notice: Notice, data: NoticeInput) -> Notice:
    """Revise a draft or a returned notice (the author only)."""
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    if not selectors.can_edit(user, notice):
        raise ValidationError({"state": [_("Only a draft or a returned notice can be changed, by its author.")]})
    validate(unit=notice.unit, data=data, forwarding=notice.forwarded_from_id is not None)
    if notice.forwarded_from_id:
        # A forward carries the original's text; only the cover note, the audience and the options change.
        data.title, data.body = notice.title, notice.body
    _apply(notice, data)
    notice.save()
    notice.chosen_units.set(data.audience_units)
    _index(notice)
    record(notice, TimelineAction.EDITED, actor=user)
    return notice


@transaction.atomic
def notice_submit(*, user: User, notice: Notice) -> Notice:
    """草稿/已退回 → 待审核: to the publishing unit's notice reviewer."""
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    if not selectors.can_edit(user, notice):
        raise ValidationError({"state": [_("Only a draft or a returned notice can be submitted, by its author.")]})
    # The rules again: time passed since the draft was written (a schedule may now lie in the past).
    validate(unit=notice.unit, data=NoticeInput.from_notice(notice), forwarding=notice.forwarded_from_id is not None)
    notice.state = NoticeState.PENDING_REVIEW
    notice.submitted_at = timezone.now()
    notice.save(update_fields=["state", "submitted_at", "updated_at"])
    record(notice, TimelineAction.SUBMITTED, actor=user)
    notifications.review_requested(notice, actor_id=user.pk)
    return notice


@transaction.atomic
def notice_forward(*, user: User, notice: Notice, unit: OrgUnit, data: NoticeInput) -> Notice:
    """分级发布: ``unit`` (where the user publishes), which received ``notice``, republishes it to its own
    subtree with a cover note. A new draft linked to the original, through ``unit``'s own review."""
    notice = Notice.objects.select_related("unit").get(pk=notice.pk)
    allowed = selectors.can_forward_from(user, notice)
    if unit.pk not in {u.pk for u in allowed}:
        raise ValidationError(
            {
                "unit": [
                    _("%(unit)s cannot forward this notice: it must have received it and you must publish for it.")
                    % {"unit": unit.name}
                ]
            }
        )
    source = notice.content_notice
    data.title, data.body = source.title, source.body
    validate(unit=unit, data=data, forwarding=True)
    forward = Notice(
        unit=unit,
        unit_path=unit.path,
        author=user,
        state=NoticeState.DRAFT,
        forwarded_from=notice,
        origin=source,
    )
    _apply(forward, data)
    forward.body_html = source.body_html
    forward.save()
    forward.chosen_units.set(data.audience_units)
    _index(forward)
    record(
        forward,
        TimelineAction.CREATED,
        actor=user,
        note=_("Forwarded from %(unit)s's notice") % {"unit": notice.unit.name},
    )
    record(notice, TimelineAction.FORWARDED, actor=user, note=unit.name)
    return forward
