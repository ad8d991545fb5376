"""Generate a year of support tickets, and the support staff who handle them, for demos and benchmarks.

Run after ``load_divisions`` and ``generate_scale`` (schools and users to ask the questions):

    manage.py generate_tickets --tickets 1000000

What it makes:

- **Staff**, per county: ``--agents-per-county`` support agents (all four handling groups, on duty),
  one answer reviewer and one supervisor (unit administrator); per prefecture ``--agents-per-prefecture``
  agents, the pool a breach escalates to. Counties that already have an agent are left as they are.
- **Tickets** from teachers and staff of the schools, created over the last ``--days`` days. Each is
  in the support pool of its school's county (the nearest unit with agents, as routing would choose)
  and assigned to one of its agents. Most are closed or resolved, with the lifecycle's times, an
  answer and (mostly) a rating; about ``--open-share`` are open (new, in progress, waiting for the
  asker, pending review), recent ones more likely, with deadlines and the sweep's schedule computed
  by the services' own functions (``ticket_compute_deadlines``, ``refresh_sla_schedule``).
  Numbers are ``TS`` + the creation day + the day's serial, and the day counters are raised to the
  last serial so that tickets filed afterwards continue the sequence.
- With ``--due-share``, that share of the open tickets made due for the SLA sweep now: unconfirmed
  assignments, deadlines about to pass (warnings) and deadlines just passed (escalations).

An open ticket whose deadline has already passed when it is generated is stored the way the sweep
leaves it once there is nothing more to do: warned, escalation stopped (``escalation_exhausted``).
No timeline lines are generated: lists, search and the sweep do not read them.

Everything is bulk: tickets go in by COPY on PostgreSQL (bulk_create elsewhere), the staff by
bulk_create. The staff share one password hash (``--password`` or a random one printed at the end).
"""

from __future__ import annotations

import math
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from accounts.models import HandlingGroup, Role, RoleAssignment, User, UserSearchTerm, UserType
from accounts.services import generate_password, name_pinyin, search_terms_for
from helpdesk.core.commands import non_negative_int
from helpdesk.core.search import search_text_for
from orgtree.models import OrgLevel, OrgUnit
from tickets.models import (
    ACTIVE_STATES,
    OPEN_STATES,
    Priority,
    Rating,
    SLAPolicy,
    Ticket,
    TicketDayCounter,
    TicketSearch,
    TicketState,
    TicketType,
)
from tickets.services import refresh_sla_schedule, sla_policy_for, ticket_compute_deadlines, ticket_number_for
from tickets.working_time import LOCAL_TZ, DeadlineCalendar

MAX_TICKETS = 5_000_000
S = TicketState

# --- What people ask -------------------------------------------------------------------------------
# (type, problem, descriptions, answers). Titles put a place in front of the problem, descriptions
# and answers are picked from the lists, so the words a search looks for repeat as they do in a real
# help desk, and the places (rooms, buildings, devices) make most texts differ.
PROBLEMS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        TicketType.HARDWARE,
        "投影仪无法开机",
        (
            "上课前打开投影仪，电源灯不亮，按遥控器也没有反应，插座换过了。",
            "投影仪电源灯闪红色，开机几秒后自动关机，教室里正在等着上课。",
        ),
        ("更换了投影仪电源适配器，已恢复正常。", "灯泡寿命已到，已更换新灯泡并重置灯泡计时。"),
    ),
    (
        TicketType.HARDWARE,
        "投影画面发黄偏色",
        ("投影出来的画面整体偏黄，PPT看不清楚，调过亮度没有用。",),
        ("清洁了滤网和色轮，重新校准颜色。", "VGA线接触不良，已换成HDMI线。"),
    ),
    (
        TicketType.HARDWARE,
        "电子白板触控失灵",
        (
            "电子白板点击位置不准，写字时笔迹偏移好几厘米。",
            "白板触控完全没有反应，鼠标可以用，重启电脑也不行。",
        ),
        ("重新安装触控驱动并做了九点校准。", "触控框的USB线松动，已重新插好并固定。"),
    ),
    (
        TicketType.HARDWARE,
        "教室电脑蓝屏",
        ("讲台电脑开机后蓝屏，提示错误代码，反复重启。",),
        ("内存条接触不良，清理金手指后正常。", "系统文件损坏，已用还原卡恢复系统。"),
    ),
    (
        TicketType.HARDWARE,
        "打印机卡纸",
        ("办公室打印机频繁卡纸，打印试卷时每几张就卡一次。",),
        ("搓纸轮老化，已更换。", "纸张受潮，更换干燥纸张后正常。"),
    ),
    (
        TicketType.HARDWARE,
        "校园网断网",
        (
            "整栋楼都上不了网，交换机指示灯不亮。",
            "机房电脑都连不上校园网，网线和网口检查过了。",
        ),
        ("楼层交换机电源故障，已更换。", "光纤收发器死机，重启后恢复，已加装定时重启。"),
    ),
    (
        TicketType.HARDWARE,
        "无线网络信号差",
        ("教室里的无线网络经常断开，学生平板无法同时在线。",),
        ("增加了一台无线接入点并调整信道。",),
    ),
    (
        TicketType.HARDWARE,
        "录播设备没有声音",
        ("录播教室录出来的视频没有声音，麦克风指示灯是亮的。",),
        ("调音台输出通道被静音，已打开。",),
    ),
    (
        TicketType.SOFTWARE,
        "教务系统登录失败",
        (
            "输入账号密码后提示用户名或密码错误，确认密码没有输错。",
            "教务系统登录页面一直转圈，进不去，换了浏览器也一样。",
        ),
        ("账号被锁定，已解锁并提醒定期修改密码。", "浏览器缓存问题，清除缓存后可以登录。"),
    ),
    (
        TicketType.SOFTWARE,
        "成绩录入保存不了",
        ("期中考试成绩录入后点保存提示失败，已经录了两遍。",),
        ("录入时间窗口已关闭，已由教务处重新开放。", "成绩里有非法字符，删除后保存成功。"),
    ),
    (
        TicketType.SOFTWARE,
        "电子班牌不显示课表",
        ("班牌开机后只显示时间，课表和通知都是空白。",),
        ("班牌未绑定班级，已在管理后台重新绑定。",),
    ),
    (
        TicketType.SOFTWARE,
        "办公软件无法激活",
        ("教师电脑上的办公软件提示未激活，无法编辑文档。",),
        ("已使用学校的正版授权重新激活。",),
    ),
    (
        TicketType.SOFTWARE,
        "视频会议没有画面",
        ("参加区里的视频会议时看不到对方画面，只有声音。",),
        ("摄像头权限被关闭，已在系统设置中打开。",),
    ),
    (
        TicketType.CONSULTATION,
        "如何导出成绩",
        ("想把本班学生的期末成绩导出成表格，找不到导出按钮。",),
        ("在成绩管理-成绩查询页面，选择班级后点右上角的导出，即可下载表格。",),
    ),
    (
        TicketType.CONSULTATION,
        "如何重置学生密码",
        ("学生忘记了学习平台的密码，班主任能不能帮忙重置？",),
        ("班主任在班级管理-学生名单中选中学生，点击重置密码即可。",),
    ),
    (
        TicketType.CONSULTATION,
        "如何预约录播教室",
        ("下周要上公开课，想预约录播教室，在哪里申请？",),
        ("在资源预约模块选择录播教室和时间段提交申请，由电教管理员审批。",),
    ),
    (
        TicketType.CONSULTATION,
        "电子白板软件怎么用",
        ("新装的白板软件不会用，想知道怎么插入课件和使用书写工具。",),
        ("已发送白板软件操作手册，并安排下周二的培训。",),
    ),
    (
        TicketType.COMPLAINT,
        "报修后长时间没人处理",
        ("上周报的投影仪故障到现在还没人来修，影响正常上课。",),
        ("已向维修单位督办，并将处理进度每日反馈。",),
    ),
    (
        TicketType.COMPLAINT,
        "建议增加网络带宽",
        ("学校上网太慢，上课播放视频经常卡顿，建议扩容。",),
        ("已将扩容需求报县教育局信息中心，列入明年计划。",),
    ),
)
PLACES = ("{b}号楼{r}教室", "{b}号楼{r}室", "多媒体教室{r}", "计算机教室{n}", "录播教室", "教师办公室{r}", "实验楼{r}")
TYPE_SHARE = {TicketType.HARDWARE: 40, TicketType.SOFTWARE: 30, TicketType.CONSULTATION: 25, TicketType.COMPLAINT: 5}
PRIORITY_SHARE = {Priority.P1: 5, Priority.P2: 15, Priority.P3: 60, Priority.P4: 20}
RATING_SHARE = {Rating.VERY_SATISFIED: 50, Rating.SATISFIED: 35, Rating.NEUTRAL: 10, Rating.DISSATISFIED: 5}
# An open ticket is more likely the younger it is: weight by age bucket (days), scaled to --open-share.
OPEN_WEIGHT_BY_AGE = ((2, 1.0), (7, 0.8), (30, 0.4), (90, 0.1), (None, 0.02))
# Share of each state among open tickets older than the acceptance window.
OPEN_STATES_SHARE = {S.IN_PROGRESS: 50, S.WAITING_ASKER: 25, S.PENDING_REVIEW: 25}
# Kinds of due tickets the sweep is given: unconfirmed assignments, warnings, breaches.
DUE_KINDS = {"unconfirmed": 30, "warning": 40, "breach": 30}


@dataclass
class Staffed:
    """Who serves each staffed unit: {unit id: [agent ids]} and the pools by unit path."""

    agents: dict[int, list[int]] = field(default_factory=dict)
    pool_by_path: dict[str, int] = field(default_factory=dict)
    created: Counter = field(default_factory=Counter)


@dataclass
class TicketResult:
    tickets: Counter = field(default_factory=Counter)
    days: int = 0
    due: Counter = field(default_factory=Counter)


def _pick(rng: random.Random, shares: dict) -> object:
    return rng.choices(list(shares), list(shares.values()))[0]


def _mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"


class TicketGenerator:
    def __init__(self, *, seed: int | None, batch_size: int, progress: bool = True) -> None:
        self.rng = random.Random(seed)
        self.batch_size = batch_size
        self.progress = progress
        self.result = TicketResult()
        self.calendar = DeadlineCalendar()
        self.policies: dict[str, SLAPolicy] = {p: sla_policy_for(p) for p in Priority.values}

    def _bar(self, total: int, desc: str) -> tqdm:
        return tqdm(total=total, desc=desc, unit=desc, file=sys.stderr, disable=not self.progress)

    # --- Staff ---------------------------------------------------------------------------------
    def staff(self, *, per_county: int, per_prefecture: int, password_hash: str) -> Staffed:
        """Agents, reviewers and supervisors for every county (and agents for prefectures) that has
        no agent yet; returns who serves where, the units that had agents before included."""
        groups = list(HandlingGroup.objects.all())
        if not groups:
            raise CommandError("There are no handling groups: run `manage.py migrate` first.")
        staffed = Staffed()
        plan: list[tuple[OrgUnit, str, str]] = []  # (unit, role, username)
        for level, count in ((OrgLevel.COUNTY, per_county), (OrgLevel.PREFECTURE, per_prefecture)):
            units = OrgUnit.objects.filter(level=level).order_by("path").only("id", "code", "path", "name")
            have = set(
                RoleAssignment.objects.filter(role=Role.SUPPORT_AGENT, unit__level=level).values_list(
                    "unit_id", flat=True
                )
            )
            for unit in units:
                if unit.pk in have:
                    continue
                plan += [(unit, Role.SUPPORT_AGENT, f"kf{unit.code}{i + 1:02d}") for i in range(count)]
                if level == OrgLevel.COUNTY and count:
                    plan += [(unit, Role.ANSWER_REVIEWER, f"sh{unit.code}"), (unit, Role.UNIT_ADMIN, f"gl{unit.code}")]
        taken = set()
        usernames = [username for _, _, username in plan]
        for start in range(0, len(usernames), 5000):
            chunk = usernames[start : start + 5000]
            taken |= set(User.objects.filter(username__in=chunk).values_list("username", flat=True))
        plan = [row for row in plan if row[2] not in taken]
        with transaction.atomic():
            for start in range(0, len(plan), self.batch_size):
                self._create_staff(plan[start : start + self.batch_size], groups, password_hash, staffed)
        # Every agent of a county or prefecture, those created before this run too.
        rows = RoleAssignment.objects.filter(
            role=Role.SUPPORT_AGENT,
            on_duty=True,
            user__is_active=True,
            unit__level__in=(OrgLevel.COUNTY, OrgLevel.PREFECTURE),
        ).values_list("unit_id", "unit__path", "user_id")
        for unit_id, path, user_id in rows.order_by("unit_id", "user_id"):
            staffed.agents.setdefault(unit_id, []).append(user_id)
            staffed.pool_by_path[path] = unit_id
        return staffed

    def _create_staff(self, plan, groups, password_hash: str, staffed: Staffed) -> None:
        generator_names = _NameMaker(self.rng)
        users = []
        for unit, _role, username in plan:
            name = generator_names.name()
            full, initials = name_pinyin(name)
            users.append(
                User(
                    username=username,
                    name=name,
                    unit_id=unit.pk,
                    user_type=UserType.STAFF,
                    password=password_hash,
                    name_pinyin=full,
                    name_initials=initials,
                    phone=_mobile(self.rng),
                )
            )
        User.objects.bulk_create(users)
        UserSearchTerm.objects.bulk_create(
            [UserSearchTerm(user_id=user.pk, term=term) for user in users for term in search_terms_for(user)]
        )
        assignments = [
            RoleAssignment(user_id=user.pk, unit_id=unit.pk, role=role, on_duty=True)
            for user, (unit, role, _username) in zip(users, plan, strict=True)
        ]
        RoleAssignment.objects.bulk_create(assignments)
        through = RoleAssignment.handling_groups.through
        through.objects.bulk_create(
            [
                through(roleassignment_id=assignment.pk, handlinggroup_id=group.pk)
                for assignment in assignments
                if assignment.role == Role.SUPPORT_AGENT
                for group in groups
            ]
        )
        staffed.created.update(role for _, role, _ in plan)

    # --- Askers ----------------------------------------------------------------------------------
    def askers(self, limit: int) -> list[tuple[int, int, str, str]]:
        """(id, unit id, unit path, name) of teachers and staff in schools: those who file tickets."""
        users = User.objects.filter(
            is_active=True, user_type__in=(UserType.TEACHER, UserType.STAFF), unit__level=OrgLevel.SCHOOL
        )
        rows = list(users.order_by("id").values_list("id", "unit_id", "unit__path", "name")[: limit * 4])
        if len(rows) > limit:
            rows = self.rng.sample(rows, limit)
        return rows

    # --- Tickets ---------------------------------------------------------------------------------
    def tickets(
        self, total: int, *, askers: list, staffed: Staffed, days: int, open_share: float, now: datetime
    ) -> None:
        # Creation times, oldest first, so ids follow time and each day's serials follow the clock.
        moments = sorted(self._moment(now, days) for _ in range(total))
        weights = [self._open_weight((now - moment).total_seconds() / 86400) for moment in moments]
        scale = open_share * total / (sum(weights) or 1)
        serials = self._serials_from(timezone.localdate(moments[0]) if moments else timezone.localdate(now))
        day_max: dict[date, int] = {}
        pool_cache: dict[str, int | None] = {}
        with self._bar(total, "ticket") as bar:
            for start in range(0, total, self.batch_size):
                batch = []
                for index in range(start, min(total, start + self.batch_size)):
                    created = moments[index]
                    is_open = self.rng.random() < min(0.95, scale * weights[index])
                    asker = self.rng.choice(askers)
                    ticket = self._ticket(created, asker, staffed, pool_cache, is_open=is_open, now=now)
                    day = timezone.localdate(created)
                    serial = serials.get(day, 0) + 1
                    serials[day] = day_max[day] = serial
                    ticket.number = ticket_number_for(day, serial)
                    batch.append(ticket)
                    self.result.tickets[ticket.state] += 1
                self._insert(batch)
                bar.update(len(batch))
        self._raise_counters(day_max)
        self.result.days = len(day_max)

    def _moment(self, now: datetime, days: int) -> datetime:
        """A creation time in the last ``days`` days: 85% in office hours (08:00–18:00 local time)."""
        rng = self.rng
        day = timezone.localdate(now) - timedelta(days=rng.randrange(days))
        hours = rng.uniform(8, 18) if rng.random() < 0.85 else rng.uniform(0, 24) % 24
        moment = datetime.combine(day, time(0), tzinfo=LOCAL_TZ) + timedelta(hours=hours)
        return moment if moment <= now else now - timedelta(seconds=rng.uniform(0, 3600))

    @staticmethod
    def _open_weight(age_days: float) -> float:
        for upper, weight in OPEN_WEIGHT_BY_AGE:
            if upper is None or age_days < upper:
                return weight
        return 0.0

    def _serials_from(self, first_day: date) -> dict[date, int]:
        return dict(TicketDayCounter.objects.filter(day__gte=first_day).values_list("day", "last_serial"))

    def _raise_counters(self, day_max: dict[date, int]) -> None:
        """Counters to the last serial of each day, so that tickets filed later continue after it."""
        existing = TicketDayCounter.objects.in_bulk(list(day_max))
        new, changed = [], []
        for day, serial in day_max.items():
            counter = existing.get(day)
            if counter is None:
                new.append(TicketDayCounter(day=day, last_serial=serial))
            elif counter.last_serial < serial:
                counter.last_serial = serial
                changed.append(counter)
        TicketDayCounter.objects.bulk_create(new, batch_size=5000)
        TicketDayCounter.objects.bulk_update(changed, ["last_serial"], batch_size=5000)

    def _pool_for(self, path: str, staffed: Staffed, cache: dict) -> int | None:
        """The nearest unit above (or at) ``path`` that has agents, as routing would find."""
        if path not in cache:
            step = OrgUnit.steplen
            cache[path] = next(
                (
                    staffed.pool_by_path[path[:length]]
                    for length in range(len(path), 0, -step)
                    if path[:length] in staffed.pool_by_path
                ),
                None,
            )
        return cache[path]

    def _texts(self, ticket_type: str | None = None) -> tuple[str, str, str, str]:
        rng = self.rng
        candidates = [p for p in PROBLEMS if ticket_type is None or p[0] == ticket_type]
        kind, problem, descriptions, answers = rng.choice(candidates)
        place = rng.choice(PLACES).format(b=rng.randint(1, 9), r=rng.randint(101, 520), n=rng.randint(1, 6))
        title = f"{place}{problem}"
        description = f"{place}：{rng.choice(descriptions)}"
        if kind == TicketType.HARDWARE and rng.random() < 0.5:
            description += f"设备编号 SB{rng.randint(10000, 99999)}。"
        return kind, title, description, rng.choice(answers)

    def _ticket(self, created, asker, staffed, pool_cache, *, is_open: bool, now: datetime) -> Ticket:
        rng = self.rng
        asker_id, unit_id, unit_path, asker_name = asker
        kind, title, description, answer = self._texts(_pick(rng, TYPE_SHARE))
        priority = _pick(rng, PRIORITY_SHARE)
        pool_id = self._pool_for(unit_path, staffed, pool_cache)
        agents = staffed.agents.get(pool_id) or [None]
        ticket = Ticket(
            title=title,
            description=description,
            type=kind,
            priority=priority,
            asker_id=asker_id,
            unit_id=unit_id,
            unit_path=unit_path,
            contact_name=asker_name or "-",
            contact_info=_mobile(rng),
            pool_unit_id=pool_id,
            assignee_id=rng.choice(agents),
            created_at=created,
        )
        policy = self.policies[priority]
        ticket_compute_deadlines(ticket=ticket, policy=policy, calendar=self.calendar)
        if is_open:
            self._open_lifecycle(ticket, policy, now=now)
        else:
            self._closed_lifecycle(ticket, answer, now=now)
        ticket._search_text = search_text_for(ticket.title, ticket.description, ticket.solution)
        return ticket

    def _closed_lifecycle(self, ticket: Ticket, answer: str, *, now: datetime) -> None:
        """Accepted, answered (mostly within the response target), confirmed, rated or closed."""
        rng, created = self.rng, ticket.created_at

        def at_most_now(moment: datetime) -> datetime:
            return min(moment, now)

        ticket.accepted_at = at_most_now(created + timedelta(minutes=rng.uniform(2, 50)))
        in_time = rng.random() < 0.9
        target = ticket.response_due_at - created
        response = target * rng.uniform(0.1, 0.95) if in_time else target * rng.uniform(1.05, 2.0)
        ticket.first_response_at = at_most_now(max(ticket.accepted_at, created + response))
        ticket.resolved_at = at_most_now(ticket.first_response_at + timedelta(hours=rng.uniform(0.2, 48)))
        ticket.solution = answer
        closed = ticket.resolved_at + timedelta(hours=rng.uniform(0.1, 72))
        if closed <= now and rng.random() < 0.97:
            ticket.state = S.CLOSED
            ticket.closed_at = closed
            if rng.random() < 0.75:
                ticket.rating = _pick(rng, RATING_SHARE)
                ticket.rated_at = closed
                if ticket.rating in (Rating.NEUTRAL, Rating.DISSATISFIED):
                    ticket.feedback = "处理时间太长，希望下次能快一些。"
        elif rng.random() < 0.7:
            ticket.state = S.RESOLVED
        else:
            ticket.state, ticket.resolved_at = S.ANSWERED, None
        ticket.ack_due_at = None
        ticket.updated_at = ticket.closed_at or ticket.resolved_at or ticket.first_response_at
        refresh_sla_schedule(ticket, policy=self.policies[ticket.priority], calendar=self.calendar)

    def _open_lifecycle(self, ticket: Ticket, policy: SLAPolicy, *, now: datetime) -> None:
        rng, created = self.rng, ticket.created_at
        young = now - created < timedelta(hours=1)
        if ticket.assignee_id is None or (young and rng.random() < 0.7):
            ticket.state = S.NEW
            ticket.ack_due_at = created + timedelta(minutes=policy.acknowledge_minutes) if ticket.assignee_id else None
        else:
            ticket.state = _pick(rng, OPEN_STATES_SHARE)
            ticket.accepted_at = min(now, created + timedelta(minutes=rng.uniform(2, 50)))
            if ticket.state == S.WAITING_ASKER:
                ticket.first_response_at = ticket.paused_at = ticket.accepted_at + (now - ticket.accepted_at) * 0.5
            elif ticket.state == S.IN_PROGRESS and rng.random() < 0.3:
                # Asked the asker something earlier and got the answer: responded, resolution clock runs.
                ticket.first_response_at = ticket.accepted_at + (now - ticket.accepted_at) * 0.3
        ticket.updated_at = ticket.paused_at or ticket.accepted_at or created
        settle(ticket, policy=policy, calendar=self.calendar, now=now, rng=rng)

    def _insert(self, batch: list[Ticket]) -> None:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                self._copy(batch)
            else:
                Ticket.objects.bulk_create(batch, batch_size=2000)
                TicketSearch.objects.bulk_create(
                    [TicketSearch(ticket_id=ticket.pk, text=ticket._search_text) for ticket in batch], batch_size=2000
                )

    def _copy(self, batch: list[Ticket]) -> None:
        """PostgreSQL COPY, ids from the table's sequence (as generate_scale does for users)."""
        table = Ticket._meta.db_table
        fields = Ticket._meta.concrete_fields
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(batch)]
            )
            for ticket, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                ticket.pk = pk
            with cursor.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
                for ticket in batch:
                    copy.write_row(tuple(getattr(ticket, f.attname) for f in fields))
            with cursor.copy("COPY tickets_ticketsearch (ticket_id, text) FROM STDIN") as copy:
                for ticket in batch:
                    copy.write_row((ticket.pk, ticket._search_text))


class _NameMaker:
    SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
    GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚华玉萍红鹏辉"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def name(self) -> str:
        return self.rng.choice(self.SURNAMES) + "".join(self.rng.choices(self.GIVEN, k=self.rng.randint(1, 2)))


# --- The sweep's state ------------------------------------------------------------------------------
def _warning_lead(ticket: Ticket) -> timedelta:
    """How long before the watched deadline the warning goes out, as refresh_sla_schedule set it."""
    watched = ticket.escalation_due_at or ticket.next_due_at
    return watched - ticket.warn_at if watched and ticket.warn_at else timedelta()


def settle(ticket: Ticket, *, policy: SLAPolicy, calendar: DeadlineCalendar, now: datetime, rng) -> Ticket:
    """Compute the sweep's schedule and, where it is already past, leave the ticket as the sweep would
    once there is nothing left to do: warned, escalation stopped, an unconfirmed assignment given a
    fresh hour. Afterwards ``sla_check_at`` is in the future or null."""
    refresh_sla_schedule(ticket, policy=policy, calendar=calendar)
    for _ in range(3):
        if ticket.sla_check_at is None or ticket.sla_check_at > now:
            break
        if ticket.warn_at is not None and ticket.warn_at <= now:
            ticket.warned_at = ticket.warn_at
        if ticket.escalation_due_at is not None and ticket.escalation_due_at <= now:
            ticket.escalation_exhausted = True
            ticket.escalated_at = ticket.escalation_due_at
        if ticket.state == S.NEW and ticket.ack_due_at is not None and ticket.ack_due_at <= now:
            ticket.ack_due_at = now + timedelta(minutes=rng.uniform(1, policy.acknowledge_minutes))
        refresh_sla_schedule(ticket, policy=policy, calendar=calendar)
    return ticket


SETTLE_FIELDS = [
    "ack_due_at",
    "response_due_at",
    "resolution_due_at",
    "next_due_at",
    "escalation_due_at",
    "escalated_at",
    "escalation_exhausted",
    "warn_at",
    "warned_at",
    "sla_check_at",
]


def make_due(*, now: datetime, share: float, seed: int | None = None, batch_size: int = 2000) -> Counter:
    """Settle whatever the passing time made due since the tickets were generated, then make
    ``share`` of the open tickets due at ``now``: about 30% unconfirmed assignments, 40% warnings
    (a deadline within the warning lead), 30% breaches (a deadline just passed, in a pool that has a
    pool above it). Returns how many of each kind."""
    rng = random.Random(seed)
    calendar = DeadlineCalendar()
    policies = {p: sla_policy_for(p) for p in Priority.values}
    counts: Counter = Counter()
    with transaction.atomic():
        stale = list(Ticket.objects.filter(sla_check_at__lte=now).order_by("id"))
        for ticket in stale:
            settle(ticket, policy=policies[ticket.priority], calendar=calendar, now=now, rng=rng)
        Ticket.objects.bulk_update(stale, SETTLE_FIELDS, batch_size=batch_size)
        counts["settled"] = len(stale)

        open_count = Ticket.objects.filter(state__in=OPEN_STATES).count()
        wanted = round(open_count * share)
        kinds = {kind: round(wanted * weight / sum(DUE_KINDS.values())) for kind, weight in DUE_KINDS.items()}
        running = Ticket.objects.filter(paused_at__isnull=True, escalation_exhausted=False, pool_unit__isnull=False)
        pending = {
            # New tickets whose agent has not confirmed receipt.
            "unconfirmed": running.filter(state=S.NEW, assignee__isnull=False),
            "warning": running.filter(state__in=ACTIVE_STATES, warned_at__isnull=True),
            "breach": running.filter(state=S.IN_PROGRESS, escalated_at__isnull=True),
        }
        chosen: set[int] = set()
        changed: list[Ticket] = []
        for kind, count in kinds.items():
            if count <= 0:
                continue
            ids = list(pending[kind].exclude(pk__in=chosen).order_by("?").values_list("id", flat=True)[:count])
            chosen.update(ids)
            tickets = list(Ticket.objects.filter(pk__in=ids))
            for ticket in tickets:
                _make_due(ticket, kind, now=now, policy=policies[ticket.priority], calendar=calendar, rng=rng)
                if ticket.sla_check_at is not None and ticket.sla_check_at <= now:
                    counts[kind] += 1
            changed += tickets
        Ticket.objects.bulk_update(changed, [*SETTLE_FIELDS, "state"], batch_size=batch_size)
    counts["open"] = open_count
    return counts


def _make_due(ticket: Ticket, kind: str, *, now: datetime, policy: SLAPolicy, calendar, rng) -> None:
    awaiting = ticket.first_response_at is None
    if kind == "unconfirmed":
        ticket.ack_due_at = now - timedelta(minutes=rng.uniform(0.5, 30))
        refresh_sla_schedule(ticket, policy=policy, calendar=calendar)
        return
    # The current deadline moves: within the warning lead ahead of now, or just passed.
    refresh_sla_schedule(ticket, policy=policy, calendar=calendar)
    lead = _warning_lead(ticket) or timedelta(minutes=5)
    ahead = lead * rng.uniform(0.1, 0.9)
    due = now + ahead if kind == "warning" else now - timedelta(minutes=rng.uniform(0.5, 30))
    if awaiting:
        ticket.response_due_at = due
    else:
        ticket.resolution_due_at = due
    if kind == "breach":
        # Warned before the deadline, as the sweep would have done.
        ticket.warn_at = ticket.warned_at = due - lead
    refresh_sla_schedule(ticket, policy=policy, calendar=calendar)
    if kind == "breach" and ticket.warned_at is None:
        ticket.warned_at = ticket.warn_at
        refresh_sla_schedule(ticket, policy=policy, calendar=calendar)


def vacuum_analyze() -> None:
    """Fresh statistics and visibility map after a bulk load (PostgreSQL). VACUUM cannot run inside a
    transaction (a test's): ANALYZE alone there."""
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    # The agents' handling groups too: with the bulk-loaded roles unanalysed, the planner guessed 121
    # rows for 12,000 and the sweep's agent lookup took 30 ms instead of 0.4 ms.
    tables = [
        Ticket,
        TicketSearch,
        TicketDayCounter,
        User,
        UserSearchTerm,
        RoleAssignment,
        RoleAssignment.handling_groups.through,
    ]
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")


def _share(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1 or math.isnan(number):
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Generate support staff and a year of tickets (mostly closed, some open and due) in bulk."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--tickets", type=non_negative_int, default=0, help=f"Tickets to add (max {MAX_TICKETS:,})."
        )
        parser.add_argument("--days", type=int, default=365, help="Spread creation over this many past days.")
        parser.add_argument("--open-share", type=_share, default=0.10, help="Share of open tickets (0–1).")
        parser.add_argument(
            "--due-share", type=_share, default=0.0, help="Share of open tickets to make due for the SLA sweep now."
        )
        parser.add_argument("--agents-per-county", type=non_negative_int, default=2)
        parser.add_argument("--agents-per-prefecture", type=non_negative_int, default=1)
        parser.add_argument(
            "--askers", type=non_negative_int, default=100_000, help="Distinct askers drawn from the users."
        )
        parser.add_argument("--batch-size", type=int, default=10_000, help="Rows per insert batch.")
        parser.add_argument("--seed", type=int, default=None, help="Random seed.")
        parser.add_argument("--password", default=None, help="Password of the generated staff (default: random).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw progress bars.")

    def handle(self, *args, **options) -> None:
        total = options["tickets"]
        if total > MAX_TICKETS:
            raise CommandError(f"--tickets is at most {MAX_TICKETS:,} per run.")
        if not 1 <= options["batch_size"] <= 100_000:
            raise CommandError("--batch-size must be between 1 and 100,000.")
        if not 1 <= options["days"] <= 3650:
            raise CommandError("--days must be between 1 and 3,650.")
        if not OrgUnit.objects.filter(level=OrgLevel.COUNTY).exists():
            raise CommandError("There are no counties: run `manage.py load_divisions` first.")

        now = timezone.now()
        password = options["password"] or generate_password()
        generator = TicketGenerator(
            seed=options["seed"], batch_size=options["batch_size"], progress=not options["no_progress"]
        )
        staffed = generator.staff(
            per_county=options["agents_per_county"],
            per_prefecture=options["agents_per_prefecture"],
            password_hash=make_password(password),
        )
        created = staffed.created
        if created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created {created[Role.SUPPORT_AGENT]} agents, {created[Role.ANSWER_REVIEWER]} reviewers and "
                    f"{created[Role.UNIT_ADMIN]} supervisors; their password: "
                    f"{'the one given by --password' if options['password'] else password}"
                )
            )
        if total:
            askers = generator.askers(options["askers"])
            if not askers:
                raise CommandError("There are no teachers or staff in schools: run `manage.py generate_scale` first.")
            generator.tickets(
                total,
                askers=askers,
                staffed=staffed,
                days=options["days"],
                open_share=options["open_share"],
                now=now,
            )
            by_state = ", ".join(f"{generator.result.tickets[s]} {s}" for s in S.values if generator.result.tickets[s])
            self.stdout.write(
                self.style.SUCCESS(f"Created {total} tickets over {generator.result.days} days ({by_state}).")
            )
        if options["due_share"]:
            due = make_due(now=timezone.now(), share=options["due_share"], seed=options["seed"])
            self.stdout.write(
                self.style.SUCCESS(
                    f"Due for the SLA sweep: {due['unconfirmed']} unconfirmed, {due['warning']} warnings, "
                    f"{due['breach']} breaches, of {due['open']} open tickets."
                )
            )
        if connection.vendor == "postgresql":
            vacuum_analyze()
