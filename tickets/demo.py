"""Demo tickets for seed_demo: a few questions of the demo teacher in different states, made
through the services so the timeline, routing and clocks are real."""

from __future__ import annotations

from accounts.models import User

from . import services
from .models import Ticket


def seed_demo_tickets() -> int:
    """Idempotent: does nothing once the demo teacher has asked anything. Returns tickets created."""
    teacher = User.objects.filter(username="teacher_zhang").first()
    agent = User.objects.filter(username="hd_agent").first()
    reviewer = User.objects.filter(username="hd_reviewer").first()
    if teacher is None or agent is None or reviewer is None or Ticket.objects.filter(asker=teacher).exists():
        return 0
    created = 0

    def ask(title: str, description: str, type: str, priority: str) -> Ticket:
        nonlocal created
        created += 1
        return services.ticket_create(
            asker=teacher,
            title=title,
            description=description,
            type=type,
            priority=priority,
            contact_info="13800000000",
        )

    ask("电子白板触控失灵", "三年级二班的电子白板右半边触控没有反应，重启后依旧。", "hardware", "P2")
    answered = ask("教务系统导出成绩单报错", "导出本学期成绩单时提示“服务器内部错误”。", "software", "P3")
    if answered.assignee_id == agent.pk:
        services.ticket_accept(ticket=answered, agent=agent)
        services.ticket_submit_answer(
            ticket=answered, agent=agent, solution="已修复导出模板中的字段错误，请重新导出；如仍报错请回复截图。"
        )
        services.ticket_approve(ticket=answered, reviewer=reviewer)
    return created
