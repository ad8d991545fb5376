"""factory_boy factories. Units are created through the tree service so paths stay valid."""

from __future__ import annotations

import factory
from django.contrib.auth.hashers import make_password

from accounts import services as account_services
from accounts.models import Role, RoleAssignment, User, UserType
from orgtree import services as org_services
from orgtree.models import OrgLevel, OrgUnit

DEFAULT_PASSWORD = "Passw0rd-for-tests"
# Hashing once keeps factories fast; each user still gets a real, checkable password.
_DEFAULT_HASH = make_password(DEFAULT_PASSWORD)


def make_root(name: str = "中华人民共和国教育部", code: str = "000000") -> OrgUnit:
    existing = OrgUnit.objects.filter(code=code).first()
    return existing or org_services.unit_create_root(name=name, code=code)


def make_unit(parent: OrgUnit, name: str, code: str, level: int | None = None) -> OrgUnit:
    unit = org_services.unit_create(parent=parent, name=name, code=code, level=level)
    parent.refresh_from_db()
    return unit


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n:04d}")
    name = factory.Iterator(["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊"])
    nickname = ""
    user_type = UserType.TEACHER
    password = _DEFAULT_HASH
    unit = None

    @factory.post_generation
    def search_terms(self, create, extracted, **kwargs):
        if create:
            account_services.user_refresh_search_terms(user=self)


def grant(user: User, unit: OrgUnit, role: str = Role.UNIT_ADMIN, **extra) -> RoleAssignment:
    return RoleAssignment.objects.create(user=user, unit=unit, role=role, **extra)


class Tree:
    """A small slice of the real tree: ministry → 北京市 → 海淀区 → two schools, plus 天津市."""

    def __init__(self) -> None:
        self.root = make_root()
        self.beijing = make_unit(self.root, "北京市", "110000", OrgLevel.PROVINCE)
        self.haidian = make_unit(self.beijing, "海淀区", "110108", OrgLevel.COUNTY)
        self.school_a = make_unit(self.haidian, "海淀实验小学", "S110108001", OrgLevel.SCHOOL)
        self.school_b = make_unit(self.haidian, "海淀第一中学", "S110108002", OrgLevel.SCHOOL)
        self.tianjin = make_unit(self.root, "天津市", "120000", OrgLevel.PROVINCE)
        self.heping = make_unit(self.tianjin, "和平区", "120101", OrgLevel.COUNTY)
        self.school_tj = make_unit(self.heping, "和平小学", "S120101001", OrgLevel.SCHOOL)
        for unit in (self.root, self.beijing, self.haidian, self.tianjin, self.heping):
            unit.refresh_from_db()


def api_token(user: User, name: str = "test phone") -> str:
    """A new signed-in device of ``user`` (as a sign-in through the API makes); its access token."""
    return account_services.token_issue(user=user, name=name).key
