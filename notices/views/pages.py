"""Portal pages of notices (公告, manual 2.5): the inbox (收件箱), the sent list (已发送) with headline
read rates, the review queue (审核), 公告查询 on both lists, the notice page with its files, receipt
button, review decisions, withdrawal and 催阅.

Thin: forms collect input, notices.services writes, notices.selectors reads (scoped: a notice outside
one's reach is a 404). A service's refusal becomes a form error or a message, never a 500.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.core.files import attachment_response
from helpdesk.core.forms import apply_errors
from helpdesk.core.search import has_words
from orgtree.models import OrgLevel

from .. import selectors, services
from ..forms import AttachmentForm, ReasonForm, SearchForm
from ..models import AudienceKind, AudienceMode, Notice
from ..selectors.portal import headline_stats

PAGE_SIZE = 20


def nav_context(user) -> dict:
    """What the notices tabs show: the unread badge, the review queue's size, whether one publishes."""
    return {
        "unread": selectors.unread_count(user=user),
        "queue_count": selectors.review_queue(user=user).count(),
        "can_write": bool(selectors.publisher_units(user=user)),
    }


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _search(request: HttpRequest, queryset, *, received: bool):
    """公告查询 on a list: the filtered queryset and the bound form (errors shown, status 400)."""
    form = SearchForm(request.GET or None, received=received)
    if not form.is_bound:
        return queryset, form
    if not form.is_valid():
        return queryset.none(), form
    data = form.cleaned_data
    q = (data.get("q") or "").strip()
    if q and not has_words(q):
        form.add_error("q", _("Search for words: letters, digits or Chinese characters."))
        return queryset.none(), form
    read = {"read": True, "unread": False}.get(data.get("read") or "")
    queryset = selectors.search_filter(
        queryset,
        q=q,
        unit=data.get("unit"),
        published_after=_day_start(data["after"]) if data.get("after") else None,
        published_before=_day_start(data["before"] + timedelta(days=1)) if data.get("before") else None,
        states=[data["state"]] if data.get("state") else None,
        importance=data.get("importance") or "",
        read=read,
        user=request.user,
    )
    return queryset, form


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """收件箱: the notices whose audience covers the user, newest first; unread ones stand out. The
    page's script refreshes the rows when a notice arrives (notice.published on the socket)."""
    user = request.user
    notices, form = _search(request, selectors.inbox(user=user), received=True)
    page = Paginator(selectors.with_receipt(notices, user=user), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "form": form, "tab": "inbox", **nav_context(user)}
    status = 400 if form.errors else 200
    if request.headers.get("HX-Request") and request.GET.get("rows"):
        return render(request, "notices/_inbox_rows.html", context, status=status)
    return render(request, "notices/inbox.html", context, status=status)


@login_required
def sent(request: HttpRequest) -> HttpResponse:
    """已发送: the user's own notices and those of the units it publishes, reviews or administers."""
    user = request.user
    notices, form = _search(request, selectors.sent_notices(user=user), received=False)
    page = Paginator(notices, PAGE_SIZE).get_page(request.GET.get("page"))
    figures = headline_stats(user=user, notices=page.object_list)
    rows = [(notice, figures.get(notice.pk)) for notice in page.object_list]
    context = {"page": page, "rows": rows, "form": form, "tab": "sent", **nav_context(user)}
    return render(request, "notices/sent.html", context, status=400 if form.errors else 200)


@login_required
def review(request: HttpRequest) -> HttpResponse:
    user = request.user
    rows = list(selectors.review_queue(user=user)[:200])
    return render(request, "notices/review.html", {"rows": rows, "tab": "review", **nav_context(user)})


def audience_summary(notice: Notice) -> list[str]:
    """The audience in words, for the author, the reviewer and superiors (never the recipients)."""
    parts = [str(notice.get_audience_mode_display())]
    if notice.audience_mode == AudienceMode.UNITS:
        names = list(notice.chosen_units.order_by("path").values_list("name", flat=True)[:20])
        parts.append("、".join(names) + ("…" if notice.chosen_units.count() > 20 else ""))
        if notice.chosen_with_subtrees:
            parts.append(_("with the units below them"))
    if notice.audience_levels:
        parts.append("、".join(str(OrgLevel(level).label) for level in notice.audience_levels))
    if notice.audience_kinds:
        parts.append("、".join(str(AudienceKind(kind).label) for kind in notice.audience_kinds))
    if notice.receipt_required:
        parts.append(_("Receipt required"))
    return parts


def detail_context(request: HttpRequest, notice: Notice, **extra) -> dict:
    user = request.user
    caps = selectors.capabilities(user=user, notice=notice)
    source = notice.forwarded_from
    if source is not None and not selectors.visible_notices(user=user).filter(pk=source.pk).exists():
        source = None
    return {
        "notice": notice,
        "caps": caps,
        # The side card only when it has something to offer (a recipient's only action is on the page).
        "side_actions": bool(caps & {"edit", "attach", "approve", "stats", "remind", "forward", "withdraw"}),
        "attachments": list(selectors.attachments(notice=notice)),
        "receipt": selectors.receipt_of(user=user, notice=notice),
        "forwarded_from": source,
        "audience": audience_summary(notice) if caps & {"timeline", "approve", "edit"} else [],
        "events": list(selectors.timeline(user=user, notice=notice)) if "timeline" in caps else [],
        "reason_form": extra.pop("reason_form", None) or ReasonForm(),
        "withdraw_form": extra.pop("withdraw_form", None) or ReasonForm(),
        "attachment_form": extra.pop("attachment_form", None) or AttachmentForm(),
        **nav_context(user),
        **extra,
    }


@login_required
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The notice page. Opening it is reading it (the receipt row is written then, once)."""
    notice = selectors.notice_get(user=request.user, pk=pk)
    if selectors.receives(request.user, notice) and selectors.receipt_of(user=request.user, notice=notice) is None:
        services.notice_mark_read(user=request.user, notice=notice)
    return render(request, "notices/detail.html", detail_context(request, notice))


DONE = {
    "submit": _("Submitted for review."),
    "approve": _("Approved."),
    "reject": _("Returned to its author."),
    "withdraw": _("The notice is withdrawn; recipients see it marked withdrawn."),
    "confirm": _("Receipt confirmed."),
    "remind": _("A reminder was sent to those who have not confirmed."),
}


@require_POST
@login_required
def notice_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = request.user
    notice = selectors.notice_get(user=user, pk=pk)
    if action not in DONE:
        raise Http404(_("No such action."))
    form_name = "withdraw_form" if action == "withdraw" else "reason_form"
    form = ReasonForm(request.POST)
    try:
        if action == "submit":
            services.notice_submit(user=user, notice=notice)
        elif action == "confirm":
            services.notice_mark_read(user=user, notice=notice, confirm=True)
        elif action == "remind":
            services.notice_remind(user=user, notice=notice)
        else:
            if not form.is_valid():
                raise ValidationError(form.errors.get("reason") or [])
            reason = form.cleaned_data["reason"]
            if action == "approve":
                services.notice_approve(user=user, notice=notice, note=reason)
            elif action == "reject":
                services.notice_reject(user=user, notice=notice, reason=reason)
            else:
                services.notice_withdraw(user=user, notice=notice, reason=reason)
    except ValidationError as exc:
        apply_errors(form, exc, aliases={"notice": "reason", "state": "reason"})
        if action in ("submit", "confirm", "remind"):
            # No field of their own: the error is shown at the top of the notice page.
            for message in exc.messages:
                messages.error(request, message)
            return redirect("notices:detail", pk=notice.pk)
        notice = selectors.notice_get(user=user, pk=pk)
        return render(request, "notices/detail.html", detail_context(request, notice, **{form_name: form}), status=400)
    messages.success(request, DONE[action])
    if action in ("approve", "reject") and not selectors.visible_notices(user=user).filter(pk=pk).exists():
        return redirect("notices:review")
    return redirect("notices:detail", pk=notice.pk)


@require_POST
@login_required
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    notice = selectors.notice_get(user=request.user, pk=pk)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.attachment_add(user=request.user, notice=notice, upload=form.cleaned_data["file"])
        except ValidationError as exc:
            apply_errors(form, exc, aliases={"upload": "file", "notice": "file"})
        else:
            messages.success(request, _("The file is attached."))
            return redirect("notices:detail", pk=notice.pk)
    context = detail_context(request, notice, attachment_form=form)
    return render(request, "notices/detail.html", context, status=400)


@require_POST
@login_required
def attachment_delete(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    attachment = selectors.attachment_get(user=request.user, notice_id=pk, pk=attachment_id)
    try:
        services.attachment_delete(user=request.user, attachment=attachment)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The file is removed."))
    return redirect("notices:detail", pk=pk)


@login_required
def attachment_download(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    attachment = selectors.attachment_get(user=request.user, notice_id=pk, pk=attachment_id)
    return attachment_response(attachment)
