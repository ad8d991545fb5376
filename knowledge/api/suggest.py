"""Suggestions while a question is typed (问题咨询) and 这解决了我的问题, over the API: thin views over
knowledge.search and knowledge.services.self_service."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.core.api.serializers import ErrorSerializer, StrictSerializer

from .. import search
from ..models import Article
from ..services.self_service import QUESTION_MAX, article_solved_my_problem

TEXT_MAX = 2000


class SuggestQuerySerializer(StrictSerializer):
    q = serializers.CharField(
        max_length=TEXT_MAX, help_text=_("The question so far: its title and description, as typed.")
    )
    limit = serializers.IntegerField(min_value=1, max_value=10, required=False, default=5)


class SuggestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    score = serializers.FloatField()
    title_html = serializers.CharField(help_text=_("Escaped; the matched words in <mark>."))
    snippet_html = serializers.CharField(help_text=_("Escaped; the matched words in <mark>."))


class SuggestionListSerializer(serializers.Serializer):
    results = SuggestionSerializer(many=True)


class SolvedSerializer(StrictSerializer):
    question = serializers.CharField(max_length=QUESTION_MAX, required=False, allow_blank=True, default="")


class SolvedResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    article = serializers.IntegerField()


ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; `fields` holds a message per field."),
    401: OpenApiResponse(ErrorSerializer, description="Not signed in, or the token was revoked."),
}


class SuggestionsView(APIView):
    @extend_schema(
        parameters=[SuggestQuerySerializer],
        responses={200: SuggestionListSerializer, **ERRORS},
        description=(
            "While a question is typed (问题咨询): the published articles you may read that best answer it, "
            "best first (at most `limit`, default 5). Send the title and description typed so far."
        ),
    )
    def get(self, request):
        serializer = SuggestQuerySerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        params = serializer.validated_data
        hits = search.suggest_articles(request.user, params["q"], limit=params["limit"])
        rows = [
            {
                "id": hit.article.pk,
                "title": hit.article.title,
                "score": hit.score,
                "title_html": hit.title_html,
                "snippet_html": hit.snippet_html,
            }
            for hit in hits
        ]
        return Response({"results": rows})


class SolvedView(APIView):
    @extend_schema(
        request=SolvedSerializer,
        responses={
            201: SolvedResultSerializer,
            **ERRORS,
            404: OpenApiResponse(ErrorSerializer, description="No such article, or not one you may read."),
        },
        description=(
            "这解决了我的问题: this article answered the question you were typing; no ticket is filed. "
            "Counted in the reports. A second press within 10 minutes counts once."
        ),
    )
    def post(self, request, pk: int):
        serializer = SolvedSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            solved = article_solved_my_problem(
                user=request.user, article_id=pk, question=serializer.validated_data["question"]
            )
        except Article.DoesNotExist:
            raise Http404 from None
        return Response({"id": solved.pk, "article": solved.article_id}, status=status.HTTP_201_CREATED)
