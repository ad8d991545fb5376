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
