"""Every raw SQL statement of the knowledge base's search index, in one place. Table names come from
each model's ``_meta.db_table``; every value is a bound parameter (query terms included).

The scoring statement is one text for PostgreSQL and SQLite: plain arithmetic over the postings with
the constants (IDF, BM25's k1 and b, average lengths) computed in Python and cast to double
precision, so both databases compute the same scores in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Model, QuerySet

from .models import ArticleSearchDoc, ArticleSearchStats, ArticleSearchTerm, ArticleSearchTermStat


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


POSTINGS, DOCS, TERMS, STATS = (
    _table(ArticleSearchTerm),
    _table(ArticleSearchDoc),
    _table(ArticleSearchTermStat),
    _table(ArticleSearchStats),
)
_FLOAT = "CAST(%s AS DOUBLE PRECISION)"
# How many of the best-scored articles are checked against the reader's scope one by one.
SCOPE_WINDOW = 300


def lock_stats() -> tuple[int, int, int]:
    """The index totals (articles, title terms, body terms), row-locked until the transaction ends:
    index changes run one after another, so the totals and document frequencies stay exact."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {STATS} (id, documents, title_terms, body_terms) VALUES (1, 0, 0, 0) "  # noqa: S608
            "ON CONFLICT (id) DO NOTHING"
        )
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        cursor.execute(f"SELECT documents, title_terms, body_terms FROM {STATS} WHERE id = 1{lock}")  # noqa: S608
        return tuple(cursor.fetchone())


def read_stats() -> tuple[int, int, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT documents, title_terms, body_terms FROM {STATS} WHERE id = 1")  # noqa: S608
        row = cursor.fetchone()
    return tuple(row) if row else (0, 0, 0)


def add_to_stats(documents: int, title_terms: int, body_terms: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {STATS} SET documents = documents + %s, title_terms = title_terms + %s, "  # noqa: S608
            "body_terms = body_terms + %s WHERE id = 1",
            [documents, title_terms, body_terms],
        )


def change_document_frequencies(added: Sequence[str], removed: Sequence[str]) -> None:
    """One more article holds each of ``added``, one fewer each of ``removed``. Sorted, so two
    transactions lock the shared rows in the same order and cannot deadlock."""
    with connection.cursor() as cursor:
        for start in range(0, len(added), 500):
            chunk = sorted(added)[start : start + 500]
            values = ", ".join(["(%s, 1)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {TERMS} (term, documents) VALUES {values} "  # noqa: S608 - placeholders only
                f"ON CONFLICT (term) DO UPDATE SET documents = {TERMS}.documents + 1",
                chunk,
            )
        for start in range(0, len(removed), 500):
            chunk = sorted(removed)[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE {TERMS} SET documents = documents - 1 WHERE term IN ({marks})",  # noqa: S608
                chunk,
            )
            # A term no article holds any more is no term: its row would only grow the table.
            cursor.execute(f"DELETE FROM {TERMS} WHERE term IN ({marks}) AND documents <= 0", chunk)  # noqa: S608


def document_frequencies(terms: Iterable[str]) -> dict[str, int]:
    terms = list(terms)
    if not terms:
        return {}
    marks = ", ".join(["%s"] * len(terms))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT term, documents FROM {TERMS} WHERE term IN ({marks})", terms)  # noqa: S608
        return dict(cursor.fetchall())


def clear_index() -> None:
    """Empty every index table (a rebuild, inside its transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # TRUNCATE is transactional on PostgreSQL and spares a rebuild millions of row deletes.
            # It refuses a table with deferred foreign-key checks pending in the transaction: run
            # them now (every row written so far is valid), then defer again as Django expects.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {POSTINGS}, {DOCS}, {TERMS}, {STATS}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            return
        for table in (POSTINGS, DOCS, TERMS, STATS):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - table names from the models


def copy_postings(rows: Sequence[tuple[int, str, int, int, int, int]]) -> None:
    """Write a rebuild's postings fast: COPY on PostgreSQL, batched inserts elsewhere.
    Rows: (article_id, term, tf_title, tf_body, title_len, body_len)."""
    columns = "article_id, term, tf_title, tf_body, title_len, body_len"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {POSTINGS} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        for start in range(0, len(rows), 150):
            chunk = rows[start : start + 150]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {POSTINGS} ({columns}) VALUES {values}",  # noqa: S608 - placeholders only
                [value for row in chunk for value in row],
            )


def recount_after_rebuild() -> None:
    """Document frequencies and totals from the postings and documents a rebuild wrote."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TERMS} (term, documents) SELECT term, COUNT(*) FROM {POSTINGS} GROUP BY term"  # noqa: S608
        )
        cursor.execute(
            f"INSERT INTO {STATS} (id, documents, title_terms, body_terms) "  # noqa: S608
            f"SELECT 1, COUNT(*), COALESCE(SUM(title_len), 0), COALESCE(SUM(body_len), 0) FROM {DOCS}"
        )
        if connection.vendor == "postgresql":
            # Fresh statistics and visibility map: the planner picks index-only scans at once.
            cursor.execute(f"ANALYZE {POSTINGS}")
            cursor.execute(f"ANALYZE {TERMS}")


def score(
    queryset: QuerySet,
    weights: dict[str, float],
    *,
    k1: float,
    title_weight: float,
    title_norm: tuple[float, float],
    body_norm: tuple[float, float],
    limit: int,
) -> list[tuple[int, float]]:
    """(article id, score), best first, for the articles of ``queryset`` holding any term of
    ``weights`` (term → IDF × the query's weight for it). BM25F: a term's count in the title
    (times ``title_weight``) and in the body, each divided by its field's length normalisation
    ``a + b × length``, saturate through k1; ties go to the newer article (higher id)."""
    if not weights:
        return []
    try:
        scope_sql, scope_params = queryset.order_by().values("id").query.sql_with_params()
    except EmptyResultSet:  # queryset.none(), or a filter that can match nothing
        return []
    terms = " UNION ALL ".join([f"SELECT %s AS term, {_FLOAT} AS weight"] * len(weights))
    term_params = [value for term, weight in weights.items() for value in (term, float(weight))]

    # Table names from the models, the scope's SQL from the ORM; every value is a parameter. The
    # postings of the query's terms are scored first (materialised: whatever the statistics say, the
    # planner must not walk every visible article's postings instead). Then the reader's scope: the
    # best ``SCOPE_WINDOW`` are checked one by one by primary key, which fills a page for most
    # readers; only when it does not (a narrow scope or filter) are all the hits checked against the
    # scope as a whole, a scan of the visible articles.
    def statement(window: bool) -> str:
        return f"""WITH q AS MATERIALIZED ({terms}),
hits AS MATERIALIZED (
    SELECT article_id, SUM(weight * tfn * {_FLOAT} / (tfn + {_FLOAT})) AS score FROM (
        SELECT p.article_id AS article_id, q.weight AS weight,
            ({_FLOAT} * p.tf_title / ({_FLOAT} + {_FLOAT} * p.title_len)
                + p.tf_body / ({_FLOAT} + {_FLOAT} * p.body_len)) AS tfn
        FROM q JOIN {POSTINGS} p ON p.term = q.term
    ) scored GROUP BY article_id
),
best AS MATERIALIZED (
    SELECT article_id, score FROM hits {"ORDER BY score DESC, article_id DESC LIMIT %s" if window else ""}
)
SELECT best.article_id, best.score, (SELECT COUNT(*) FROM hits) FROM best
WHERE EXISTS (SELECT 1 FROM ({scope_sql}) scope WHERE scope.id = best.article_id)
ORDER BY best.score DESC, best.article_id DESC LIMIT %s"""  # noqa: S608

    constants = [k1 + 1.0, k1, title_weight, *title_norm, *body_norm]
    with connection.cursor() as cursor:
        # The parameters' order follows the text.
        cursor.execute(statement(True), [*term_params, *constants, SCOPE_WINDOW, *scope_params, limit])
        rows = cursor.fetchall()
        if len(rows) < limit and (not rows or rows[0][2] > SCOPE_WINDOW):
            cursor.execute(statement(False), [*term_params, *constants, *scope_params, limit])
            rows = cursor.fetchall()
    return [(article_id, float(value)) for article_id, value, _hits in rows]
