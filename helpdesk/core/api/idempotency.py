"""Idempotent API writes: the ``Idempotency-Key`` header (issue 12).

A phone on a bad network cannot tell a request that never arrived from an answer that never came
back, so it sends the same request again. With a key, the retry is safe:

- The first request with a key runs and its answer (status, body, ``Location``) is stored under the
  user and the key (``helpdesk.core.models.IdempotencyRecord``).
- The same key from the same user within 24 hours gets that answer again, with
  ``Idempotent-Replayed: true``, and nothing runs a second time. Two requests that race (a double
  tap) are one: the second waits until the first has answered, then replays its answer.
- The same key with another request (a different body, method or path) is refused with 422,
  ``code: idempotency_key_mismatch``: the client has a bug, and guessing would hide it.
- A key that is empty or longer than 255 characters is a 400.
- A 5xx answer is not stored: the work did not happen (or not wholly), and a retry may try again
  (nor a 429, which also asks for a retry).
  Nor is a request of an anonymous client (signing in): there is no user to keep the key for.

How it runs. ``IdempotencyMiddleware`` checks the header's form before any view, and after the view
stores the answer. The claim is made inside DRF, after authentication (token or session) and with
the parsed body, by ``IdempotencyGate``, a throttle class that every API view has by default
(``DEFAULT_THROTTLE_CLASSES``; a view that sets its own throttles must keep it, a test checks). The
claim is a row committed before the work starts (``status_code`` null while it runs), so a racing
request sees it at once and waits for the answer instead of holding any lock; the work itself runs
exactly as without a key (its own transactions, the create's short counter lock). A claim whose
request died before answering (the process was killed) is taken over after ``STALE_AFTER``.

Records older than 24 hours no longer count and are pruned hourly (``prune_idempotency_records``,
the Celery task ``helpdesk.tasks.prune_idempotency_records``).
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.throttling import BaseThrottle

from ..models import IdempotencyRecord

# Not from .errors: that module imports DRF's views, and this one is imported while DRF's APIView is
# being defined (its default throttle classes).
_JSON = {"ensure_ascii": False}

HEADER = "Idempotency-Key"
META_KEY = "HTTP_IDEMPOTENCY_KEY"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX = 255
# Methods that change something; GET, HEAD and OPTIONS are safe to repeat by themselves.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# How long a key holds its answer.
RETENTION = timedelta(hours=24)
# A claim without an answer this old belongs to a request that died (killed process, lost
# connection to the database): a retry takes it over instead of waiting forever.
STALE_AFTER = timedelta(minutes=5)
# Answer headers replayed with the body; the rest (Vary, CSP, cookies) is the transport's, set
# again by the middlewares on the replay.
KEPT_HEADERS = ("Location",)
# How often a request that found its key in use looks again (seconds).
_POLL = 0.05


class IdempotencyKeyMismatch(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_mismatch"
    default_detail = "This Idempotency-Key was used for a different request."


class IdempotencyKeyInUse(exceptions.APIException):
    """The first request with the key is still running after the waiting time (IDEMPOTENCY_WAIT_SECONDS)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_key_in_use"
    default_detail = "A request with this Idempotency-Key is still running; try again shortly."


class IdempotentReplay(exceptions.APIException):
    """Raised by the gate to stop the view; the API's exception handler answers ``response``."""

    status_code = status.HTTP_200_OK

    def __init__(self, response: HttpResponse):
        super().__init__()
        self.idempotent_replay = response


def key_error(key: str) -> str | None:
    """Why an ``Idempotency-Key`` value is refused, or None."""
    if not key.strip():
        return _("The Idempotency-Key header is empty; send a unique value (a UUID) or leave the header out.")
    if len(key) > KEY_MAX:
        return _("The Idempotency-Key header is at most %(max)d characters long.") % {"max": KEY_MAX}
    return None


# --- The request's fingerprint ----------------------------------------------------------------------
def _canonical(value):
    """The parsed body in a form that does not depend on how it was sent: JSON's key order and
    spacing, a multipart body's boundary and the order of its fields do not matter (the order of a
    field's values, such as the files, does); a file counts by its name, size and content."""
    if isinstance(value, QueryDict):
        return {name: [_canonical(item) for item in value.getlist(name)] for name in sorted(value.keys())}
    if isinstance(value, dict):
        return {str(name): _canonical(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if hasattr(value, "chunks") and hasattr(value, "size"):  # an uploaded file
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": getattr(value, "name", ""), "size": value.size, "sha256": digest.hexdigest()}
    return value


def request_fingerprint(request) -> str:
    """SHA-256 of the method, the path with its query and the body as parsed (DRF's ``request.data``)."""
    body = json.dumps(_canonical(request.data), sort_keys=True, ensure_ascii=False, default=str)
    text = "\n".join((request.method, request._request.get_full_path(), body))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --- Claim, replay, store ---------------------------------------------------------------------------
def replay_response(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body or b""), status=record.status_code, content_type=record.content_type or None
    )
    for name, value in (record.response_headers or {}).items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _wait_seconds() -> float:
    return float(getattr(settings, "IDEMPOTENCY_WAIT_SECONDS", 30))


def claim(*, user_id: int, key: str, fingerprint: str) -> IdempotencyRecord:
    """Make the key this request's, or raise: ``IdempotentReplay`` with the stored answer,
    ``IdempotencyKeyMismatch`` for another request under the key, ``IdempotencyKeyInUse`` when the
    first request is still running after the waiting time."""
    deadline = time.monotonic() + _wait_seconds()
    vanished = 0
    while True:
        now = timezone.now()
        try:
            # Committed at once (its own transaction): a racing request sees the claim immediately.
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user_id=user_id, key=key, fingerprint=fingerprint, created_at=now
                )
        except IntegrityError as exc:
            conflict = exc
        record = IdempotencyRecord.objects.filter(user_id=user_id, key=key).first()
        if record is None:
            # Pruned or given up between the two statements: claim again. Never found at all, the
            # insert failed for another reason (the user was deleted): that error stands.
            vanished += 1
            if vanished > 3:
                raise conflict
            continue
        expired = record.created_at <= now - RETENTION
        abandoned = record.status_code is None and record.created_at <= now - STALE_AFTER
        if expired or abandoned:
            # Taken over only if nobody else did first (the row is as it was read).
            taken = IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).update(
                fingerprint=fingerprint,
                status_code=None,
                response_body=None,
                content_type="",
                response_headers={},
                created_at=now,
            )
            if taken:
                record.fingerprint, record.status_code, record.created_at = fingerprint, None, now
                return record
            continue
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyMismatch(
                _(
                    "This Idempotency-Key was already used for a different request (another body, method or "
                    "path). Use a new key for a new request."
                )
            )
        if record.status_code is not None:
            raise IdempotentReplay(replay_response(record))
        if time.monotonic() >= deadline:
            raise IdempotencyKeyInUse(_("A request with this Idempotency-Key is still running; try again shortly."))
        time.sleep(_POLL)


def store(record: IdempotencyRecord, response) -> None:
    """Keep the answer under the claim. A 5xx, a 429 (both say "try again", which a replay would
    forbid for a day) or a stream (which cannot be kept) gives the key up."""
    claimed = IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True, created_at=record.created_at)
    if response.status_code >= 500 or response.status_code == 429 or getattr(response, "streaming", False):
        claimed.delete()
        return
    claimed.update(
        status_code=response.status_code,
        response_body=bytes(response.content),
        content_type=response.get("Content-Type", ""),
        response_headers={name: response[name] for name in KEPT_HEADERS if response.has_header(name)},
    )


def prune_idempotency_records(*, now=None, batch_size: int = 5000) -> int:
    """Delete records past the retention, in batches (the created_at index bounds each)."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted = 0
    while True:
        ids = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        deleted += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]


# --- Where it plugs in ------------------------------------------------------------------------------
class IdempotencyGate(BaseThrottle):
    """Claims the request's key once DRF knows the user and has parsed the body (throttles run after
    authentication and permissions). Lets every request through otherwise; it throttles nothing."""

    def allow_request(self, request, view) -> bool:
        key = getattr(request._request, "idempotency_key", None)
        if key is None or not request.user.is_authenticated:
            return True
        record = claim(user_id=request.user.pk, key=key, fingerprint=request_fingerprint(request))
        request._request.idempotency_record = record
        return True


class IdempotencyMiddleware:
    """Under ``/api/``, for writes with an ``Idempotency-Key``: a malformed key is a 400 before any
    view; after the view, the answer is stored under the key the gate claimed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.META.get(META_KEY)
        if key is None or request.method not in UNSAFE_METHODS or not request.path_info.startswith("/api/"):
            return self.get_response(request)
        error = key_error(key)
        if error:
            return JsonResponse(
                {"detail": error, "code": "invalid", "fields": {HEADER: [error]}},
                status=400,
                json_dumps_params=_JSON,
            )
        request.idempotency_key = key
        response = self.get_response(request)
        record = getattr(request, "idempotency_record", None)
        if record is not None:
            store(record, response)
        return response
