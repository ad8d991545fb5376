"""Demo notices for seed_demo: 海淀区's publisher writes two notices, its notice reviewer approves
them (one to every school teacher of the district with a read receipt, one to the whole district).
Idempotent: nothing is added once the first demo notice exists."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from orgtree.models import OrgLevel, OrgUnit

from . import services
from .models import Notice

NOTICES = (
    {
        "title": "关于做好寒假期间校园网络安全工作的通知",
        "body": (
            "各学校：\n\n为保障寒假期间校园网络和信息系统安全，请各校于**放假前**完成以下工作：\n\n"
            "1. 关闭不必要的服务器和网络设备\n2. 修改管理员默认密码\n3. 安排假期值班人员并报区教委备案\n\n"
            "请各校教师阅读后确认回执。"
        ),
        "importance": "important",
        "receipt_required": True,
        "audience_mode": "levels",
        "audience_levels": [OrgLevel.SCHOOL],
        "audience_kinds": ["teacher"],
    },
    {
        "title": "海淀区教育信息化培训报名通知",
        "body": "区教委将于下月举办多媒体教室设备使用培训，欢迎各单位老师报名参加。",
        "importance": "normal",
        "audience_mode": "subtree",
    },
)


def seed_demo_notices() -> int:
    """Returns the number of notices published."""
    publisher = User.objects.filter(username="hd_publisher").first()
    reviewer = User.objects.filter(username="hd_notice_reviewer").first()
    county = OrgUnit.objects.filter(code="110108").first()
    if publisher is None or reviewer is None or county is None:
        return 0
    if Notice.objects.filter(title=NOTICES[0]["title"]).exists():
        return 0
    created = 0
    for fields in NOTICES:
        data = services.NoticeInput(valid_until=timezone.now() + timedelta(days=60), **fields)
        notice = services.notice_create(user=publisher, unit=county, data=data)
        services.notice_submit(user=publisher, notice=notice)
        services.notice_approve(user=reviewer, notice=notice)
        created += 1
    return created
