"""知识库 over the API: thin views over knowledge.selectors and knowledge.services."""

from __future__ import annotations

import json

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from helpdesk.core.api.delta import DeltaPagination, SyncTokenPagination
from helpdesk.core.api.serializers import ErrorSerializer, validated
from helpdesk.core.files import attachment_response
from orgtree.models import OrgUnit

from .. import search, selectors, services
from ..models import Article, ArticleVote, Category, Tag
from ..services.attachments import ALLOWED_EXTENSIONS
from .revisions import RevisionActions
from .serializers import (
    ArticleDetailSerializer,
    ArticleFromTicketSerializer,
    ArticleListSerializer,
    ArticleQuerySerializer,
    ArticleWriteSerializer,
    KBAttachmentSerializer,
    KBAttachmentUploadSerializer,
    KBCategorySerializer,
    KBEmptySerializer,
    KBReasonSerializer,
    KBRestoreSerializer,
    KBSearchHitSerializer,
    KBVersionDetailSerializer,
    KBVersionSerializer,
    KBVoteSerializer,
)

ERROR_400 = OpenApiResponse(ErrorSerializer, description="Invalid input; `fields` holds a message per field.")
ERROR_401 = OpenApiResponse(ErrorSerializer, description="Not signed in, or the token was revoked.")
ERROR_404 = OpenApiResponse(ErrorSerializer, description="No such article, or not one you may see.")
ERROR_410 = OpenApiResponse(
    ErrorSerializer, description="`resync_required`: `updated_after` is too old or what you may see changed."
)
DETAIL_RESPONSES = {200: ArticleDetailSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404}
DOWNLOAD_RESPONSES = {
    (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")
    for content_type in sorted({kind.content_type for kind in ALLOWED_EXTENSIONS.values()})
}


class ArticlePagination(SyncTokenPagination):
    page_size = 20
    max_page_size = 100


class PassthroughRenderer(renderers.BaseRenderer):
    """A download answers whatever the client accepts; errors on that path still go out as JSON."""

    media_type = "*/*"
    format = "file"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | str):
            return data
        return json.dumps(data, ensure_ascii=False).encode()


def _object(model, pk, field: str, message: str):
    if pk is None:
        return None
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise exceptions.ValidationError({field: [message]})
    return found


def _input(params: dict, *, article: Article | None = None) -> services.ArticleInput:
    changes = {
        name: params[name]
        for name in ("title", "problem", "steps", "solution", "tags", "ticket_types", "note")
        if name in params
    }
    if "category" in params:
        changes["category"] = _object(Category, params["category"], "category", _("No such category."))
    if "scope_unit" in params:
        changes["scope_unit"] = _object(OrgUnit, params["scope_unit"], "scope_unit", _("No such unit."))
    if article is not None:
        return services.ArticleInput.from_article(article, **changes)
    return services.ArticleInput(**changes)


class CategoryViewSet(GenericViewSet):
    """The category tree (flat, parents by id, in display order)."""

    serializer_class = KBCategorySerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.categories()

    @extend_schema(responses={200: KBCategorySerializer(many=True), 401: ERROR_401})
    def list(self, request):
        return Response(KBCategorySerializer(selectors.categories(), many=True).data)


class ArticleViewSet(RevisionActions, GenericViewSet):
    """知识库 (manual 2.4.6): read, search, write, review, version and vote on articles."""

    serializer_class = ArticleListSerializer
    pagination_class = ArticlePagination
    lookup_value_converter = "int"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Article.objects.none()
        return selectors.visible_articles(user=self.request.user)

    def get_object(self) -> Article:
        return selectors.article_get(user=self.request.user, pk=self.kwargs["pk"])

    def _detail(self, article: Article, *, status_code: int = status.HTTP_200_OK) -> Response:
        user = self.request.user
        article = selectors.article_get(user=user, pk=article.pk)
        source = None
        if selectors.source_ticket_visible(user=user, article=article):
            source = {"id": article.source_ticket_id, "number": article.source_ticket.number}
        vote = ArticleVote.objects.filter(article=article, user=user).values_list("helpful", flat=True).first()
        context = {
            "capabilities": selectors.article_capabilities(user=user, article=article),
            "source_ticket": source,
            "my_vote": vote,
            "pending_revision": selectors.pending_revision(user=user, article=article),
            "possible_duplicates": selectors.possible_duplicates(user=user, article=article),
            "last_review": article.reviews.select_related("reviewer").first()
            if selectors.is_editor_of(user, article) or selectors.is_reviewer_of(user, article)
            else None,
        }
        return Response(ArticleDetailSerializer(article, context=context).data, status=status_code)

    @extend_schema(
        parameters=[ArticleQuerySerializer],
        responses={
            200: ArticleListSerializer(many=True),
            400: ERROR_400,
            401: ERROR_401,
            404: OpenApiResponse(ErrorSerializer, description="A `cursor` this list did not hand out."),
            410: ERROR_410,
        },
        description=(
            "Published articles whose scope covers you, newest first (`sort`: newest, views, helpful), filtered "
            "by category (with its subcategories), tag and owning unit (its subtree). With `article_state`, the "
            "articles you edit or review in that state instead (new articles waiting for review: "
            "`article_state=pending_review`; with edits of published articles: `review-queue/`).\n\n"
            "`search`: the best matches first (relevance; `sort` ignored), each with `score`, `title_html` and "
            "`snippet_html` (escaped, matched words in `<mark>`), one page of at most 50, no `sync_token`.\n\n"
            "Delta sync: send a page's `sync_token` back as `updated_after` (no other parameter) for the articles "
            "changed since, and in `removed` the ids to drop (archived, or scoped away from you)."
        ),
    )
    def list(self, request):
        params = validated(ArticleQuerySerializer, request.query_params.dict())
        user = request.user
        updated_after = params.pop("updated_after", None)
        if updated_after is not None:
            if params:
                raise exceptions.ValidationError(
                    {"updated_after": [_("A delta syncs the whole list, without filters.")]}
                )
            paginator = DeltaPagination(
                page_size=ArticlePagination.page_size, max_page_size=ArticlePagination.max_page_size
            )
            source = selectors.article_delta_source(user=user)
            page = paginator.paginate(
                request,
                source,
                after=updated_after,
                shape=lambda rows: rows.select_related("category", "unit", "scope_unit"),
            )
            return paginator.response(page, ArticleListSerializer(page.rows, many=True).data)
        category = _object(Category, params.get("category"), "category", _("No such category."))
        unit = _object(OrgUnit, params.get("unit"), "unit", _("No such unit."))
        tag = None
        if "tag" in params:
            tag = Tag.objects.filter(name=params["tag"]).first()
            if tag is None:
                raise exceptions.ValidationError({"tag": [_("No such tag.")]})
        if "ticket" in params:
            if len(params) > 1:
                raise exceptions.ValidationError(
                    {"ticket": [_("A ticket's articles are listed without other filters.")]}
                )
            self.sync_supported = False
            self.keyset_ordering = ("-id",)
            made = selectors.articles_from_ticket(user=user, ticket_id=params["ticket"])
            page = self.paginate_queryset(made)
            return self.get_paginated_response(ArticleListSerializer(page, many=True).data)
        state = params.get("article_state")
        articles = selectors.article_list(
            user=user,
            sort=params.get("sort", "newest"),
            category=category,
            tag=tag,
            unit=unit,
            states=[state] if state else None,
        )
        if "search" in params:
            hits = search.search_articles(articles, params["search"])
            rows = []
            for hit in hits:
                row = dict(KBSearchHitSerializer(hit.article).data)
                row.update(score=hit.score, title_html=hit.title_html, snippet_html=hit.snippet_html)
                rows.append(row)
            return Response({"next": None, "previous": None, "results": rows, "removed": [], "sync_token": None})
        if state:
            self.keyset_ordering = ("-updated_at", "-id")
            articles = articles.order_by("-updated_at", "-id")
            self.sync_supported = False
        page = self.paginate_queryset(articles)
        return self.get_paginated_response(ArticleListSerializer(page, many=True).data)

    @extend_schema(
        request=ArticleWriteSerializer,
        responses={201: ArticleDetailSerializer, 400: ERROR_400, 401: ERROR_401},
        description="Write a new article (a draft of `unit`, which you write for; version 1).",
    )
    def create(self, request):
        params = validated(ArticleWriteSerializer, request.data)
        units = selectors.author_units(user=request.user)
        if "unit" in params:
            owner = _object(OrgUnit, params["unit"], "unit", _("No such unit."))
        elif units:
            owner = units[0]
        else:
            raise exceptions.ValidationError({"unit": [_("You cannot write articles for any unit.")]})
        article = services.article_create(user=request.user, owner=owner, data=_input(params))
        return self._detail(article, status_code=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ArticleDetailSerializer, 401: ERROR_401, 404: ERROR_404})
    def retrieve(self, request, pk=None):
        article = self.get_object()
        services.article_count_view(user=request.user, article=article)
        return self._detail(article)

    @extend_schema(
        request=ArticleWriteSerializer,
        responses=DETAIL_RESPONSES,
        description=(
            "Change the text (only the fields sent, over the latest text: an edit waiting for review when there "
            "is one); every save is a new version, earlier ones kept. On a published article the save is a "
            "revision waiting for review (`pending_revision`): readers and the search keep the published text "
            "until a reviewer approves it."
        ),
    )
    def partial_update(self, request, pk=None):
        article = self.get_object()
        serializer = ArticleWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        params = {name: value for name, value in serializer.validated_data.items() if name in request.data}
        if "unit" in params:
            raise exceptions.ValidationError({"unit": [_("The owning unit does not change.")]})
        article = services.article_update(user=request.user, article=article, data=_input(params, article=article))
        return self._detail(article)

    @extend_schema(
        request=ArticleFromTicketSerializer,
        responses={201: ArticleDetailSerializer, 400: ERROR_400, 401: ERROR_401},
        description=(
            "收录为知识: a draft from a resolved ticket you support (title and problem from the question, "
            "solution from the approved answer), linked to it both ways."
        ),
    )
    @action(detail=False, methods=["post"], url_path="from-ticket")
    def from_ticket(self, request):
        params = validated(ArticleFromTicketSerializer, request.data)
        article = services.article_from_ticket(user=request.user, ticket_id=params["ticket"])
        return self._detail(article, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=KBEmptySerializer, responses=DETAIL_RESPONSES, description="草稿 → 待审核.")
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        validated(KBEmptySerializer, request.data)
        return self._detail(services.article_submit(user=request.user, article=self.get_object()))

    @extend_schema(request=KBReasonSerializer, responses=DETAIL_RESPONSES, description="A reviewer publishes it.")
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        params = validated(KBReasonSerializer, request.data)
        return self._detail(
            services.article_approve(user=request.user, article=self.get_object(), reason=params["reason"])
        )

    @extend_schema(
        request=KBReasonSerializer, responses=DETAIL_RESPONSES, description="A reviewer sends it back with a reason."
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        params = validated(KBReasonSerializer, request.data)
        return self._detail(
            services.article_reject(user=request.user, article=self.get_object(), reason=params["reason"])
        )

    @extend_schema(request=KBEmptySerializer, responses=DETAIL_RESPONSES, description="Out of publication for good.")
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        validated(KBEmptySerializer, request.data)
        return self._detail(services.article_archive(user=request.user, article=self.get_object()))

    @extend_schema(
        request=KBVoteSerializer, responses=DETAIL_RESPONSES, description="有帮助 / 没帮助; again to change."
    )
    @action(detail=True, methods=["post"])
    def vote(self, request, pk=None):
        params = validated(KBVoteSerializer, request.data)
        return self._detail(
            services.article_vote(user=request.user, article=self.get_object(), helpful=params["helpful"])
        )

    @extend_schema(
        request=KBRestoreSerializer,
        responses=DETAIL_RESPONSES,
        description=(
            "Bring a version's text back as a new version (on a published article, a revision waiting for review)."
        ),
    )
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        params = validated(KBRestoreSerializer, request.data)
        return self._detail(
            services.article_restore(user=request.user, article=self.get_object(), number=params["version"])
        )

    @extend_schema(responses={200: KBVersionSerializer(many=True), 401: ERROR_401, 404: ERROR_404})
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, pk=None):
        versions = selectors.article_versions(user=request.user, article=self.get_object())
        return Response(KBVersionSerializer(versions, many=True).data)

    @extend_schema(responses={200: KBVersionDetailSerializer, 401: ERROR_401, 404: ERROR_404})
    @action(detail=True, methods=["get"], url_path="versions/<int:number>", url_name="version", pagination_class=None)
    def version(self, request, pk=None, number=None):
        article = self.get_object()
        version = selectors.article_version_get(user=request.user, article=article, number=number)
        before = selectors.version_before(article=article, version=version)
        context = {"diff": services.version_diff_html(before, version)}
        return Response(KBVersionDetailSerializer(version, context=context).data)

    @extend_schema(methods=["GET"], responses={200: KBAttachmentSerializer(many=True), 401: ERROR_401, 404: ERROR_404})
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": KBAttachmentUploadSerializer},
        responses={201: KBAttachmentSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description="Add a file (images, PDF, Office documents, text, zip; checked by content).",
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser], pagination_class=None)
    def attachments(self, request, pk=None):
        article = self.get_object()
        if request.method == "POST":
            params = validated(KBAttachmentUploadSerializer, request.data)
            attachment = services.attachment_add(user=request.user, article=article, upload=params["file"])
            return Response(KBAttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)
        return Response(
            KBAttachmentSerializer(selectors.article_attachments(user=request.user, article=article), many=True).data
        )

    @extend_schema(responses={**DOWNLOAD_RESPONSES, 401: ERROR_401, 404: ERROR_404})
    @action(
        detail=True,
        methods=["get"],
        url_path="attachments/<int:attachment_id>/download",
        url_name="attachment-download",
        renderer_classes=[renderers.JSONRenderer, PassthroughRenderer],
        pagination_class=None,
    )
    def attachment_download(self, request, pk=None, attachment_id=None):
        try:
            attachment = selectors.attachment_get(user=request.user, article_id=pk, pk=attachment_id)
        except Http404:
            raise exceptions.NotFound() from None
        return attachment_response(attachment)
