"""Portal pages of the knowledge base (知识库, manual 2.4.6): browse by category, search with
highlights, the article page (votes, views, the source ticket when allowed), the editor with a
preview, the review queue, version history with diffs and restore, and 收录为知识 from a ticket.

Thin: forms collect input, knowledge.services writes, knowledge.selectors reads (scoped; anything
else is a 404). Service errors become form errors or messages, never a 500.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.core.files import attachment_response
from helpdesk.core.forms import apply_errors
from helpdesk.core.search import has_words
from orgtree.models import OrgUnit

from .. import search, selectors, services
from ..duplicates import similar_articles
from ..forms import NATIONAL, ArticleForm, ReasonForm, SearchForm
from ..models import Article, ArticleState, ArticleVote, Category, Tag
from ..services.self_service import article_solved_my_problem
from ..sources import ticket_source

PAGE_SIZE = 20


def _service_error(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@login_required
def article_index(request: HttpRequest) -> HttpResponse:
    """Browse by category, or search: the best matches first, matched words highlighted."""
    user = request.user
    form = SearchForm(request.GET or None, user=user)
    hits, page, query = [], None, ""
    category = tag = unit = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        query = (data.get("q") or "").strip()
        if data.get("category"):
            category = Category.objects.filter(pk=data["category"]).first()
        if data.get("unit"):
            unit = OrgUnit.objects.filter(pk=data["unit"]).first()
        if data.get("tag"):
            tag = Tag.objects.filter(name=data["tag"]).first()
            if tag is None:
                form.add_error("tag", _("No such tag."))
        if query and not has_words(query):
            form.add_error("q", _("Search for words: letters, digits or Chinese characters."))
    sort = (form.cleaned_data.get("sort") if form.is_bound and not form.errors else "") or "newest"
    if not form.errors:
        articles = selectors.article_list(user=user, sort=sort, category=category, tag=tag, unit=unit)
        if query:
            hits = search.search_articles(articles, query)
        else:
            page = Paginator(articles, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "hits": hits,
        "page": page,
        "query": query,
        "sort": sort,
        "category": category,
        "unit": unit,
        "tag": tag,
        "categories": selectors.category_tree(),
        "can_write": selectors.is_author(user),
        "queue_count": selectors.review_queue(user=user).count(),
    }
    template = "knowledge/_results.html" if request.htmx else "knowledge/index.html"
    return render(request, template, context, status=400 if form.errors else 200)


@login_required
def article_detail(request: HttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get(user=request.user, pk=pk)
    if request.method == "GET" and not request.htmx:
        services.article_count_view(user=request.user, article=article)
    return render(request, "knowledge/detail.html", _detail_context(request, article))


def _detail_context(request: HttpRequest, article: Article, **extra) -> dict:
    user = request.user
    capabilities = selectors.article_capabilities(user=user, article=article)
    staff = selectors.is_editor_of(user, article) or selectors.is_reviewer_of(user, article)
    return {
        "article": article,
        "capabilities": capabilities,
        "tags": list(article.tags.all()),
        "attachments": list(selectors.article_attachments(user=user, article=article)),
        "my_vote": ArticleVote.objects.filter(article=article, user=user).values_list("helpful", flat=True).first(),
        "source_visible": selectors.source_ticket_visible(user=user, article=article),
        "last_review": article.reviews.select_related("reviewer").first() if staff else None,
        "pending": selectors.pending_revision(user=user, article=article),
        "duplicates": selectors.possible_duplicates(user=user, article=article),
        "reason_form": extra.pop("reason_form", None) or ReasonForm(),
        "revision_form": extra.pop("revision_form", None) or ReasonForm(),
        "ticket_types": [
            label for value, label in ticket_source().ticket_type_choices() if value in article.ticket_types
        ],
        **extra,
    }


@require_POST
@login_required
def article_vote(request: HttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get(user=request.user, pk=pk)
    try:
        article = services.article_vote(user=request.user, article=article, helpful=request.POST.get("helpful") == "1")
    except ValidationError as exc:
        _service_error(request, exc)
    if request.htmx:
        return render(request, "knowledge/_vote.html", _detail_context(request, article))
    return redirect("knowledge:detail", pk=article.pk)


ACTIONS = {
    "submit": (services.article_submit, _("Submitted for review.")),
    "archive": (services.article_archive, _("The article is archived.")),
}


@require_POST
@login_required
def article_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    article = selectors.article_get(user=request.user, pk=pk)
    try:
        if action in ACTIONS:
            run, done = ACTIONS[action]
            run(user=request.user, article=article)
        elif action in ("approve-revision", "reject-revision"):
            return _review_revision(request, article, approve=action == "approve-revision")
        elif action in ("approve", "reject"):
            form = ReasonForm(request.POST)
            if not form.is_valid():
                return render(
                    request, "knowledge/detail.html", _detail_context(request, article, reason_form=form), status=400
                )
            reason = form.cleaned_data["reason"]
            try:
                if action == "approve":
                    services.article_approve(user=request.user, article=article, reason=reason)
                    done = _("The article is published.")
                else:
                    services.article_reject(user=request.user, article=article, reason=reason)
                    done = _("The article is sent back to its author.")
            except ValidationError as exc:
                apply_errors(form, exc)
                article = selectors.article_get(user=request.user, pk=pk)
                return render(
                    request, "knowledge/detail.html", _detail_context(request, article, reason_form=form), status=400
                )
        elif action == "restore":
            number = request.POST.get("version", "")
            services.article_restore(user=request.user, article=article, number=int(number) if number.isdigit() else 0)
            if article.state == ArticleState.PUBLISHED:
                done = _(
                    "The version is restored as an edit waiting for review; readers see the published text until then."
                )
            else:
                done = _("The version is restored as a new version.")
        else:
            raise Http404(_("No such action."))
    except ValidationError as exc:
        _service_error(request, exc)
    else:
        messages.success(request, done)
    return redirect("knowledge:detail", pk=article.pk)


def _review_revision(request: HttpRequest, article: Article, *, approve: bool) -> HttpResponse:
    """Approve or refuse the edit waiting for review (the version the reviewer read, by number)."""
    form = ReasonForm(request.POST)
    number = request.POST.get("version", "")
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        run = services.revision_approve if approve else services.revision_reject
        try:
            run(user=request.user, article=article, number=int(number) if number.isdigit() else 0, reason=reason)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if approve:
                messages.success(request, _("The edit is approved: readers now see it."))
            else:
                messages.success(request, _("The edit is refused; the published text stays."))
            return redirect("knowledge:detail", pk=article.pk)
    article = selectors.article_get(user=request.user, pk=article.pk)
    return render(request, "knowledge/detail.html", _detail_context(request, article, revision_form=form), status=400)


def _form_data(form: ArticleForm) -> services.ArticleInput:
    data = form.cleaned_data
    category = Category.objects.filter(pk=data["category"]).first() if data.get("category") else None
    return services.ArticleInput(
        title=data["title"],
        problem=data["problem"],
        steps=data.get("steps", ""),
        solution=data["solution"],
        category=category,
        tags=data["tags"],
        ticket_types=data.get("ticket_types") or [],
        scope_unit=form.scope_unit(),
        note=data.get("note", ""),
    )


def _initial(article: Article) -> dict:
    # The latest text: an edit waiting for review when there is one (a second edit builds on it).
    latest = services.ArticleInput.from_article(article)
    return {
        "title": latest.title,
        "problem": latest.problem,
        "steps": latest.steps,
        "solution": latest.solution,
        "category": latest.category.pk if latest.category else None,
        "tags": ", ".join(latest.tags),
        "ticket_types": latest.ticket_types,
        "unit": article.unit_id,
        "scope": str(latest.scope_unit.pk) if latest.scope_unit else NATIONAL,
    }


@login_required
def article_create(request: HttpRequest) -> HttpResponse:
    if not selectors.is_author(request.user):
        raise Http404(_("You do not write articles."))
    form = ArticleForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        owner = form.owner()
        if owner is None:
            form.add_error("unit", _("Choose the owning unit."))
        else:
            try:
                article = services.article_create(user=request.user, owner=owner, data=_form_data(form))
            except ValidationError as exc:
                apply_errors(form, exc, aliases={"scope_unit": "scope"})
            else:
                messages.success(request, _("The draft is saved."))
                return redirect("knowledge:detail", pk=article.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "knowledge/edit.html", {"form": form, "article": None}, status=status)


@login_required
def article_edit(request: HttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get(user=request.user, pk=pk)
    if not selectors.can_edit(request.user, article):
        raise Http404(_("You cannot edit this article."))
    form = ArticleForm(request.POST or None, user=request.user, article=article, initial=_initial(article))
    if request.method == "POST" and form.is_valid():
        try:
            services.article_update(user=request.user, article=article, data=_form_data(form))
        except ValidationError as exc:
            apply_errors(form, exc, aliases={"scope_unit": "scope"})
        else:
            if article.state == ArticleState.PUBLISHED:
                messages.success(
                    request,
                    _("Saved as an edit waiting for review; readers see the published text until it is approved."),
                )
            else:
                messages.success(request, _("Saved as a new version."))
            return redirect("knowledge:detail", pk=article.pk)
    status = 400 if form.is_bound and form.errors else 200
    pending = selectors.pending_revision(user=request.user, article=article)
    return render(request, "knowledge/edit.html", {"form": form, "article": article, "pending": pending}, status=status)


@require_POST
@login_required
def article_preview(request: HttpRequest) -> HttpResponse:
    """The editor's preview (htmx): the Markdown as it will be shown, sanitised like a save."""
    fields = [
        (_("Problem"), services.render_markdown(request.POST.get("problem", "")[:20000])),
        (_("Troubleshooting steps"), services.render_markdown(request.POST.get("steps", "")[:20000])),
        (_("Solution"), services.render_markdown(request.POST.get("solution", "")[:20000])),
    ]
    title = request.POST.get("title", "")[:200]
    # 可能重复: published articles that already say this (the article being edited aside).
    others = selectors.published_articles(user=request.user)
    editing = request.GET.get("article", "")
    if editing.isdigit():
        others = others.exclude(pk=int(editing))
    duplicates = similar_articles(others, title=title, body=request.POST.get("problem", "")[:1000])
    return render(request, "knowledge/_preview.html", {"title": title, "fields": fields, "duplicates": duplicates})


@require_POST
@login_required
def article_from_ticket(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """收录为知识: a draft from the resolved ticket, opened in the editor."""
    try:
        article = services.article_from_ticket(user=request.user, ticket_id=ticket_id)
    except ValidationError as exc:
        _service_error(request, exc)
        return redirect("tickets:detail", pk=ticket_id)
    messages.success(request, _("A draft was made from the ticket; check it and submit it for review."))
    return redirect("knowledge:edit", pk=article.pk)


@login_required
def attachment_download(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    attachment = selectors.attachment_get(user=request.user, article_id=pk, pk=attachment_id)
    return attachment_response(attachment)


@require_POST
@login_required
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get(user=request.user, pk=pk)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a file."))
    else:
        try:
            services.attachment_add(user=request.user, article=article, upload=upload)
        except ValidationError as exc:
            _service_error(request, exc)
        else:
            messages.success(request, _("The file is attached."))
    return redirect("knowledge:detail", pk=article.pk)


@login_required
def article_suggestions(request: HttpRequest) -> HttpResponse:
    """While a question is typed (问题咨询, htmx): published articles that may already answer it."""
    text = f"{request.GET.get('title', '')[:200]} {request.GET.get('description', '')[:2000]}".strip()
    hits = search.suggest_articles(request.user, text, limit=5) if has_words(text) else []
    return render(request, "knowledge/_suggestions.html", {"hits": hits})


@require_POST
@login_required
def article_solved(request: HttpRequest, pk: int) -> HttpResponse:
    """这解决了我的问题: the suggested article answered the question; no ticket is filed."""
    try:
        question = (
            request.POST.get("question") or f"{request.POST.get('title', '')} {request.POST.get('description', '')}"
        )
        article_solved_my_problem(user=request.user, article_id=pk, question=question.strip()[:500])
    except Article.DoesNotExist:
        raise Http404(_("No such article.")) from None
    except ValidationError as exc:
        _service_error(request, exc)
        return redirect("tickets:create")
    if request.htmx:
        return render(request, "knowledge/_solved.html", {"article_id": pk})
    messages.success(request, _("Glad the article helped; no question was filed."))
    return redirect("knowledge:detail", pk=pk)
