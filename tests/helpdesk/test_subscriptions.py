"""helpdesk.core.subscriptions: the socket groups apps add, and the filter of frames sent to them."""

import pytest

from helpdesk.core import subscriptions


@pytest.fixture
def probe():
    def groups(user):
        return subscriptions.Membership(groups=("probe.a", "probe.b"), context={"level": user})

    def accepts(context, payload):
        if payload.get("boom"):
            raise RuntimeError("a filter's bug")
        return payload.get("level") == context["level"]

    subscriptions.register("probe", groups=groups, accepts=accepts)
    subscriptions.register("probe_all", groups=lambda user: subscriptions.Membership(groups=("probe.a",)))
    yield
    for name in ("probe", "probe_all"):
        subscriptions._SUBSCRIBERS.pop(name, None)  # the test's own registrations


def test_memberships_join_each_group_once_and_filter_by_context(probe):
    # (memberships(user) asks every registered subscriber; here only the test's own, for user "3".)
    found = {name: subscriptions.get(name).groups(3) for name in ("probe", "probe_all")}
    assert list(subscriptions.all_groups(found)) == ["probe.a", "probe.b"]
    assert subscriptions.accepted("probe", found, {"level": 3})
    assert not subscriptions.accepted("probe", found, {"level": 4})
    # No filter: every frame of the subscriber's groups is for the socket.
    assert subscriptions.accepted("probe_all", found, {})
    # An unknown subscriber, or a filter that fails, delivers nothing (and closes nothing).
    assert not subscriptions.accepted("nobody", found, {"level": 3})
    assert not subscriptions.accepted("probe", found, {"boom": True})
