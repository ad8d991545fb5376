import pytest

from accounts.models import Role
from tests.factories import UserFactory, grant


class NoticePeople:
    """北京市's and 海淀区's publishers and reviewers, a 天津 reviewer, and readers at each level."""

    def __init__(self, tree) -> None:
        def staff(username, name, unit, *roles):
            user = UserFactory(username=username, name=name, unit=unit, user_type="staff")
            for role in roles:
                grant(user, unit, role)
            return user

        self.bj_publisher = staff("n_bj_pub", "北京发布员", tree.beijing, Role.NOTICE_PUBLISHER)
        self.bj_reviewer = staff("n_bj_rev", "北京审核员", tree.beijing, Role.NOTICE_REVIEWER)
        self.hd_publisher = staff("n_hd_pub", "海淀发布员", tree.haidian, Role.NOTICE_PUBLISHER)
        self.hd_reviewer = staff("n_hd_rev", "海淀审核员", tree.haidian, Role.NOTICE_REVIEWER)
        self.hd_admin = staff("n_hd_admin", "海淀管理员", tree.haidian, Role.UNIT_ADMIN)
        self.tj_reviewer = staff("n_tj_rev", "天津审核员", tree.tianjin, Role.NOTICE_REVIEWER)
        self.teacher_a = UserFactory(username="n_teacher_a", name="张老师", unit=tree.school_a)
        self.student_a = UserFactory(username="n_student_a", name="李明", unit=tree.school_a, user_type="student")
        self.teacher_b = UserFactory(username="n_teacher_b", name="王老师", unit=tree.school_b)
        self.tj_teacher = UserFactory(username="n_tj_teacher", name="赵老师", unit=tree.school_tj)


@pytest.fixture
def people(tree) -> NoticePeople:
    return NoticePeople(tree)


@pytest.fixture
def write(people, tree):
    """A draft of 北京市's through the service (its whole subtree by default)."""
    from notices import services

    def _write(user=None, unit=None, **fields):
        data = {
            "title": "关于做好寒假期间校园网络安全工作的通知",
            "body": "各单位：\n\n请于**12月20日前**完成网络安全自查。",
            "audience_mode": "subtree",
        } | fields
        return services.notice_create(
            user=user or people.bj_publisher, unit=unit or tree.beijing, data=services.NoticeInput(**data)
        )

    return _write


@pytest.fixture
def publish(write, people):
    """Written, submitted and approved: published (or scheduled, with publish_at)."""
    from notices import services

    def _publish(user=None, unit=None, reviewer=None, **fields):
        notice = write(user=user, unit=unit, **fields)
        notice = services.notice_submit(user=user or people.bj_publisher, notice=notice)
        return services.notice_approve(user=reviewer or people.bj_reviewer, notice=notice)

    return _publish
