"""What notices put in people's notification centre (the bell): a submitted notice for the publishing
unit's notice reviewers, and the decision for its author. Written in the service's transaction, never
for the person whose own action it reports. Recipients of a published notice are not notified one by
one (the audience may be the country): they see it in the inbox and live on the socket."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role, RoleAssignment
from accounts.notifications import NotificationKind, register_kinds
from accounts.services import Draft, notify

from .models import Notice

REVIEW_REQUESTED = "notice.review_requested"
REVIEWED = "notice.reviewed"

register_kinds(
    NotificationKind(REVIEW_REQUESTED, gettext_lazy("A notice waits for my review")),
    NotificationKind(REVIEWED, gettext_lazy("My notice was reviewed")),
)


def notice_url(notice: Notice) -> str:
    # The portal's page, once the portal pages exist; the API's address until then.
    try:
        return reverse("notices:detail", args=[notice.pk])
    except NoReverseMatch:
        return f"/api/v1/notices/{notice.pk}/"


def _draft(kind: str, notice: Notice, user_ids, title: str, body: str = "") -> Draft:
    return Draft(
        user_ids=list(user_ids),
        kind=kind,
        title=title[:200],
        body=body[:500],
        url=notice_url(notice),
        subject_type="notice",
        subject_id=notice.pk,
    )


def review_requested(notice: Notice, *, actor_id: int) -> None:
    reviewers = set(
        RoleAssignment.objects.filter(unit_id=notice.unit_id, role=Role.NOTICE_REVIEWER).values_list(
            "user_id", flat=True
        )
    )
    reviewers -= {actor_id, notice.author_id}
    title = _("Please review the notice: %(title)s") % {"title": notice.title}
    notify([_draft(REVIEW_REQUESTED, notice, reviewers, title)])


def reviewed(notice: Notice, *, actor_id: int | None, approved: bool, reason: str = "") -> None:
    if notice.author_id == actor_id:
        return
    if approved:
        title = _("Your notice was approved: %(title)s") % {"title": notice.title}
    else:
        title = _("Your notice was returned: %(title)s") % {"title": notice.title}
    notify([_draft(REVIEWED, notice, [notice.author_id], title, reason)])
