"""The API of an edit of a published article waiting for review (有待审核的修改) and of the review
queue: the actions ``ArticleViewSet`` takes from ``RevisionActions``. Thin, over knowledge.services."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from helpdesk.core.api.serializers import ErrorSerializer, validated

from .. import selectors, services
from .serializers import ArticleDetailSerializer, KBReviewQueueSerializer, KBRevisionReviewSerializer

ERROR_400 = OpenApiResponse(ErrorSerializer, description="Invalid input; `fields` holds a message per field.")
ERROR_401 = OpenApiResponse(ErrorSerializer, description="Not signed in, or the token was revoked.")
ERROR_404 = OpenApiResponse(ErrorSerializer, description="No such article, or not one you may see.")
REVIEW_RESPONSES = {200: ArticleDetailSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404}
QUEUE_MAX = 200


class RevisionActions:
    """Mixed into ArticleViewSet (``get_object`` and ``_detail`` are its)."""

    @extend_schema(
        request=KBRevisionReviewSerializer,
        responses=REVIEW_RESPONSES,
        description=(
            "A reviewer of the owning unit (not the one who made the edit) approves the pending revision "
            "`version`: the article's text becomes it, readers and the search see it from now on. 400 if "
            "a newer edit replaced that version."
        ),
    )
    @action(detail=True, methods=["post"], url_path="approve-revision", url_name="approve-revision")
    def approve_revision(self, request, pk=None):
        params = validated(KBRevisionReviewSerializer, request.data)
        article = services.revision_approve(
            user=request.user, article=self.get_object(), number=params["version"], reason=params["reason"]
        )
        return self._detail(article)

    @extend_schema(
        request=KBRevisionReviewSerializer,
        responses=REVIEW_RESPONSES,
        description=(
            "A reviewer refuses the pending revision `version` with a `reason`: the published text stays, "
            "the version is kept in the history marked rejected."
        ),
    )
    @action(detail=True, methods=["post"], url_path="reject-revision", url_name="reject-revision")
    def reject_revision(self, request, pk=None):
        params = validated(KBRevisionReviewSerializer, request.data)
        article = services.revision_reject(
            user=request.user, article=self.get_object(), number=params["version"], reason=params["reason"]
        )
        return self._detail(article)

    @extend_schema(
        responses={200: KBReviewQueueSerializer(many=True), 401: ERROR_401},
        description=(
            "What waits for your review, oldest first (at most 200): new articles (`review_kind` new) and "
            "edits of published articles (`review_kind` revision, with the `pending_revision` number)."
        ),
    )
    @action(detail=False, methods=["get"], url_path="review-queue", url_name="review-queue", pagination_class=None)
    def review_queue(self, request):
        rows = selectors.review_queue(user=request.user)[:QUEUE_MAX]
        return Response(KBReviewQueueSerializer(rows, many=True).data)
