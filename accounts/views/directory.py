"""The org directory (manual 2.3.3–2.3.4: 组织机构 → 本单位 / 单位组织) and contact search.

Every list is bounded: children and members come a page at a time, keyed on the tree path or the
user id so the database walks an index; nothing loads a whole subtree.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse

from orgtree import selectors

from .. import selectors as account_selectors

CHILDREN_PAGE = 100
MEMBERS_PAGE = 30
MY_UNIT_PAGE = 20
SEARCH_TERMS = 50


def _children_page(unit, after: str = ""):
    children = selectors.unit_children(unit=unit)
    if after:
        children = children.filter(path__gt=after[:255])
    rows = list(children.order_by("path")[: CHILDREN_PAGE + 1])
    return rows[:CHILDREN_PAGE], len(rows) > CHILDREN_PAGE


def _members_page(viewer, unit, after: str = ""):
    members = account_selectors.unit_members(unit=unit)
    if after.isdigit():
        members = members.filter(pk__gt=int(after))
    rows = list(members[: MEMBERS_PAGE + 1])
    return account_selectors.directory_details(viewer=viewer, people=rows[:MEMBERS_PAGE]), len(rows) > MEMBERS_PAGE


def _search(viewer, query: str) -> dict:
    """The first matches in term order, one row per user (a user can match on several terms)."""
    terms = list(account_selectors.directory_search(query=query)[:SEARCH_TERMS])
    users, seen = [], set()
    for term in terms:
        if term.user_id not in seen:
            seen.add(term.user_id)
            users.append(term.user)
    users = account_selectors.directory_details(viewer=viewer, people=users)
    return {"search_results": users, "search_truncated": len(terms) == SEARCH_TERMS}


@login_required
def directory(request):
    tab = request.GET.get("tab") if request.GET.get("tab") in ("mine", "tree") else "mine"
    query = (request.GET.get("q") or "").strip()
    context = {"tab": tab, "query": query}
    if query:
        context.update(_search(request.user, query))
    my_unit = request.user.unit
    if tab == "mine" and my_unit is not None:
        paginator = Paginator(account_selectors.unit_members(unit=my_unit), MY_UNIT_PAGE)
        page = paginator.get_page(request.GET.get("page"))
        page.object_list = account_selectors.directory_details(viewer=request.user, people=list(page.object_list))
        context["page"] = page
        context["my_unit_chain"] = selectors.unit_ancestors(unit=my_unit)
    if tab == "tree":
        context["roots"] = selectors.unit_roots()
        unit_id = request.GET.get("unit", "")
        if unit_id.isdigit():
            # Without JavaScript a unit's name links here; the same panel htmx would load.
            unit = selectors.unit_get(unit_id=int(unit_id))
            members, has_more = _members_page(request.user, unit)
            context.update(
                panel_unit=unit, members=members, has_more=has_more, panel_chain=selectors.unit_ancestors(unit=unit)
            )
    return render(request, "accounts/directory/directory.html", context)


@login_required
def unit_children(request, pk: int):
    unit = selectors.unit_get(unit_id=pk)
    children, has_more = _children_page(unit, request.GET.get("after", ""))
    return render(
        request,
        "accounts/directory/_children.html",
        {
            "unit": unit,
            "children": children,
            "has_more": has_more,
        },
    )


@login_required
def unit_members(request, pk: int):
    if not request.htmx:
        return redirect(reverse("directory:directory") + "?" + urlencode({"tab": "tree", "unit": pk}))
    unit = selectors.unit_get(unit_id=pk)
    after = request.GET.get("after", "")
    members, has_more = _members_page(request.user, unit, after)
    template = "accounts/directory/_member_rows.html" if after else "accounts/directory/_members_panel.html"
    return render(
        request,
        template,
        {
            "panel_unit": unit,
            "members": members,
            "has_more": has_more,
            "panel_chain": selectors.unit_ancestors(unit=unit),
        },
    )


@login_required
def search(request):
    query = (request.GET.get("q") or "").strip()
    if not request.htmx:
        return redirect(reverse("directory:directory") + "?" + urlencode({"q": query}))
    results = _search(request.user, query) if query else {}
    return render(request, "accounts/directory/_search_results.html", {"query": query, **results})
