from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from treebeard.mp_tree import MP_Node


class OrgLevel(models.IntegerChoices):
    CENTRAL = 0, _("Central")
    PROVINCE = 1, _("Province")
    PREFECTURE = 2, _("Prefecture")
    COUNTY = 3, _("County")
    SCHOOL = 4, _("School")


class OrgKind(models.TextChoices):
    EDUCATION_DEPARTMENT = "edu_dept", _("Education department")
    SCHOOL = "school", _("School")
    OTHER = "other", _("Other")


class OrgUnit(MP_Node):
    """A unit of the national education network: the ministry, a division's department, a school.

    Materialized path (treebeard ``MP_Node``): a subtree is a path prefix, ancestors are the path's
    own prefixes, so permission checks and directory queries are index range scans.
    """

    # 4 characters of base 36 per level: 1.6 million children per unit, 5 levels in 20 characters.
    steplen = 4

    # A unit's name is 名称; the plain msgid "name" is a person's (姓名).
    name = models.CharField(pgettext_lazy("org unit", "name"), max_length=100)
    code = models.CharField(_("code"), max_length=32, unique=True)
    level = models.PositiveSmallIntegerField(_("level"), choices=OrgLevel.choices, db_index=True)
    kind = models.CharField(_("kind"), max_length=16, choices=OrgKind.choices, default=OrgKind.EDUCATION_DEPARTMENT)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The name in pinyin and its initials (海淀区: haidianqu, hdq), lower-case letters and digits, kept
    # by orgtree's services: unit pickers find a unit by either through the indexes below.
    name_pinyin = models.CharField(_("name in pinyin"), max_length=300, blank=True, default="", editable=False)
    name_initials = models.CharField(_("pinyin initials"), max_length=100, blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")
        indexes = [
            # LIKE 'prefix%' (subtree) under any collation on PostgreSQL; ignored elsewhere.
            models.Index(fields=["path"], name="orgunit_path_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["depth", "path"], name="orgunit_depth_path"),
            # Unit search by name prefix, in name order.
            models.Index(fields=["name", "path"], name="orgunit_name_path"),
            # Unit search by pinyin or initials prefix, in that order.
            models.Index(fields=["name_pinyin", "path"], name="orgunit_pinyin_path"),
            models.Index(fields=["name_initials", "path"], name="orgunit_initials_path"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
