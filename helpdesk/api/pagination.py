"""Pagination that stays bounded on millions of rows.

List endpoints over big tables use keyset (cursor) pagination: no COUNT(*), no OFFSET that grows
with the page number, one index range per page whatever the table size.
"""

from rest_framework.pagination import CursorPagination, PageNumberPagination


class DefaultPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class KeysetPagination(CursorPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "id"
