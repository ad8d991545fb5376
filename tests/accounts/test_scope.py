"""The scope object: one query per user, and the same answers as the tree."""

from __future__ import annotations

import pytest

from accounts.models import HandlingGroup, Role
from accounts.scope import scope_forget, scope_of, strictly_below_q, subtrees_q
from orgtree.models import OrgUnit
from tests.factories import UserFactory, grant

pytestmark = pytest.mark.django_db


def test_a_scope_is_read_in_one_query_and_kept_for_the_request(tree, django_assert_num_queries):
    user = UserFactory(unit=tree.haidian)
    grant(user, tree.haidian)
    agent = grant(user, tree.school_a, Role.SUPPORT_AGENT)
    agent.handling_groups.set(HandlingGroup.objects.filter(code__in=["hardware", "software"]))
    grant(user, tree.tianjin, Role.ANSWER_REVIEWER)
    with django_assert_num_queries(1):
        scope = scope_of(user)
        assert scope_of(user) is scope
    held = {h.role: h for h in scope.roles}
    assert held[Role.SUPPORT_AGENT].handling_groups == frozenset({"hardware", "software"})
    assert held[Role.UNIT_ADMIN].unit_path == tree.haidian.path


def test_paths_drop_subtrees_inside_others_and_answer_coverage(tree):
    user = UserFactory(unit=tree.haidian)
    grant(user, tree.haidian)
    grant(user, tree.school_a)
    grant(user, tree.heping, Role.SUPPORT_AGENT)
    scope = scope_of(user)
    assert scope.admin_paths == (tree.haidian.path,)
    assert scope.paths() == tuple(sorted([tree.haidian.path, tree.heping.path]))
    assert scope.manages_unit(tree.school_b) and not scope.manages_unit(tree.beijing)
    assert scope.covers(tree.school_tj.path, Role.SUPPORT_AGENT)
    assert not scope.covers(tree.school_tj.path, Role.UNIT_ADMIN)
    assert scope.administers_strictly_above(tree.school_a)
    assert not scope.administers_strictly_above(tree.haidian)


def test_the_database_filters_match_the_tree(tree):
    tops = [tree.haidian.path]
    inside = set(OrgUnit.objects.filter(subtrees_q(tops, "path")).values_list("pk", flat=True))
    assert inside == {tree.haidian.pk, tree.school_a.pk, tree.school_b.pk}
    below = set(OrgUnit.objects.filter(strictly_below_q(tops, "path")).values_list("pk", flat=True))
    assert below == {tree.school_a.pk, tree.school_b.pk}
    assert not OrgUnit.objects.filter(subtrees_q([], "path")).exists()


def test_an_anonymous_or_plain_user_reaches_nothing_and_a_superuser_everything(tree):
    from django.contrib.auth.models import AnonymousUser

    assert not scope_of(AnonymousUser()).holds()
    plain = scope_of(UserFactory(unit=tree.school_a))
    assert not plain.is_unit_admin and not plain.manages_unit(tree.school_a)
    operator = scope_of(UserFactory(is_superuser=True, is_staff=True))
    assert operator.is_unit_admin and operator.manages_unit(tree.school_tj)


def test_forgetting_rereads_after_a_role_change(tree):
    user = UserFactory(unit=tree.haidian)
    assert not scope_of(user).is_unit_admin
    grant(user, tree.haidian)
    assert not scope_of(user).is_unit_admin  # kept for the request
    scope_forget(user)
    assert scope_of(user).is_unit_admin


def test_the_token_check_reads_the_roles_with_the_user(tree, django_assert_num_queries):
    """A token request's scope comes from the token check's one statement (no query of its own),
    and is the same scope a query would read: roles in tree order, duty and handling groups."""
    from accounts.authentication import check_token
    from accounts.scope import _read_roles
    from tests.factories import api_token

    user = UserFactory(unit=tree.haidian)
    agent = grant(user, tree.haidian, Role.SUPPORT_AGENT)
    agent.on_duty = False
    agent.save(update_fields=["on_duty"])
    agent.handling_groups.set(HandlingGroup.objects.all()[:2])
    grant(user, tree.beijing, Role.UNIT_ADMIN)
    key = api_token(user)
    device, refused = check_token(key)
    assert refused == ""
    with django_assert_num_queries(0):
        scope = scope_of(device.user)
    assert scope.roles == _read_roles(user)
    assert [held.unit_id for held in scope.roles] == [tree.beijing.pk, tree.haidian.pk]
    assert [held.on_duty for held in scope.roles] == [True, False]
    assert len(scope.roles[1].handling_groups) == 2
