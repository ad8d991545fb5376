import pytest

from accounts.models import HandlingGroup, Role
from tests.factories import UserFactory, grant

GROUPS = {
    "hardware": "硬件 / 设备故障",
    "software": "软件 / 软件异常",
    "training": "培训 / 操作咨询",
    "complaints": "投诉建议",
}


class KBPeople:
    """海淀区's writers and reviewer, a 天津 agent, a ministry author, and readers at each level."""

    def __init__(self, tree) -> None:
        for code, name in GROUPS.items():
            HandlingGroup.objects.get_or_create(code=code, defaults={"name": name})

        def staff(username, name, unit, role):
            user = UserFactory(username=username, name=name, unit=unit, user_type="staff")
            assignment = grant(user, unit, role)
            if role == Role.SUPPORT_AGENT:
                assignment.handling_groups.set(HandlingGroup.objects.all())
            return user

        self.author = staff("kb_agent", "刘洋", tree.haidian, Role.SUPPORT_AGENT)
        self.agent2 = staff("kb_agent2", "陈静", tree.haidian, Role.SUPPORT_AGENT)
        self.reviewer = staff("kb_reviewer", "审核员", tree.haidian, Role.ANSWER_REVIEWER)
        self.city_admin = staff("kb_bj_admin", "北京管理员", tree.beijing, Role.UNIT_ADMIN)
        self.tianjin_agent = staff("kb_tj_agent", "天津坐席", tree.heping, Role.SUPPORT_AGENT)
        self.tianjin_reviewer = staff("kb_tj_reviewer", "天津审核", tree.heping, Role.ANSWER_REVIEWER)
        self.ministry_author = staff("kb_moe", "部级坐席", tree.root, Role.SUPPORT_AGENT)
        self.ministry_reviewer = staff("kb_moe_rev", "部级审核", tree.root, Role.ANSWER_REVIEWER)
        self.teacher = UserFactory(username="kb_teacher", name="张老师", unit=tree.school_a)
        self.teacher_b = UserFactory(username="kb_teacher_b", name="王老师", unit=tree.school_b)
        self.tianjin_teacher = UserFactory(username="kb_tj_teacher", name="李老师", unit=tree.school_tj)


@pytest.fixture
def people(tree) -> KBPeople:
    return KBPeople(tree)


@pytest.fixture
def write(people, tree):
    """A draft through the service (海淀区's agent, scoped to 海淀区 by default)."""
    from knowledge import services

    def _write(user=None, owner=None, **fields):
        data = {
            "title": "多媒体教室投影机显示无信号的排查",
            "problem": "投影机开机后画面提示**无信号**。",
            "steps": "1. 检查 HDMI 线\n2. 切换信号源",
            "solution": "按遥控器的 Source 键切换到 HDMI1。",
            "scope_unit": tree.haidian,
        } | fields
        return services.article_create(
            user=user or people.author, owner=owner or tree.haidian, data=services.ArticleInput(**data)
        )

    return _write


@pytest.fixture
def publish(people, write):
    """A published article: written, submitted and approved by 海淀区's reviewer."""
    from knowledge import services

    def _publish(reviewer=None, **fields):
        article = write(**fields)
        services.article_submit(user=article.author, article=article)
        return services.article_approve(user=reviewer or people.reviewer, article=article)

    return _publish


@pytest.fixture
def resolved_ticket(people, tree):
    """A 海淀 teacher's question answered by 海淀区's agent, approved and confirmed (已解决)."""
    from tickets import services as ticket_services

    def _resolved(title="网络打印机无法连接", description="办公室的网络打印机突然连不上，电脑显示脱机。"):
        ticket = ticket_services.ticket_create(
            asker=people.teacher,
            title=title,
            description=description,
            type="hardware",
            priority="P3",
            contact_info="13800000000",
        )
        ticket.refresh_from_db()
        # Round robin picks one of 海淀区's two agents.
        agent = ticket.assignee
        ticket = ticket_services.ticket_accept(ticket=ticket, agent=agent)
        ticket = ticket_services.ticket_submit_answer(
            ticket=ticket, agent=agent, solution="重新设置打印机的固定 IP 地址，并在电脑上重新添加打印机。"
        )
        ticket = ticket_services.ticket_approve(ticket=ticket, reviewer=people.reviewer)
        return ticket_services.ticket_confirm(ticket=ticket, asker=people.teacher)

    return _resolved
