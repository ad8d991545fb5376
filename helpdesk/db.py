"""Database helpers shared by the selectors of several apps."""

from __future__ import annotations

from django.db import connection


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string above every string that starts with ``prefix`` (code-point order)."""
    code = ord(prefix[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:  # surrogates cannot be stored; skip to the next real character
        code = 0xE000
    return prefix[:-1] + chr(code) if code <= 0x10FFFF else None


CODE_POINT_COLLATIONS = {"C", "POSIX", "C.UTF-8", "C.utf8"}
_collation_cache: dict[tuple[str, str], bool] = {}


def orders_by_code_point() -> bool:
    """Whether the database compares text by code point (SQLite; PostgreSQL in C or C.UTF-8)."""
    if connection.vendor != "postgresql":
        return connection.vendor == "sqlite"
    key = (connection.alias, str(connection.settings_dict.get("NAME")))
    if key not in _collation_cache:
        with connection.cursor() as cursor:
            cursor.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()")
            row = cursor.fetchone()
        _collation_cache[key] = bool(row) and row[0] in CODE_POINT_COLLATIONS
    return _collation_cache[key]
