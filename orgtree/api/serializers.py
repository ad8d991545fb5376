"""API shapes of the org tree (the unit directory, manual 2.3.4)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import OrgUnit

SEARCH_MAX = OrgUnit._meta.get_field("name").max_length


class UnitSerializer(serializers.ModelSerializer):
    level_display = serializers.CharField(source="get_level_display", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    has_children = serializers.SerializerMethodField()
    parent = serializers.SerializerMethodField()

    class Meta:
        model = OrgUnit
        fields = (
            "id",
            "name",
            "code",
            "level",
            "level_display",
            "kind",
            "kind_display",
            "has_children",
            "parent",
        )
        read_only_fields = fields

    def get_has_children(self, unit: OrgUnit) -> bool:
        return unit.numchild > 0

    def get_parent(self, unit: OrgUnit) -> int | None:
        """Id of the parent unit; null for a root."""
        return getattr(unit, "parent_pk", None)


class UnitChainSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrgUnit
        fields = ("id", "name", "code", "level")
        read_only_fields = fields


class UnitDetailSerializer(UnitSerializer):
    ancestors = serializers.SerializerMethodField(
        help_text=_("From the root down to the parent; empty for a root."),
    )

    class Meta(UnitSerializer.Meta):
        fields = (*UnitSerializer.Meta.fields, "ancestors")
        read_only_fields = fields

    @extend_schema_field(UnitChainSerializer(many=True))
    def get_ancestors(self, unit: OrgUnit) -> list[dict]:
        return UnitChainSerializer(self.context.get("ancestors", []), many=True).data


class UnitQuerySerializer(serializers.Serializer):
    parent = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=_("Children of this unit (lazy expansion of the tree). Not together with `search` (a 400)."),
    )
    search = serializers.CharField(
        required=False,
        max_length=SEARCH_MAX,
        help_text=_(
            "Start of a unit's name, of its code when digits only, or of its pinyin or pinyin initials "
            "when Latin letters only (海淀区: haidian, hdq); searches the whole tree. "
            "Not together with `parent` (a 400): a search is not limited to one unit's children."
        ),
        error_messages={"blank": _("Enter a search term.")},
    )

    def validate(self, attrs):
        # A search walks its own index over the whole tree, in its own order; within one parent
        # it would be a different query (and page order) that no screen needs, so it is refused
        # rather than silently ignoring one of the two.
        if "parent" in attrs and "search" in attrs:
            raise serializers.ValidationError(
                {"search": [_("A search covers the whole tree; send either parent or search, not both.")]}
            )
        return attrs


class UnitRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrgUnit
        fields = ("id", "name")
        read_only_fields = fields
