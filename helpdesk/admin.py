"""The back office's site: the platform's name instead of Django's, and the tables the platform
writes for itself kept out of it.

Search terms, round-robin turns, day counters and the realtime event log are derived or internal
state: editing a row by hand could only make the platform wrong (a search that misses, a skipped
agent, a replayed event), and their English table names meant nothing to an operator. Whatever
app registers one of them, the site leaves it out.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models.base import ModelBase
from django.utils.translation import gettext_lazy as _

INTERNAL_MODELS = frozenset(
    {
        "accounts.usersearchterm",
        "tickets.ticketsearch",
        "tickets.ticketdaycounter",
        "tickets.poolturn",
        "core.eventcursor",
        "core.storedevent",
        "core.idempotencyrecord",
        "core.tombstone",
        "captcha.captchastore",
    }
)


class PlatformAdminSite(admin.AdminSite):
    site_header = _("Education Technology Service Platform back office")
    site_title = _("Education Technology Service Platform back office")
    index_title = _("Back office home")

    def register(self, model_or_iterable, admin_class=None, **options):
        models = [model_or_iterable] if isinstance(model_or_iterable, ModelBase) else list(model_or_iterable)
        kept = [model for model in models if model._meta.label_lower not in INTERNAL_MODELS]
        if kept:
            super().register(kept, admin_class, **options)
