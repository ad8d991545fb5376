"""Post-processing of the OpenAPI schema (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""

from __future__ import annotations

BAD_QUERY_DESCRIPTION = (
    "Invalid input: a field or query parameter that is not documented for this operation, or of the "
    "wrong type; `fields` holds a message per field."
)


def document_bad_query(result, generator, request, public):
    """Every operation answers 400 to a query parameter it does not document (helpdesk/core/api/query.py),
    so every operation documents a 400; the ones that already describe theirs keep it."""
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            operation.setdefault("responses", {}).setdefault(
                "400",
                {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    "description": BAD_QUERY_DESCRIPTION,
                },
            )
    return result
