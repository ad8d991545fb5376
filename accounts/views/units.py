"""The account forms' unit picker: the units an administrator manages, by name, pinyin or code.

The unit field is an ``<input list="managed-units">``; as the administrator types, htmx asks this
view and swaps the returned ``<option>`` elements into the datalist (no inline script, so the strict
Content-Security-Policy holds). Without JavaScript the datalist keeps the first managed units and
the field still takes a code or a unique name.
"""

from __future__ import annotations

from django.shortcuts import render

from .. import selectors
from .accounts import unit_admin_required

PICKER_SIZE = 20


@unit_admin_required
def unit_search(request):
    # hx-get sends the field's own value under its name (unit_code); ?q= for anything else.
    query = (request.GET.get("q") or request.GET.get("unit_code") or "").strip()
    # A picked entry reads "名称（代码）": search by its name again so the list stays meaningful.
    for opening in ("（", "("):
        if opening in query:
            query = query.split(opening, 1)[0].strip()
    units = selectors.managed_unit_search(actor=request.user, query=query, limit=PICKER_SIZE)
    return render(request, "accounts/manage/_unit_options.html", {"units": units})
