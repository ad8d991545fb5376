"""Chinese word search for any app's text: the tokenizer and the filter over a search table.

Chinese is written without spaces, so there are no words for a full-text index to find. We index
overlapping character pairs (bigrams) of every run of Chinese characters, as Lucene's CJK analyzer
does, plus the run's last character; other scripts are indexed as whole words. A query is cut the
same way and must match every pair, so 电源键 finds 请长按电源键 whatever a dictionary would have
made of either (a word segmenter such as jieba cuts 请长按电源键 as 请长/按/电源/键 and then misses
长按 and 电源键). A single character is a prefix match over the pairs it starts, plus the run ends.

An app keeps the pieces (``search_text_for``) space-separated in a ``text`` column of a search table
of its own, one row per searched row, and passes that table and its key column to
``filter_by_words``. PostgreSQL matches them through a GIN full-text index on
``to_tsvector('simple'::regconfig, text)`` (config 'simple': no stemming) that the app's migration
creates; SQLite, the embedded default, falls back to a substring match on the same text.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _
from pypinyin import Style, lazy_pinyin

_CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A run of Chinese characters, or a run of other letters and digits.
_PIECE = re.compile(rf"[{_CJK_CHARS}]+|[^\W{_CJK_CHARS}_]+")
_CJK_RUN = re.compile(rf"[{_CJK_CHARS}]+")
MAX_QUERY_TERMS = 16
# What a form or the API says on ``q`` when it holds no word (has_words).
NO_SEARCH_WORDS = _("Search for words: letters, digits or Chinese characters, not only symbols or emoji.")


def _pieces(text: str) -> list[str]:
    return _PIECE.findall((text or "").lower())


def search_text_for(*parts: str) -> str:
    """The searchable pieces of a row's fields, space-separated, each once."""
    seen: dict[str, None] = {}
    for piece in _pieces(" ".join(part for part in parts if part)):
        if _CJK_RUN.fullmatch(piece) and len(piece) > 1:
            for index in range(len(piece) - 1):
                seen.setdefault(piece[index : index + 2], None)
            seen.setdefault(piece[-1], None)
        else:
            seen.setdefault(piece, None)
    return " ".join(seen)


def query_terms(query: str) -> list[tuple[str, bool]]:
    """(term, is_prefix) pairs that a row must all match: the pairs of each Chinese run, and single
    characters and other words as prefixes. Terms are letters and digits only: no LIKE wildcard and
    no tsquery syntax can come in through them."""
    terms: dict[tuple[str, bool], None] = {}
    for piece in _pieces(query):
        if _CJK_RUN.fullmatch(piece) and len(piece) > 1:
            for index in range(len(piece) - 1):
                terms.setdefault((piece[index : index + 2], False), None)
        else:
            terms.setdefault((piece, True), None)
    return list(terms)[:MAX_QUERY_TERMS]


def has_words(query: str) -> bool:
    """Whether ``query`` holds anything searchable (letters, digits, Chinese characters). A query of
    only emoji, punctuation or symbols has no word to match: forms and the API refuse it on ``q``."""
    return bool(query_terms(query))


def filter_by_words(queryset: QuerySet, query: str, *, table: str, key: str, narrow: bool = False) -> QuerySet:
    """Rows of ``queryset`` whose text in the search table ``table`` (``key``: its column holding the
    searched row's primary key; ``text``: the pieces) contains every word of ``query``.

    ``narrow``: the queryset is already limited to a few thousand rows at most (an asker's own
    tickets, a county's), so on PostgreSQL each of those rows' words is checked directly. The
    full-text index would first collect every row in the country holding a common word (投影仪:
    78,000 tickets of a million) and only then apply the scope: 31 ms at the median but 400 ms at p95
    for busy counties.
    """
    terms = query_terms(query)
    if not terms:
        # Words were asked for but none can match (emoji, punctuation): nothing matches them. Ignoring
        # the filter would answer every row in the scope, the opposite of what was asked.
        return queryset if not (query or "").strip() else queryset.none()
    quote = connection.ops.quote_name
    search_table, search_key = quote(table), quote(key)
    if connection.vendor == "postgresql":
        if narrow:
            meta = queryset.model._meta
            outer = f"{quote(meta.db_table)}.{quote(meta.pk.column)}"
            # Pieces are space-separated and carry no LIKE wildcards (letters and digits only).
            patterns = [f"% {term}%" if prefix else f"% {term} %" for term, prefix in terms]
            condition = " AND ".join(["(' ' || s.text || ' ') LIKE %s"] * len(patterns))
            return queryset.filter(
                pk__in=RawSQL(  # noqa: S611 - identifiers come from model metadata; the patterns are parameters
                    f"SELECT s.{search_key} FROM {search_table} s "  # noqa: S608 - placeholders only
                    f"WHERE s.{search_key} = {outer} AND {condition}",
                    patterns,
                )
            )
        # Terms are runs of letters and digits, so they carry no tsquery syntax; quoted anyway.
        tsquery = " & ".join(f"'{term}'{':*' if prefix else ''}" for term, prefix in terms)
        return queryset.filter(
            pk__in=RawSQL(  # noqa: S611 - identifiers come from model metadata; the query is a parameter
                f"SELECT {search_key} FROM {search_table} "  # noqa: S608 - placeholders only
                "WHERE to_tsvector('simple'::regconfig, text) @@ to_tsquery('simple'::regconfig, %s)",
                [tsquery],
            )
        )
    # The text and the terms are lower case, and terms hold no wildcard: a plain substring match.
    condition = " AND ".join(["text LIKE %s"] * len(terms))
    return queryset.filter(
        pk__in=RawSQL(  # noqa: S611 - identifiers come from model metadata; the patterns are parameters
            f"SELECT {search_key} FROM {search_table} WHERE {condition}",  # noqa: S608 - placeholders only
            [f"%{term}%" for term, _prefix in terms],
        )
    )


_NOT_PINYIN = re.compile(r"[^a-z0-9]+")


def pinyin_and_initials(text: str) -> tuple[str, str]:
    """``海淀区实验中学`` → ``("haidianqushiyanzhongxue", "hdqsyzx")``: the pinyin without tones and
    its initials, lower-case letters and digits only (brackets, dots and spaces dropped, other
    letters and digits kept as they are), so that a prefix match on either is a plain range."""
    pieces = [_NOT_PINYIN.sub("", piece.lower()) for piece in lazy_pinyin(text or "", style=Style.NORMAL)]
    pieces = [piece for piece in pieces if piece]
    return "".join(pieces), "".join(piece[0] for piece in pieces)
