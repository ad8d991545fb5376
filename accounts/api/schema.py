"""OpenAPI post-processing: every operation a forced password change closes documents its 403."""

from __future__ import annotations

from ..permissions import CODE

# (path, method) pairs that stay open before the change: signing in and out, reading oneself,
# changing the password, and the API's index (which needs no sign-in at all).
OPEN_OPERATIONS = {
    ("/api/v1/auth/token/", "post"),
    ("/api/v1/auth/token/", "delete"),
    ("/api/v1/auth/token/refresh/", "post"),
    ("/api/v1/auth/logout/", "post"),
    ("/api/v1/me/", "get"),
    ("/api/v1/me/password/", "post"),
    ("/api/v1/", "get"),
}
DESCRIPTION = (
    f"Code `{CODE}`: the account still has the password an administrator issued or reset; it must "
    "change it (`POST /api/v1/me/password/`) before anything else. Otherwise: signed in but not allowed."
)


def document_password_change_required(result, generator, request, public):
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"} or (path, method) in OPEN_OPERATIONS:
                continue
            responses = operation.setdefault("responses", {})
            existing = responses.get("403")
            if existing is None:
                responses["403"] = {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    "description": DESCRIPTION,
                }
            elif CODE not in existing.get("description", ""):
                existing["description"] = f"{existing.get('description', '').rstrip('.')}. {DESCRIPTION}"
    return result
