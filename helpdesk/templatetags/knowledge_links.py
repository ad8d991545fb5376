"""The ticket page's side of 收录为知识 (the wiring may ask both apps; tickets and knowledge do not
import each other): whether the user may turn the ticket into an article, and the articles already
made from it that the user may open."""

from __future__ import annotations

from django import template

from knowledge import selectors as knowledge_selectors

from ..knowledge_sources import ticket_may_become_article

register = template.Library()


@register.simple_tag
def ticket_knowledge(user, ticket) -> dict:
    articles = list(knowledge_selectors.articles_from_ticket(user=user, ticket_id=ticket.pk)[:5])
    return {"articles": articles, "can_capture": ticket_may_become_article(user=user, ticket=ticket)}
