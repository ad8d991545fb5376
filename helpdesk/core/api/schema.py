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


IDEMPOTENCY_DESCRIPTION = """

## Retries and the Idempotency-Key header

Every write (POST, PUT, PATCH, DELETE) accepts an `Idempotency-Key` header: a value unique to the
request the client means (a UUID), 1 to 255 characters (else 400). The first answer to a key is
kept for 24 hours, per user. Sending the same request with the same key again, also while the first
is still running (a double tap: the second waits for the first), does nothing more and answers the
first answer again, the same status and body, with `Idempotent-Replayed: true`. The same key with
another request (another body, method or path) is a 422 with `code: idempotency_key_mismatch`.
A 5xx answer is not kept: a retry runs again. Anonymous requests (signing in) keep nothing.

Without a key, a ticket action that already took effect is not refused either: when the ticket is
in the action's target state and its latest change of state is the same action by the same user
with the same content (the same reason, answer or rating), the action answers 200 with the ticket as
it is and records nothing twice (confirm, accept, request-info, answer, approve, reject, reopen,
rate, withdraw, close-invalid, merge). Transfer and forward return the ticket to 待处理, where they
are allowed again, and a reply is always a new message: send those with an Idempotency-Key.
"""


def document_idempotency(result, generator, request, public):
    """The Idempotency-Key header and its answers on every write (helpdesk/core/api/idempotency.py)."""
    info = result.setdefault("info", {})
    if "Idempotency-Key" not in info.get("description", ""):
        info["description"] = info.get("description", "") + IDEMPOTENCY_DESCRIPTION
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in {"post", "put", "patch", "delete"}:
                continue
            operation.setdefault("parameters", []).append(
                {
                    "in": "header",
                    "name": "Idempotency-Key",
                    "required": False,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    "description": (
                        "Makes a retry safe: the same key within 24 hours answers the first answer again "
                        "(with `Idempotent-Replayed: true`) instead of doing the work twice."
                    ),
                }
            )
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "422",
                {"content": error, "description": "The Idempotency-Key was used for a different request."},
            )
            responses.setdefault(
                "409",
                {
                    "content": error,
                    "description": "The first request with this Idempotency-Key is still running after 30 seconds.",
                },
            )
    return result
