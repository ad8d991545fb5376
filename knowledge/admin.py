"""The back office of the knowledge base: the category tree and tags are edited here; articles are
read here and archived through the service (their text, review and versions belong to the portal's
workflow, which keeps the versions and the search index in step)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Article, ArticleReview, ArticleVersion, Category, Tag


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "order")
    list_editable = ("order",)
    search_fields = ("name",)
    list_filter = (("parent", admin.RelatedOnlyFieldListFilter),)
    ordering = ("parent__id", "order", "id")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


class VersionInline(admin.TabularInline):
    model = ArticleVersion
    # status: saved, waiting for review, approved, rejected (with the reviewer's reason) or superseded.
    fields = ("number", "status", "title", "author", "note", "created_at", "reviewed_by", "review_reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-number",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ReviewInline(admin.TabularInline):
    model = ArticleReview
    fields = ("version", "decision", "reviewer", "reason", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "state", "unit", "scope_unit", "category", "views", "helpful_count", "published_at")
    list_filter = ("state", ("category", admin.RelatedOnlyFieldListFilter))
    search_fields = ("title", "unit__name")
    list_select_related = ("unit", "scope_unit", "category")
    readonly_fields = (
        "title",
        "state",
        "category",
        "unit",
        "scope_unit",
        "author",
        "source_ticket",
        "version",
        "pending_revision",
        "views",
        "helpful_count",
        "not_helpful_count",
        "problem",
        "steps",
        "solution",
        "ticket_types",
        "published_at",
        "updated_at",
    )
    exclude = ("tags",)
    inlines = (ReviewInline, VersionInline)
    actions = ("archive",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Archive the selected articles"))
    def archive(self, request, queryset):
        done = 0
        for article in queryset:
            try:
                services.article_archive(user=request.user, article=article)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{article.title}: {'; '.join(exc.messages)}", messages.ERROR)
        if done:
            self.message_user(request, gettext("%(count)d articles archived.") % {"count": done})
