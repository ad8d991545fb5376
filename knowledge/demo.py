"""Demo knowledge articles for seed_demo: typical problems written up by 海淀区's agent (reviewed by
its answer reviewer) and one national article of the ministry. Idempotent: nothing is added once the
demo categories exist."""

from __future__ import annotations

from accounts.models import User
from orgtree.models import OrgUnit

from . import services
from .models import Category

CATEGORIES = {
    "多媒体设备": ["投影机", "电子白板"],
    "网络与打印": ["校园网", "打印机"],
    "教务系统": [],
}

# (category, title, problem, steps, solution, tags, ticket types)
ARTICLES = (
    (
        "投影机",
        "多媒体教室投影机显示无信号的排查",
        "教室投影机开机后画面提示“无信号”，电脑桌面正常显示。",
        "1. 检查讲台电脑到投影机的 HDMI / VGA 线两端是否插紧\n"
        "2. 用遥控器的 **Source（信号源）** 键切换到对应接口\n"
        "3. 在电脑上按 `Win + P` 选择“复制”",
        "多数情况是信号源选错：切换到 HDMI1 即可。若仍无信号，更换一根 HDMI 线再试；仍不行请提交工单。",
        ["投影机", "HDMI"],
        ["hardware"],
    ),
    (
        "电子白板",
        "电子白板触控不准或没有反应",
        "交互式电子白板点击位置偏移，或部分区域触控没有反应。",
        "1. 擦净白板边框的红外接收条\n2. 在白板软件中运行“触控校准”\n3. 重新插拔白板的 USB 触控线",
        "校准后点击位置恢复正常；边框遮挡（磁贴、胶带）也会导致局部失灵，请移除。",
        ["电子白板", "触控"],
        ["hardware"],
    ),
    (
        "打印机",
        "网络打印机无法连接的处理方法",
        "办公室的网络打印机显示脱机，电脑无法打印。",
        "1. 在打印机面板上查看 IP 地址\n2. 在电脑上 `ping` 该地址\n3. 在“设备和打印机”中删除后重新添加",
        "打印机的 IP 地址变了（自动获取）。在打印机上设置固定 IP，并在电脑上按新地址重新添加打印机。",
        ["打印机", "网络"],
        ["hardware", "consultation"],
    ),
    (
        "教务系统",
        "教务系统导出成绩单时报错",
        "导出本学期成绩单时提示“服务器内部错误”。",
        "1. 确认所选学期和班级\n2. 换用 Chrome 或 Edge 浏览器\n3. 清除浏览器缓存后重试",
        "导出模板中的字段已修复，请重新导出；如仍报错，请在工单中附上截图。",
        ["教务系统", "成绩"],
        ["software"],
    ),
)


def _categories() -> dict[str, Category]:
    found = {}
    for order, (name, children) in enumerate(CATEGORIES.items()):
        parent, _created = Category.objects.get_or_create(name=name, parent=None, defaults={"order": order})
        found[name] = parent
        for child_order, child in enumerate(children):
            found[child], _created = Category.objects.get_or_create(
                name=child, parent=parent, defaults={"order": child_order}
            )
    return found


def seed_demo_articles() -> int:
    """Returns the number of articles published."""
    agent = User.objects.filter(username="hd_agent").first()
    reviewer = User.objects.filter(username="hd_reviewer").first()
    county = OrgUnit.objects.filter(code="110108").first()
    if agent is None or reviewer is None or county is None or Category.objects.filter(name="多媒体设备").exists():
        return 0
    categories = _categories()
    created = 0
    for category, title, problem, steps, solution, tags, types in ARTICLES:
        data = services.ArticleInput(
            title=title,
            problem=problem,
            steps=steps,
            solution=solution,
            category=categories[category],
            tags=tags,
            ticket_types=types,
            scope_unit=county,
        )
        article = services.article_create(user=agent, owner=county, data=data)
        services.article_submit(user=agent, article=article)
        services.article_approve(user=reviewer, article=article)
        created += 1
    ministry_author = User.objects.filter(username="moe_admin").first()
    operator = User.objects.filter(username="admin", is_superuser=True).first()
    root = OrgUnit.objects.filter(code="000000").first()
    if ministry_author is not None and operator is not None and root is not None:
        article = services.article_create(
            user=ministry_author,
            owner=root,
            data=services.ArticleInput(
                title="校园网账号忘记密码怎么办",
                problem="登录校园网认证页面时提示密码错误，忘记了密码。",
                steps="1. 在认证页面点击“忘记密码”\n2. 用绑定的手机号接收验证码",
                solution="通过绑定手机重置密码；没有绑定手机的，请联系本校信息管理员在后台重置。",
                category=categories["校园网"],
                tags=["校园网", "密码"],
                ticket_types=["consultation"],
                scope_unit=None,
            ),
        )
        services.article_submit(user=ministry_author, article=article)
        services.article_approve(user=operator, article=article)
        created += 1
    return created
