"""写公告: the editor (new notice, revision of a draft or a returned one, forwarding down the tree with
a cover note) and its Markdown preview. Saving keeps a draft; "save and submit" sends it to the
publishing unit's notice reviewer. The subtree bound and every other rule are the services'; their
messages land on the fields here."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.core.forms import apply_errors
from helpdesk.core.markdown import render_markdown
from orgtree.models import OrgUnit

from .. import selectors, services
from ..forms import ALIASES, NoticeForm
from .pages import nav_context


def _save(request: HttpRequest, form: NoticeForm, *, notice=None, source=None):
    """Create, revise or forward from a valid form; attach its file; submit when asked. Returns the
    notice, or None with the service's errors on the form (everything rolled back)."""
    user = request.user
    data = form.notice_input()
    try:
        with transaction.atomic():
            if source is not None:
                unit = OrgUnit.objects.get(pk=form.cleaned_data["unit"])
                notice = services.notice_forward(user=user, notice=source, unit=unit, data=data)
            elif notice is None:
                unit = OrgUnit.objects.get(pk=form.cleaned_data["unit"])
                notice = services.notice_create(user=user, unit=unit, data=data)
            else:
                notice = services.notice_update(user=user, notice=notice, data=data)
            upload = form.cleaned_data.get("attachment")
            if upload:
                services.attachment_add(user=user, notice=notice, upload=upload)
            if "submit" in request.POST:
                notice = services.notice_submit(user=user, notice=notice)
    except ValidationError as exc:
        apply_errors(form, exc, aliases={**ALIASES, "upload": "attachment", "file": "attachment"})
        return None
    return notice


def _editor(request: HttpRequest, *, units, notice=None, source=None, status=200, form=None) -> HttpResponse:
    context = {"form": form, "notice": notice, "source": source, "tab": "write", **nav_context(request.user)}
    return render(request, "notices/edit.html", context, status=status)


@login_required
def notice_create(request: HttpRequest) -> HttpResponse:
    units = selectors.publisher_units(user=request.user)
    if not units:
        raise Http404(_("You do not publish notices."))
    if request.method == "POST":
        form = NoticeForm(request.POST, request.FILES, units=units)
        if form.is_valid():
            notice = _save(request, form)
            if notice is not None:
                messages.success(request, _("Submitted for review.") if "submit" in request.POST else _("Draft saved."))
                return redirect("notices:detail", pk=notice.pk)
        return _editor(request, units=units, form=form, status=400)
    return _editor(request, units=units, form=NoticeForm(units=units))


@login_required
def notice_edit(request: HttpRequest, pk: int) -> HttpResponse:
    notice = selectors.notice_get(user=request.user, pk=pk)
    if not selectors.can_edit(request.user, notice):
        raise Http404(_("This notice can no longer be changed."))
    units = [notice.unit]
    if request.method == "POST":
        form = NoticeForm(request.POST, request.FILES, units=units, notice=notice)
        if form.is_valid():
            saved = _save(request, form, notice=notice)
            if saved is not None:
                messages.success(request, _("Submitted for review.") if "submit" in request.POST else _("Draft saved."))
                return redirect("notices:detail", pk=saved.pk)
        return _editor(request, units=units, notice=notice, form=form, status=400)
    form = NoticeForm(initial=NoticeForm.initial_for(notice), units=units, notice=notice)
    return _editor(request, units=units, notice=notice, form=form)


@login_required
def notice_forward(request: HttpRequest, pk: int) -> HttpResponse:
    """转发: a unit that received the notice republishes it to its own subtree with a cover note."""
    source = selectors.notice_get(user=request.user, pk=pk)
    units = selectors.can_forward_from(request.user, source)
    if not units:
        raise Http404(_("You cannot forward this notice."))
    if request.method == "POST":
        form = NoticeForm(request.POST, request.FILES, units=units, forwarding=source.content_notice)
        if form.is_valid():
            forward = _save(request, form, source=source)
            if forward is not None:
                messages.success(request, _("Submitted for review.") if "submit" in request.POST else _("Draft saved."))
                return redirect("notices:detail", pk=forward.pk)
        return _editor(request, units=units, source=source, form=form, status=400)
    form = NoticeForm(units=units, forwarding=source.content_notice)
    return _editor(request, units=units, source=source, form=form)


@require_POST
@login_required
def notice_preview(request: HttpRequest) -> HttpResponse:
    """The text as recipients will see it (rendered and sanitised like on save); htmx swaps it in."""
    title = (request.POST.get("title") or "")[:200]
    body = (request.POST.get("body") or "")[:20000]
    cover = (request.POST.get("cover_note") or "")[:20000]
    return render(
        request,
        "notices/_preview.html",
        {"title": title, "body_html": render_markdown(body), "cover_html": render_markdown(cover) if cover else ""},
    )
