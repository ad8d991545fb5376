"""Every write of the chat. ``from chat import services`` gives the whole surface."""

from .conversations import ChatRefused, block_add, block_remove, conversation_start, font_size_set
from .message_changes import RECALL_WINDOW, message_hide, message_recall, read_up_to, typing
from .messages import TEXT_MAX, Sent, message_send

__all__ = [
    "RECALL_WINDOW",
    "TEXT_MAX",
    "ChatRefused",
    "Sent",
    "block_add",
    "block_remove",
    "conversation_start",
    "font_size_set",
    "message_hide",
    "message_recall",
    "message_send",
    "read_up_to",
    "typing",
]
