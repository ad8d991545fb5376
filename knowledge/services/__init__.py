"""Every write to the knowledge base. ``from knowledge import services`` gives the whole surface."""

from helpdesk.core.markdown import render_markdown

from .articles import (
    ArticleInput,
    article_approve,
    article_archive,
    article_count_view,
    article_create,
    article_from_ticket,
    article_reject,
    article_submit,
    article_vote,
    ticket_prefill,
)
from .attachments import attachment_add, attachment_delete
from .diff import version_diff_html
from .revisions import article_restore, article_update, revision_approve, revision_reject

__all__ = [
    "ArticleInput",
    "article_approve",
    "article_archive",
    "article_count_view",
    "article_create",
    "article_from_ticket",
    "article_reject",
    "article_restore",
    "article_submit",
    "article_update",
    "article_vote",
    "attachment_add",
    "attachment_delete",
    "render_markdown",
    "revision_approve",
    "revision_reject",
    "ticket_prefill",
    "version_diff_html",
]
