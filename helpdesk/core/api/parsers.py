"""Request body parsers of the API.

``JSONParser`` is DRF's, with one difference: a body nested too deeply for Python's JSON decoder
(``[`` × 10,000 is 10 kB, far inside the upload limit) is a 400 like any other malformed JSON.
The decoder recurses once per level and stops with a RecursionError near the interpreter's limit
(about a thousand levels), which DRF does not catch (it catches ValueError only): the client got
a 500. No request of the API nests more than a few levels, so nothing valid is refused.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(_("JSON parse error - the body is nested too deeply.")) from exc


class MultiPartParser(parsers.MultiPartParser):
    """DRF's, except that a body that holds no part at all is a 400.

    Django's parser skips whatever comes before the first boundary, so a body of garbage (or of
    a lone closing boundary) parsed as an empty form and ``PATCH /me/`` answered 200 having
    changed nothing (schemathesis: "schema-violating request accepted"). An empty body never
    reaches a parser (DRF answers it as no data), so this refuses only bodies that say nothing.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        if not result.data and not result.files:
            raise ParseError(_("Multipart form parse error - the body holds no field."))
        return result
