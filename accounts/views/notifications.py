"""The notification centre in the portal (the bell's page): the list newest first, mark read one by one
or all, open a notification (marks it read, then goes to what it is about), and the channels chosen
per kind. Only one's own notifications: another's id is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import selectors, services
from ..forms import NotificationPreferencesForm, apply_errors

PAGE_SIZE = 20


def _own(request, pk: int):
    notification = selectors.notifications_of(user=request.user).filter(pk=pk).first()
    if notification is None:
        raise Http404
    return notification


def _preferences_form(request, data=None) -> NotificationPreferencesForm:
    rows = selectors.notification_preferences_of(user=request.user)
    kinds = [(row["kind"], row["label"]) for row in rows]
    initial = {
        "email": [row["kind"] for row in rows if row["email"]],
        "push": [row["kind"] for row in rows if row["push"]],
    }
    return NotificationPreferencesForm(data, kinds=kinds, initial=initial)


def _page_url(request, default: str = "accounts:notifications"):
    """Back to the page of the list the form was on (``next``), else the list's first page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


@login_required
def notifications(request):
    """通知中心: one's notifications, newest first, 20 a page, and the preferences below them."""
    form = _preferences_form(request)
    if request.method == "POST":
        form = _preferences_form(request, request.POST)
        if form.is_valid():
            try:
                services.notification_preferences_set(user=request.user, choices=form.choices())
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Your notification settings have been saved."))
                return redirect("accounts:notifications")
    page = Paginator(selectors.notifications_of(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    labels = dict(form.kinds)
    for notification in page.object_list:
        notification.kind_label = labels.get(notification.kind, "")
    context = {
        "page": page,
        "unread": selectors.notification_unread_count(user=request.user),
        "form": form,
        "kinds": form.kinds,
        "chosen_email": set(form["email"].value() or []),
        "chosen_push": set(form["push"].value() or []),
    }
    return render(request, "accounts/notifications.html", context, status=400 if form.errors else 200)


@login_required
def notification_open(request, pk: int):
    """The link of a notification: marks it read and goes to the ticket (notice, conversation) it is about."""
    notification = _own(request, pk)
    if notification.read_at is None:
        services.notifications_mark_read(user=request.user, ids=[notification.pk])
    # The url is written by the platform (a reverse() of a portal page); a relative path only, so
    # nothing stored can send a user to another site.
    url = notification.url
    if not url or not url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        return redirect("accounts:notifications")
    return redirect(url)


@login_required
@require_POST
def notification_mark_read(request, pk: int):
    notification = _own(request, pk)
    if notification.read_at is None:
        services.notifications_mark_read(user=request.user, ids=[notification.pk])
    return _page_url(request)


@login_required
@require_POST
def notifications_mark_all_read(request):
    marked = services.notifications_mark_read(user=request.user)
    if marked:
        messages.success(request, _("All notifications are marked read."))
    return _page_url(request)
