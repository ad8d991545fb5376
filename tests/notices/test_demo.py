import pytest

from accounts.models import Role
from notices import selectors
from notices.demo import seed_demo_notices
from notices.models import Notice
from tests.factories import UserFactory, grant

pytestmark = pytest.mark.django_db


def test_demo_notices_are_published_once_and_reach_the_teachers(tree):
    publisher = UserFactory(username="hd_publisher", unit=tree.haidian, user_type="staff")
    grant(publisher, tree.haidian, Role.NOTICE_PUBLISHER)
    reviewer = UserFactory(username="hd_notice_reviewer", unit=tree.haidian, user_type="staff")
    grant(reviewer, tree.haidian, Role.NOTICE_REVIEWER)
    teacher = UserFactory(username="teacher_zhang", unit=tree.school_a)
    student = UserFactory(username="student_li", unit=tree.school_a, user_type="student")
    assert seed_demo_notices() == 2
    assert seed_demo_notices() == 0
    assert Notice.objects.filter(state="published").count() == 2
    assert selectors.unread_count(user=teacher) == 2
    assert selectors.unread_count(user=student) == 1  # the teachers' notice is not theirs
