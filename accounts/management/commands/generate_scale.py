"""Generate schools under the counties and users in them, for demos and benchmarks.

Everything is bulk: schools go in one insert per county (under the county's row lock, so live
admins can add units at the same time), users and their search terms in batches. Every generated
user gets the same password hash, computed once: hashing a million passwords with Django's
hasher would take days. The password is ``--password`` or a random one printed at the end.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Max
from tqdm import tqdm

from accounts.models import User, UserSearchTerm, UserType
from accounts.services import generate_password, name_pinyin, search_terms_for
from helpdesk.core.commands import non_negative_int
from orgtree import services
from orgtree.models import OrgKind, OrgLevel, OrgUnit

MAX_SCHOOLS = 500_000
MAX_USERS = 1_000_000

# The most common surnames, most frequent first (weights fall off with rank, as in the census).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许邓韩冯曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任"
    "卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向"
    "常汤康易乔赖文施洪辛柯庄葛牛"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官")
# Characters common in given names; single-character given names (张伟, 王芳) are frequent too.
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏辉建文浩宇轩子涵欣怡梓博晨雨佳思嘉俊一诗婷雪"
    "琳鑫宁凯飞丹斌波健亮成林峰志海燕兰晓梅慧颖琪瑞然睿泽阳皓昊铭语可心乐悦彤萱蕾欢洁倩莉楠荣国家春秋新永"
    "振世德天云晶翔宏鸿安康益豪毅诚卓远航帆蓉婉雅馨妍琦瑶璐薇菲露"
)
SINGLE_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚华玉萍红鹏辉"

# Share of each school type among China's schools (kindergartens are the largest group).
SCHOOL_TYPES = (
    ("幼儿园", 48),
    ("小学", 30),
    ("初级中学", 11),
    ("高级中学", 3),
    ("九年一贯制学校", 4),
    ("职业高级中学", 2),
    ("特殊教育学校", 1),
    ("完全中学", 1),
)
SCHOOL_USER_TYPES = (
    (UserType.STUDENT, 55),
    (UserType.TEACHER, 25),
    (UserType.PARENT, 15),
    (UserType.STAFF, 5),
)
# Share of generated users who work at the county education departments rather than in schools.
COUNTY_STAFF_SHARE = 0.03
ACCOUNT_PREFIX = {UserType.TEACHER: "js", UserType.STUDENT: "xs", UserType.PARENT: "jz", UserType.STAFF: "gz"}

_DIGITS = "零一二三四五六七八九"
_UNITS = ("", "十", "百", "千", "万")


def chinese_number(n: int) -> str:
    """``175`` → ``一百七十五``, as schools are numbered (第一中学); Arabic digits past 99,999."""
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n % 10] if n % 10 else "")
    text = str(n)
    if len(text) > len(_UNITS):
        return text
    out: list[str] = []
    zero = False
    for i, char in enumerate(text):
        digit, position = int(char), len(text) - 1 - i
        if digit == 0:
            zero = True
            continue
        if zero and out:
            out.append("零")
        zero = False
        out.append(_DIGITS[digit] + _UNITS[position])
    return "".join(out)


@dataclass
class ScaleResult:
    schools: int = 0
    counties: int = 0
    users: Counter = field(default_factory=Counter)
    terms: int = 0


class ScaleGenerator:
    def __init__(self, *, seed: int | None, batch_size: int, password_hash: str, progress: bool = True) -> None:
        self.rng = random.Random(seed)
        self.batch_size = batch_size
        self.password_hash = password_hash
        self.progress = progress
        self.result = ScaleResult()
        self._pinyin: dict[str, tuple[str, str]] = {}
        self._surnames = list(SURNAMES) + list(COMPOUND_SURNAMES)
        self._surname_weights = [1 / (rank + 1) ** 0.9 for rank in range(len(SURNAMES))] + [0.02] * len(
            COMPOUND_SURNAMES
        )
        self._next_account = (User.objects.aggregate(top=Max("id"))["top"] or 0) + 1

    def _bar(self, total: int, desc: str) -> tqdm:
        return tqdm(total=total, desc=desc, unit=desc, file=sys.stderr, disable=not self.progress)

    # --- Schools -------------------------------------------------------------------------------
    def counties(self) -> list[OrgUnit]:
        return list(
            OrgUnit.objects.filter(level=OrgLevel.COUNTY).order_by("path").only("id", "code", "name", "numchild")
        )

    def schools(self, total: int, counties: list[OrgUnit]) -> list[int]:
        """Spread ``total`` schools evenly over ``counties``; returns the new schools' ids."""
        per_county, extra = divmod(total, len(counties))
        lucky = set(self.rng.sample(range(len(counties)), extra))
        names = [name for name, _ in SCHOOL_TYPES]
        weights = [weight for _, weight in SCHOOL_TYPES]
        ids: list[int] = []
        with self._bar(total, "school") as bar:
            for index, county in enumerate(counties):
                count = per_county + (1 if index in lucky else 0)
                if not count:
                    continue
                kinds = self.rng.choices(names, weights, k=count)
                children = [
                    OrgUnit(
                        name=f"{county.name}第{chinese_number(seq)}{kind}"[:100],
                        code=code,
                        level=OrgLevel.SCHOOL,
                        kind=OrgKind.SCHOOL,
                    )
                    for (seq, code), kind in zip(self._school_codes(county, count), kinds, strict=True)
                ]
                services.units_bulk_add_children(parent=county, children=children, batch_size=self.batch_size)
                ids.extend(child.pk for child in children)
                self.result.counties += 1
                bar.update(count)
        self.result.schools += len(ids)
        return ids

    def _school_codes(self, county: OrgUnit, count: int) -> list[tuple[int, str]]:
        # County code + a serial; serials start after the county's children so reruns add fresh codes,
        # and any code an operator already used is skipped.
        seq = county.numchild
        found: list[tuple[int, str]] = []
        while len(found) < count:
            candidates = []
            for _ in range(count - len(found)):
                seq += 1
                candidates.append((seq, f"{county.code}{seq:05d}"))
            taken = services.units_existing_codes(code for _, code in candidates)
            found.extend(pair for pair in candidates if pair[1] not in taken)
        return found

    # --- Users ---------------------------------------------------------------------------------
    def random_name(self) -> str:
        surname = self.rng.choices(self._surnames, self._surname_weights)[0]
        if self.rng.random() < 0.3:
            return surname + self.rng.choice(SINGLE_GIVEN)
        return surname + self.rng.choice(GIVEN) + self.rng.choice(GIVEN)

    def _pinyin_of(self, name: str) -> tuple[str, str]:
        cached = self._pinyin.get(name)
        if cached is None:
            cached = self._pinyin[name] = name_pinyin(name)
        return cached

    def users(self, total: int, *, school_ids: list[int], county_ids: list[int]) -> None:
        types = [t for t, _ in SCHOOL_USER_TYPES]
        weights = [w for _, w in SCHOOL_USER_TYPES]
        with self._bar(total, "user") as bar:
            done = 0
            while done < total:
                size = min(self.batch_size, total - done)
                batch: list[User] = []
                for _ in range(size):
                    if not school_ids or (county_ids and self.rng.random() < COUNTY_STAFF_SHARE):
                        unit_id, user_type = self.rng.choice(county_ids), UserType.STAFF
                    else:
                        unit_id, user_type = self.rng.choice(school_ids), self.rng.choices(types, weights)[0]
                    name = self.random_name()
                    full, initials = self._pinyin_of(name)
                    batch.append(
                        User(
                            name=name,
                            unit_id=unit_id,
                            user_type=user_type,
                            password=self.password_hash,
                            name_pinyin=full,
                            name_initials=initials,
                        )
                    )
                self._assign_accounts(batch)
                self._insert_users(batch)
                done += size
                bar.update(size)

    def _assign_accounts(self, batch: list[User]) -> None:
        pending = batch
        while pending:
            for user in pending:
                user.username = f"{ACCOUNT_PREFIX[user.user_type]}{self._next_account:07d}"
                self._next_account += 1
            taken = set(
                User.objects.filter(username__in=[u.username for u in pending]).values_list("username", flat=True)
            )
            pending = [user for user in pending if user.username in taken]

    def _insert_users(self, batch: list[User]) -> None:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                terms = self._copy_users(batch)
            else:
                User.objects.bulk_create(batch, batch_size=self.batch_size)
                rows = [UserSearchTerm(user_id=user.pk, term=term) for user in batch for term in search_terms_for(user)]
                UserSearchTerm.objects.bulk_create(rows, batch_size=self.batch_size * 4)
                terms = len(rows)
        self.result.users.update(user.user_type for user in batch)
        self.result.terms += terms

    # Columns the generator sets per user; every other column takes the model's default.
    _VARYING = ("id", "username", "name", "unit_id", "user_type", "password", "name_pinyin", "name_initials")

    def _copy_users(self, batch: list[User]) -> int:
        """PostgreSQL COPY: ten times faster than INSERT for a million rows (ids come from the sequence)."""
        user_table = connection.ops.quote_name(User._meta.db_table)
        term_table = connection.ops.quote_name(UserSearchTerm._meta.db_table)
        if not hasattr(self, "_constant_columns"):
            model = User(name="-")
            self._constant_columns = {
                f.column: f.get_db_prep_save(f.pre_save(model, add=True), connection)
                for f in User._meta.concrete_fields
                if f.column not in self._VARYING
            }
        constant_values = tuple(self._constant_columns.values())
        columns = ", ".join(connection.ops.quote_name(c) for c in (*self._VARYING, *self._constant_columns))
        terms = 0
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [User._meta.db_table, len(batch)],
            )
            for user, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                user.pk = pk
            with cursor.copy(f"COPY {user_table} ({columns}) FROM STDIN") as copy:
                for u in batch:
                    copy.write_row(
                        (
                            u.pk,
                            u.username,
                            u.name,
                            u.unit_id,
                            u.user_type,
                            u.password,
                            u.name_pinyin,
                            u.name_initials,
                            *constant_values,
                        )
                    )
            with cursor.copy(f"COPY {term_table} (user_id, term) FROM STDIN") as copy:
                for u in batch:
                    for term in search_terms_for(u):
                        copy.write_row((u.pk, term))
                        terms += 1
        return terms


def analyze_tables() -> None:
    """Fresh planner statistics after a bulk load, so the first queries already use the indexes."""
    tables = [OrgUnit._meta.db_table, User._meta.db_table, UserSearchTerm._meta.db_table]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


class Command(BaseCommand):
    help = "Generate schools under the counties and users (teachers, students, parents, staff) in bulk."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--schools", type=non_negative_int, default=0, help=f"Schools to add (max {MAX_SCHOOLS:,})."
        )
        parser.add_argument("--users", type=non_negative_int, default=0, help=f"Users to add (max {MAX_USERS:,}).")
        parser.add_argument("--batch-size", type=int, default=5000, help="Rows per insert batch.")
        parser.add_argument("--seed", type=int, default=None, help="Random seed for names and placement.")
        parser.add_argument("--password", default=None, help="Password of every generated user (default: random).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw progress bars.")

    def handle(self, *args, **options) -> None:
        schools, users = options["schools"], options["users"]
        if schools > MAX_SCHOOLS:
            raise CommandError(f"--schools is at most {MAX_SCHOOLS:,} per run.")
        if users > MAX_USERS:
            raise CommandError(f"--users is at most {MAX_USERS:,} per run.")
        if not 1 <= options["batch_size"] <= 100_000:
            raise CommandError("--batch-size must be between 1 and 100,000.")
        if not schools and not users:
            raise CommandError("Nothing to do: give --schools and/or --users.")

        password = options["password"] or generate_password()
        generator = ScaleGenerator(
            seed=options["seed"],
            batch_size=options["batch_size"],
            password_hash=make_password(password),
            progress=not options["no_progress"],
        )
        counties = generator.counties()
        if not counties:
            raise CommandError("There are no counties to put schools in: run `manage.py load_divisions` first.")

        school_ids = generator.schools(schools, counties) if schools else []
        if users:
            if not school_ids:
                # Users only: place them in the schools that exist already.
                school_ids = list(OrgUnit.objects.filter(level=OrgLevel.SCHOOL).values_list("id", flat=True))
            generator.users(users, school_ids=school_ids, county_ids=[county.pk for county in counties])
        if connection.vendor == "postgresql":
            analyze_tables()

        result = generator.result
        self.stdout.write(self.style.SUCCESS(f"Created {result.schools} schools under {result.counties} counties."))
        if users:
            by_type = ", ".join(f"{result.users[t]} {t}" for t in UserType.values if result.users[t])
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created {sum(result.users.values())} users ({by_type}); {result.terms} search terms."
                )
            )
            if options["password"]:
                self.stdout.write("Every generated user has the password given by --password.")
            else:
                self.stdout.write(f"Every generated user has the password: {password}")
