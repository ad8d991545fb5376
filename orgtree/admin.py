from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from treebeard.admin import TreeAdmin
from treebeard.forms import MoveNodeForm, movenodeform_factory

from . import services
from .models import OrgUnit


class OrgUnitForm(MoveNodeForm):
    def _post_clean(self) -> None:
        super()._post_clean()
        # A unit added or renamed here is found by its pinyin like any other.
        services.unit_set_pinyin(self.instance)


@admin.register(OrgUnit)
class OrgUnitAdmin(TreeAdmin):
    form = movenodeform_factory(OrgUnit, form=OrgUnitForm)
    list_display = ("name", "code", "level", "kind", "subunits")
    list_filter = ("level", "kind")
    search_fields = ("name", "code", "name_pinyin", "name_initials")
    # The admin shows the tree page by page; a full changelist of 500,000 schools is not loaded at once.
    list_per_page = 100

    @admin.display(description=_("sub-units"), ordering="numchild")
    def subunits(self, unit: OrgUnit) -> int:
        # treebeard's numchild column has no name of its own ("Numchild").
        return unit.numchild
