from django.contrib import admin
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from .models import OrgUnit


@admin.register(OrgUnit)
class OrgUnitAdmin(TreeAdmin):
    form = movenodeform_factory(OrgUnit)
    list_display = ("name", "code", "level", "kind", "numchild")
    list_filter = ("level", "kind")
    search_fields = ("name", "code")
    # The admin shows the tree page by page; a full changelist of 500,000 schools is not loaded at once.
    list_per_page = 100
