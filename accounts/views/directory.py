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
        unit_id = request.GET.get("unit", "")
        # The chosen unit (without JavaScript a unit's name links here), else one's own: its members
        # in the panel and its ancestors opened in the tree, so nobody starts at a closed ministry.
        unit = selectors.unit_get(unit_id=int(unit_id)) if unit_id.isdigit() else my_unit
        if unit is None:
            context["roots"] = selectors.unit_roots()
        else:
            chain = selectors.unit_ancestors(unit=unit)
            members, has_more = _members_page(request.user, unit)
            context.update(
                roots=_tree_open_to(chain), panel_unit=unit, members=members, has_more=has_more, panel_chain=chain
            )
    return render(request, "accounts/directory/directory.html", context)


def _tree_open_to(chain: list) -> list:
    """The roots with every unit above ``chain[-1]`` opened, rendered by the server.

    Each opened unit gets its first page of children (``open_children``, ``open_has_more``) like the
    branch htmx would fetch; when the next unit of the chain lies beyond that page it is added at the
    end, and "more" continues after the page's own last unit (``open_more_after``), so that nothing
    is skipped (the chain's unit then shows twice once the rest is loaded, which is harmless).
    """
    roots = list(selectors.unit_roots())
    level = roots
    for depth, ancestor in enumerate(chain[:-1]):
        node = next((unit for unit in level if unit.pk == ancestor.pk), None)
        if node is None:
            level.append(ancestor)
            node = ancestor
        children, has_more = _children_page(node)
        following = chain[depth + 1]
        node.open_more_after = children[-1].path if children else ""
        if not any(child.pk == following.pk for child in children):
            children.append(following)
        node.open_children, node.open_has_more = children, has_more
        level = children
    return roots


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
