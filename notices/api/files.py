"""A notice's files over the API: list, add (drafts), remove, download (404 outside the audience)."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, renderers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from helpdesk.core.api.serializers import validated
from helpdesk.core.files import attachment_response

from .. import selectors, services
from .common import DOWNLOAD_RESPONSES, ERROR_400, ERROR_401, ERROR_404
from .renderers import PassthroughRenderer
from .serializers import NoticeAttachmentSerializer, NoticeUploadSerializer


class NoticeFilesMixin:
    @extend_schema(
        methods=["GET"], responses={200: NoticeAttachmentSerializer(many=True), 401: ERROR_401, 404: ERROR_404}
    )
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": NoticeUploadSerializer},
        responses={201: NoticeAttachmentSerializer, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404},
        description="Add a file to a draft (images, PDF, Office documents, text, zip; checked by content).",
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser], pagination_class=None)
    def attachments(self, request, pk=None):
        notice = self.get_object()
        if request.method == "POST":
            params = validated(NoticeUploadSerializer, request.data)
            attachment = services.attachment_add(user=request.user, notice=notice, upload=params["file"])
            return Response(NoticeAttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)
        files = selectors.attachments(notice=notice)
        return Response(NoticeAttachmentSerializer(files, many=True, context={"notice": notice}).data)

    @extend_schema(responses={204: None, 400: ERROR_400, 401: ERROR_401, 404: ERROR_404}, description="Remove a file.")
    @action(
        detail=True,
        methods=["delete"],
        url_path="attachments/<int:attachment_id>",
        url_name="attachment-detail",
        pagination_class=None,
    )
    def attachment_delete(self, request, pk=None, attachment_id=None):
        attachment = selectors.attachment_get(user=request.user, notice_id=pk, pk=attachment_id)
        if attachment.notice_id != int(pk):
            raise exceptions.ValidationError({"file": [_("This file belongs to the original notice.")]})
        services.attachment_delete(user=request.user, attachment=attachment)
        return Response(status=status.HTTP_204_NO_CONTENT)

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
            attachment = selectors.attachment_get(user=request.user, notice_id=pk, pk=attachment_id)
        except Http404:
            raise exceptions.NotFound() from None
        return attachment_response(attachment)
