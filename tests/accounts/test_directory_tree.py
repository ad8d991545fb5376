"""单位组织 opens at the user's own unit: its ancestors expanded and its members in the panel,
rendered by the server (no script needed for the first view)."""

from __future__ import annotations

import re

from django.urls import reverse

from accounts.views import directory as directory_views
from tests.factories import UserFactory

TREE = reverse("directory:directory") + "?tab=tree"


def _branch(page: str, unit) -> str:
    """The opening tag of the unit's branch list, or "" when it has none."""
    found = re.search(rf'<ul id="children-{unit.pk}"[^>]*>', page)
    return found.group(0) if found else ""


def test_the_tree_opens_down_to_ones_own_unit(client, tree, teacher):
    colleague = UserFactory(username="colleague", name="李娜", unit=tree.school_a)
    client.force_login(teacher)
    page = client.get(TREE).content.decode()
    for ancestor in (tree.root, tree.beijing, tree.haidian):
        assert _branch(page, ancestor) == f'<ul id="children-{ancestor.pk}">', ancestor.name
    # The siblings on the way down are listed but stay closed.
    assert "hidden" in _branch(page, tree.tianjin)
    assert tree.school_b.name in page
    # One's own unit is selected and its members are in the panel.
    assert re.search(rf'class="tree-name is-selected" href="\?tab=tree&amp;unit={tree.school_a.pk}"', page)
    panel = page.split('id="member-panel"')[1]
    assert "李娜" in panel and colleague.username in panel
    assert 'aria-expanded="true"' in page


def test_a_chosen_unit_opens_instead(client, tree, teacher):
    client.force_login(teacher)
    page = client.get(f"{TREE}&unit={tree.tianjin.pk}").content.decode()
    assert _branch(page, tree.root) == f'<ul id="children-{tree.root.pk}">'
    assert "hidden" in _branch(page, tree.beijing)


def test_without_a_unit_the_tree_starts_at_the_roots(client, tree):
    loner = UserFactory(username="loner", unit=None)
    client.force_login(loner)
    page = client.get(TREE).content.decode()
    assert "hidden" in _branch(page, tree.root)
    assert "选择一个单位" in page or 'class="panel-empty"' in page


def test_the_own_unit_beyond_the_first_page_is_still_shown(client, tree, teacher, monkeypatch):
    # One child per page: school A (first by path) fills it, school B (this teacher's) comes after.
    monkeypatch.setattr(directory_views, "CHILDREN_PAGE", 1)
    other = UserFactory(username="b_teacher", unit=tree.school_b)
    client.force_login(other)
    page = client.get(TREE).content.decode()
    branch = page.split(_branch(page, tree.haidian))[1]
    assert tree.school_a.name in branch and tree.school_b.name in branch
    # "More units" continues after the page's own last unit, not after the appended one.
    assert f"/org/units/{tree.haidian.pk}/children/?after={tree.school_a.path}" in branch
