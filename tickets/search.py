"""Chinese word search over tickets. Chinese is written without spaces, so title, description and
answer are cut into words by jieba (its search mode also yields the shorter words inside long ones,
so 投影仪 is found by 投影) and stored space-separated in ``Ticket.search_text``. PostgreSQL matches
them through a GIN full-text index (config 'simple': no stemming, which Chinese does not need);
SQLite, the embedded default, falls back to a substring match on the same words."""

from __future__ import annotations

import logging
import re

import jieba
from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

jieba.setLogLevel(logging.WARNING)

# Words are runs of letters and digits (any script); jieba's punctuation and spaces are dropped.
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_WORDS = 8


def _words(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for token in jieba.cut_for_search(text or ""):
        for word in _WORD.findall(token.lower()):
            seen.setdefault(word, None)
    return list(seen)


def search_text_for(*parts: str) -> str:
    """The words of a ticket's searchable fields, space-separated, each once."""
    return " ".join(_words(" ".join(part for part in parts if part)))


def query_words(query: str) -> list[str]:
    """The words of what a user typed. A phrase is cut like the tickets were, so 投影仪无法开机 finds a
    ticket saying 投影仪…无法开机; only the longest cut of each run is kept, so every word must match."""
    words: dict[str, None] = {}
    for token in jieba.cut(query or ""):
        for word in _WORD.findall(token.lower()):
            words.setdefault(word, None)
    return list(words)[:MAX_QUERY_WORDS]


def filter_by_words(queryset: QuerySet, query: str) -> QuerySet:
    """Tickets whose searchable words include every word of ``query``."""
    words = query_words(query)
    if not words:
        return queryset
    if connection.vendor == "postgresql":
        # \w+ words carry no tsquery operators or quotes; each is quoted as one lexeme anyway.
        tsquery = " & ".join(f"'{word}'" for word in words)
        return queryset.filter(
            RawSQL(
                'to_tsvector(\'simple\'::regconfig, "tickets_ticket"."search_text") '
                "@@ to_tsquery('simple'::regconfig, %s)",
                [tsquery],
                output_field=BooleanField(),
            )
        )
    for word in words:
        queryset = queryset.filter(search_text__contains=word)
    return queryset
