"""这解决了我的问题: a reader's question answered by a suggested article, without a ticket."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .. import selectors
from ..models import Article, SelfSolved

QUESTION_MAX = 500
# A second press within this time (a double click, a retried request) is the same answer.
REPEAT_WINDOW = timedelta(minutes=10)


@transaction.atomic
def article_solved_my_problem(*, user: User, article_id: int, question: str = "") -> SelfSolved:
    """Count that ``article_id`` answered the question ``user`` was typing. The article must be
    one the user may read (else ``Article.DoesNotExist``: a 404 for the caller)."""
    article = selectors.published_articles(user=user).filter(pk=article_id).first()
    if article is None:
        raise Article.DoesNotExist
    question = (question or "").strip()
    if len(question) > QUESTION_MAX:
        raise ValidationError({"question": [_("At most %(limit)d characters.") % {"limit": QUESTION_MAX}]})
    if user.unit_id is None:
        raise ValidationError({"article": [_("Only a member of a unit can report a question solved.")]})
    # Locking the user's row makes two presses at once one count.
    User.objects.select_for_update().filter(pk=user.pk).first()
    recent = SelfSolved.objects.filter(
        article=article, user=user, created_at__gte=timezone.now() - REPEAT_WINDOW
    ).first()
    if recent is not None:
        return recent
    return SelfSolved.objects.create(article=article, user=user, unit_id=user.unit_id, question=question)
