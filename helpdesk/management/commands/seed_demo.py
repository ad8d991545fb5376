"""``manage.py seed_demo``: demo units, accounts and tickets under the real division tree, idempotently.

Every demo account has the same published password, so the command refuses to run with DEBUG off
unless told ``--force`` (docker-compose's demo stack does that on purpose).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import services
from accounts.models import HandlingGroup, Role, User, UserType
from knowledge.demo import seed_demo_articles
from notices.demo import seed_demo_notices
from orgtree import services as org_services
from orgtree.models import OrgLevel, OrgUnit
from tickets.demo import seed_demo_tickets

DEMO_PASSWORD = "Demo@2026"  # noqa: S105 - published on purpose, see the module docstring
ROOT_CODE = "000000"


@dataclass(frozen=True)
class DemoSchool:
    code: str
    name: str
    county_code: str


@dataclass(frozen=True)
class DemoAccount:
    username: str
    name: str
    unit_code: str
    user_type: str
    description: str
    roles: tuple[str, ...] = ()
    nickname: str = ""


# Demo codes carry a "D" so they never collide with GB/T 2260 codes or generate_scale's schools.
DEMO_SCHOOLS = (
    DemoSchool("110108D01", "海淀区中关村第一小学", "110108"),
    DemoSchool("110108D02", "海淀区实验中学", "110108"),
    DemoSchool("110108D03", "海淀区育英学校", "110108"),
    DemoSchool("120101D01", "和平区第一中心小学", "120101"),
)

_HD = "110108"  # 北京市海淀区
_SCHOOL = "110108D01"  # 海淀区中关村第一小学
_STAFF, _TEACHER = UserType.STAFF, UserType.TEACHER

DEMO_ACCOUNTS = (
    DemoAccount("admin", "平台管理员", ROOT_CODE, _STAFF, "platform operator (superuser, /admin/)"),
    DemoAccount(
        "moe_admin", "教育部管理员", ROOT_CODE, _STAFF, "unit admin of the ministry (whole tree)", (Role.UNIT_ADMIN,)
    ),
    DemoAccount("bj_admin", "北京市管理员", "110000", _STAFF, "unit admin of 北京市", (Role.UNIT_ADMIN,)),
    DemoAccount("hd_admin", "海淀区管理员", _HD, _STAFF, "unit admin of 海淀区", (Role.UNIT_ADMIN,)),
    DemoAccount(
        "hd_agent",
        "刘洋",
        _HD,
        _STAFF,
        "support agent of 海淀区 (all handling groups, on duty)",
        (Role.SUPPORT_AGENT,),
        nickname="海淀技术支持",
    ),
    DemoAccount("hd_reviewer", "陈静", _HD, _STAFF, "answer reviewer of 海淀区", (Role.ANSWER_REVIEWER,)),
    DemoAccount("hd_publisher", "杨磊", _HD, _STAFF, "notice publisher of 海淀区", (Role.NOTICE_PUBLISHER,)),
    DemoAccount("hd_notice_reviewer", "周敏", _HD, _STAFF, "notice reviewer of 海淀区", (Role.NOTICE_REVIEWER,)),
    DemoAccount("teacher_zhang", "张伟", _SCHOOL, _TEACHER, "teacher at 海淀区中关村第一小学", nickname="张老师"),
    DemoAccount("student_li", "李明", _SCHOOL, UserType.STUDENT, "student at 海淀区中关村第一小学"),
    DemoAccount("parent_wang", "王芳", _SCHOOL, UserType.PARENT, "parent at 海淀区中关村第一小学"),
    DemoAccount("tj_teacher", "赵磊", "120101D01", _TEACHER, "teacher at 天津市和平区第一中心小学"),
)


class Command(BaseCommand):
    help = f"Create the demo schools and accounts (password {DEMO_PASSWORD}); safe to run again."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even with DEBUG off (the demo password is public: never on a real deployment).",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                f"seed_demo creates accounts whose password ({DEMO_PASSWORD}) is public and DEBUG is off. "
                "Use --force only for a demo deployment."
            )
        needed = {ROOT_CODE, *(s.county_code for s in DEMO_SCHOOLS), *(a.unit_code for a in DEMO_ACCOUNTS)}
        needed -= {s.code for s in DEMO_SCHOOLS}
        if OrgUnit.objects.filter(code__in=needed).count() < len(needed):
            self.stdout.write("The division tree is not loaded yet: running load_divisions first.")
            call_command("load_divisions", no_progress=True, stdout=self.stdout, stderr=self.stderr)

        with transaction.atomic():
            created_schools = self._seed_schools()
            created_accounts = self._seed_accounts()
            created_tickets = seed_demo_tickets()
            created_articles = seed_demo_articles()
            created_notices = seed_demo_notices()
        if options["verbosity"] < 1:
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {created_schools} school(s) and {created_accounts} account(s) created, "
                f"{len(DEMO_SCHOOLS) - created_schools} school(s) and {len(DEMO_ACCOUNTS) - created_accounts} "
                f"account(s) already there; {created_tickets} demo ticket(s) filed, "
                f"{created_articles} knowledge article(s) and {created_notices} notice(s) published."
            )
        )
        self.stdout.write(f"Demo accounts (password {DEMO_PASSWORD}):")
        for account in DEMO_ACCOUNTS:
            self.stdout.write(f"  {account.username:<20} {account.name} — {account.description}")

    def _seed_schools(self) -> int:
        codes = [school.code for school in DEMO_SCHOOLS]
        existing = set(OrgUnit.objects.filter(code__in=codes).values_list("code", flat=True))
        created = 0
        for school in DEMO_SCHOOLS:
            if school.code in existing:
                continue
            county = OrgUnit.objects.get(code=school.county_code)
            org_services.unit_create(parent=county, name=school.name, code=school.code, level=OrgLevel.SCHOOL)
            created += 1
        return created

    def _seed_accounts(self) -> int:
        units = OrgUnit.objects.in_bulk({a.unit_code for a in DEMO_ACCOUNTS}, field_name="code")
        operator, created = self._operator(units[ROOT_CODE])
        groups = list(HandlingGroup.objects.all())
        for account in DEMO_ACCOUNTS[1:]:
            user = User.objects.filter(username=account.username).first()
            if user is None:
                # Accounts are issued the way a superior unit issues them, by the platform operator,
                # but not forced to change their password: it is published for demonstrations (and
                # the command refuses to run with DEBUG off), and a demonstrator signing in as each
                # role must not meet the first-login password page every time.
                user = services.user_create(
                    actor=operator,
                    username=account.username,
                    name=account.name,
                    nickname=account.nickname,
                    unit=units[account.unit_code],
                    user_type=account.user_type,
                    password=DEMO_PASSWORD,
                    password_change_required=False,
                ).user
                created += 1
            for role in account.roles:
                services.role_grant(
                    actor=operator,
                    user=user,
                    unit=units[account.unit_code],
                    role=role,
                    handling_groups=groups if role == Role.SUPPORT_AGENT else None,
                )
        return created

    def _operator(self, root: OrgUnit) -> tuple[User, int]:
        spec = DEMO_ACCOUNTS[0]
        operator = User.objects.filter(username=spec.username).first()
        if operator is not None:
            return operator, 0
        operator = User.objects.create_superuser(
            username=spec.username,
            password=DEMO_PASSWORD,
            name=spec.name,
            unit=root,
            user_type=spec.user_type,
        )
        services.user_refresh_search_terms(user=operator)
        return operator, 1
