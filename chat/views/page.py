"""The portal's chat page: one page, driven by static/js/chat.js over the chat REST API and the
socket (``chat.send`` with a client id, acks, resumable events). The page carries only what the
script needs to start: who is signing in, their unit and the font size."""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from .. import selectors
from ..models import FONT_SIZE_MAX, FONT_SIZE_MIN
from .social_labels import social_labels


def _labels() -> dict[str, str]:
    """The words chat.js shows, translated here (the script has no catalogue of its own)."""
    return {
        "online": _("Online"),
        "offline": _("Offline"),
        "read": _("Read"),
        "unread": _("Unread"),
        "sending": _("Sending…"),
        "failed": _("Not sent, click to retry"),
        "recalled_self": _("You recalled a message"),
        "recalled_other": _("%(name)s recalled a message"),
        "recall": _("Recall"),
        "delete": _("Delete"),
        "copy": _("Copy"),
        "typing": _("%(name)s is typing…"),
        "image": _("[Picture]"),
        "file": _("[File]"),
        "yesterday": _("Yesterday"),
        "older": _("Scroll up for earlier messages"),
        "loading": _("Loading…"),
        "no_more": _("No earlier messages"),
        "no_results": _("Nothing found"),
        "no_people": _("Nobody found"),
        "load_more": _("More"),
        "all_units": _("All units"),
        "no_unit": _("You do not belong to a unit."),
        "you": _("(you)"),
        "block": _("Refuse this person's messages"),
        "unblock": _("Accept this person's messages again"),
        "blocked_note": _("You refuse this person's messages; they cannot send you any."),
        "block_confirm": _("Refuse all messages from %(name)s?"),
        "send_image": _("Send this picture?"),
        "send_screenshot": _("Send this screenshot?"),
        "capture_failed": _("The screen could not be captured."),
        "upload_failed": _("The upload failed."),
        "too_long": _("A message has at most 5,000 characters."),
        "members": _("People"),
        "units": _("Units"),
        "start_failed": _("The conversation could not be started."),
        "new_below": _("New messages below"),
    }


# blob: images are the previews of pictures being sent (a pasted or captured screenshot) before
# the server has stored them; nothing else on the page loads from blob: URLs.
@csp_update({"img-src": ["blob:"]})
@login_required
def chat_index(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "font_size": selectors.font_size_of(user=user),
        "font_sizes": list(range(FONT_SIZE_MIN, FONT_SIZE_MAX + 1, 2)),
        "labels": {**_labels(), **social_labels()},
    }
    return render(request, "chat/index.html", context)
