"""Sending messages (reading, recalling, deleting and typing: chat.services.message_changes).

Every message is numbered under a row lock on its conversation (``last_seq + 1``), stored, and only
then announced: ``chat.message`` goes into each member's event log (in the same statement as the
message for a text on PostgreSQL, else after the commit: ``helpdesk.core.events``), so a client that
was offline or lost its socket receives it when it resumes. A client names each message with its own
id (``client_id``, or the REST call's ``Idempotency-Key``): a resend after a lost acknowledgement
returns the stored message instead of making a second one, over REST and the socket alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core import eventlog
from helpdesk.core.db import fetch_prepared
from helpdesk.core.events import (
    current_event_origin,
    outgoing_items,
    push_stored,
    push_stored_shared,
    send_events,
)
from helpdesk.core.search import search_text_for

from .. import events, selectors, sql
from ..models import Conversation, ConversationKind, Message, MessageKind, MessageSearch
from .conversations import messages_per_second, send_refusal
from .uploads import CheckedUpload, check_upload

TEXT_MAX = 5000
CLIENT_ID_MAX = 255


@dataclass(frozen=True)
class Sent:
    message: Message
    created: bool  # False: the client id was already used; this is the stored message
    # The sender's own chat.message event for it, when the send stored it in its statement (the
    # sending device is not pushed its echo; its socket counts the id as seen).
    event_id: int | None = None


# The window of the messages-per-second limit.
RATE_WINDOW = timedelta(seconds=1)


def _check_rate(user: User, now: datetime) -> None:
    """At most ``messages_per_second()`` messages per user in any second: the user's messages stored
    in the last second, counted on the (sender, created_at) index, so every socket and request of the
    user on every process counts together. A text send on PostgreSQL counts inside its one statement
    (chat.sql.SEND_TEXT_SQL) and pays no round trip for it; this is the same count for files and on
    SQLite."""
    rate = messages_per_second()
    if Message.objects.filter(sender=user, created_at__gt=now - RATE_WINDOW)[:rate].count() >= rate:
        raise send_refusal("rate_limited")


def _clean_text(text: str) -> str:
    text = (text or "").replace("\r\n", "\n")
    if "\x00" in text:
        raise ValidationError({"text": [_("The message holds a character that cannot be sent.")]})
    if len(text) > TEXT_MAX:
        raise ValidationError(
            {"text": [_("A message is at most %(max)d characters long; split it up.") % {"max": TEXT_MAX}]}
        )
    return text


def _already_sent(user: User, client_id: str, conversation_id: int) -> Message | None:
    found = Message.objects.filter(sender=user, client_id=client_id).select_related("sender").first()
    if found is not None and found.conversation_id != conversation_id:
        raise ValidationError({"client_id": [_("This client id was already used for a message elsewhere.")]})
    return found


def _refuse_if_blocked(user: User, conversation: Conversation) -> None:
    if conversation.kind != ConversationKind.DIRECT:
        from .groups import refuse_if_muted  # groups build on this module's neighbours

        refuse_if_muted(user, conversation)
        return
    peer = conversation.user_high_id if conversation.user_low_id == user.pk else conversation.user_low_id
    block = selectors.block_between(user.pk, peer)
    if block:
        raise send_refusal(block)


def message_send(
    *,
    user: User,
    conversation_id: int,
    text: str = "",
    upload: UploadedFile | None = None,
    client_id: str = "",
) -> Sent:
    """Store a text, image or file message in a conversation the user is a member of (404 otherwise)
    and announce it to every member after the commit.

    The busiest path of the chat (every message of every socket), so its round trips are counted.
    A text message on PostgreSQL is one statement after the rate limit's Redis round trip (checks,
    numbering, writes and every member's stored event: ``_send_text_in_one_statement``). Files, and
    SQLite, take the ORM path (``_store``): the client id's lookup, then under the conversation's row
    lock (taken by the same statement that checks membership) the block check, the insert, the
    conversation's and the read positions' updates and the search row; the events are one statement
    after the commit."""
    if not user.is_active:  # (both paths check the stored account too: a socket keeps its user)
        raise Http404
    client_id = client_id or ""
    if len(client_id) > CLIENT_ID_MAX:
        raise ValidationError(
            {"client_id": [_("A client id is at most %(max)d characters long.") % {"max": CLIENT_ID_MAX}]}
        )
    conversation_id = selectors.as_id(conversation_id)
    text = _clean_text(text)
    if upload is None and not text.strip():
        raise ValidationError({"text": [_("Write a message, or attach an image or a file.")]})
    if upload is not None and text:
        raise ValidationError({"text": [_("Send the text and the file as two messages.")]})
    message = Message(sender=user, text=text, client_id=client_id, kind=MessageKind.TEXT)
    if upload is None and connection.vendor == "postgresql":
        return _send_text_in_one_statement(user, conversation_id, message)
    if client_id:
        # Before the rate limit: a resend of a stored message is not a new message.
        found = _already_sent(user, client_id, conversation_id)
        if found is not None:
            selectors.membership_get(user=user, conversation_id=conversation_id)  # still a member?
            return Sent(found, False)
    if upload is not None:
        # 404 and blocks before any file is written.
        _refuse_if_blocked(user, selectors.conversation_get(user=user, pk=conversation_id))
        _check_rate(user, timezone.now())
        _attach(message, check_upload(upload))
    else:
        _check_rate(user, timezone.now())
    try:
        sent = _store(user, conversation_id, message)
    except BaseException:
        _discard_files(message)
        raise
    if not sent.created:
        _discard_files(message)
    return sent


def _attach(message: Message, checked: CheckedUpload) -> None:
    # Written before the transaction (no row lock held during disk I/O); removed if no row keeps them.
    message.kind = MessageKind.IMAGE if checked.is_image else MessageKind.FILE
    message.file_name, message.content_type, message.size = checked.name, checked.content_type, checked.size
    message.width, message.height = checked.width, checked.height
    message.file.save(checked.name, checked.upload, save=False)
    if checked.thumbnail is not None:
        message.thumbnail.save(checked.thumbnail.name, checked.thumbnail, save=False)


def _discard_files(message: Message) -> None:
    for field in (message.file, message.thumbnail):
        if field:
            field.delete(save=False)


def _send_text_in_one_statement(user: User, conversation_id: int, message: Message) -> Sent:
    """PostgreSQL: a text message's checks, numbering, writes and events as one statement that
    commits on its own (chat.sql.SEND_TEXT_SQL); the same guarantees as ``_store``, which the files'
    path and SQLite use."""
    now = timezone.now()
    message.conversation_id, message.created_at = conversation_id, now
    origin = current_event_origin()
    # The payload every member's chat.message carries, but for the id and seq the statement adds.
    shown = events.message_data(message, sender_name=user.name)
    params = [
        conversation_id,
        user.pk,
        message.client_id,
        message.text,
        now,
        search_text_for(message.text),
        json.dumps(shown),
        events.CHAT_MESSAGE,
        messages_per_second(),
        origin,
        now,
    ]
    try:
        if connection.in_atomic_block:  # a caller's transaction survives a refused insert
            with transaction.atomic():
                row = fetch_prepared(sql.SEND_TEXT_SQL, params)
        else:
            row = fetch_prepared(sql.SEND_TEXT_SQL, params)
    except IntegrityError:
        return _sent_before(user, conversation_id, message.client_id)
    code, earlier_id, earlier_conversation, message.pk, message.seq, positions, cursors, kind = row
    if earlier_id is not None and earlier_conversation != conversation_id:
        raise ValidationError({"client_id": [_("This client id was already used for a message elsewhere.")]})
    if code == "not_found":
        raise Http404
    if code == "earlier":
        return Sent(Message.objects.select_related("sender").get(pk=earlier_id), False)
    if code:
        raise send_refusal(code)
    message._state.adding, message._state.db = False, connection.alias
    reads = dict(positions)
    items = outgoing_items(
        [
            (
                [uid],
                events.CHAT_MESSAGE,
                events.message_payload(message, unread=max(message.seq - reads[uid], 0), sender_name=user.name),
            )
            for uid in sorted(reads)
        ]
    )
    stored = eventlog.stored_by_statement(items, cursors, origin=origin, now=now)
    if kind == ConversationKind.DIRECT:
        push_stored(stored)
    else:  # one push to the group's sockets, each member's event picked out there
        push_stored_shared(events.conversation_group(conversation_id), stored, personal=("unread",))
    own = next((event.seq for event in stored if event.user_id == user.pk), None)
    return Sent(message, True, own)


def _sent_before(user: User, conversation_id: int, client_id: str) -> Sent:
    """The same client id was stored by a concurrent send (the unique constraint decided): that
    message, or an error when it went to another conversation."""
    found = Message.objects.filter(sender=user, client_id=client_id).select_related("sender").first()
    if found is None:
        raise IntegrityError("the message was refused by a constraint but no message holds its client id")
    if found.conversation_id != conversation_id:
        raise ValidationError({"client_id": [_("This client id was already used for a message elsewhere.")]})
    return Sent(found, False)


def _store(user: User, conversation_id: int, message: Message) -> Sent:
    try:
        with transaction.atomic():
            # Membership and the lock in one statement: a non-member locks nothing and gets a 404.
            conversation = (
                Conversation.objects.select_for_update(of=("self",))
                .filter(pk=conversation_id, memberships__user=user, memberships__user__is_active=True)
                .first()
            )
            if conversation is None:
                raise Http404
            # Under the lock: a resend racing its original finds it committed by now.
            if message.client_id:
                found = _already_sent(user, message.client_id, conversation.pk)
                if found is not None:
                    return Sent(found, False)
            # A one-to-one with a block either way takes no message, so whoever may send here,
            # both members hear of it.
            _refuse_if_blocked(user, conversation)
            now = timezone.now()
            message.conversation = conversation
            message.seq = conversation.last_seq + 1
            message.created_at = now
            message.save(force_insert=True)
            Conversation.objects.filter(pk=conversation.pk).update(last_seq=message.seq, last_message_at=now)
            conversation.last_seq, conversation.last_message_at = message.seq, now
            # Sending reads everything before it; everyone's read position in the same statement.
            reads = sql.advance_sender_read(conversation_id=conversation.pk, user_id=user.pk, seq=message.seq, now=now)
            if message.text:
                MessageSearch.objects.create(message=message, text=search_text_for(message.text))
            if conversation.kind != ConversationKind.DIRECT:
                recipients = selectors.recipients(conversation, actor_id=user.pk)
            else:
                recipients = sorted(reads)
            send_events(
                [
                    (
                        [uid],
                        events.CHAT_MESSAGE,
                        events.message_payload(
                            message, unread=max(message.seq - reads.get(uid, 0), 0), sender_name=user.name
                        ),
                    )
                    for uid in recipients
                ]
            )
    except IntegrityError:
        # The same client id sent at once into two conversations: the unique constraint decided.
        found = Message.objects.filter(sender=user, client_id=message.client_id).first() if message.client_id else None
        if found is None:
            raise
        if found.conversation_id != conversation_id:
            raise ValidationError(
                {"client_id": [_("This client id was already used for a message elsewhere.")]}
            ) from None
        return Sent(found, False)
    return Sent(message, True)
