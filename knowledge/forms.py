"""Portal forms of the knowledge base: the editor, the review decision, the list's filters."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from orgtree.models import OrgUnit

from . import selectors
from .models import BODY_MAX, REASON_MAX, TITLE_MAX
from .services.articles import MAX_TAGS, TAG_MAX
from .sources import ticket_source

NATIONAL = "national"


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    problem = forms.CharField(
        label=_("Problem"), max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 5}), help_text=_("Markdown.")
    )
    steps = forms.CharField(
        label=_("Troubleshooting steps"), max_length=BODY_MAX, required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    solution = forms.CharField(label=_("Solution"), max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 6}))
    category = forms.TypedChoiceField(label=_("Category"), required=False, coerce=int, empty_value=None)
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=(TAG_MAX + 1) * MAX_TAGS,
        help_text=_("Separated by commas, at most %(count)d.") % {"count": MAX_TAGS},
    )
    ticket_types = forms.MultipleChoiceField(
        label=_("Related ticket types"), required=False, widget=forms.CheckboxSelectMultiple
    )
    unit = forms.TypedChoiceField(label=_("Owning unit"), coerce=int)
    scope = forms.ChoiceField(label=_("Who may read it"))
    note = forms.CharField(label=_("What changed"), max_length=REASON_MAX, required=False)

    def __init__(self, *args, user, article=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.article = article
        self.fields["category"].choices = [("", "—")] + [
            (category.pk, "\u3000" * depth + category.name) for category, depth in selectors.category_tree()
        ]
        self.fields["ticket_types"].choices = ticket_source().ticket_type_choices()
        if article is not None:
            units = [article.unit]
            self.fields["unit"].disabled = True
        else:
            units = selectors.author_units(user=user)
            del self.fields["note"]
        self.fields["unit"].choices = [(unit.pk, unit.name) for unit in units]
        # Who may read it: the owning unit's subtree, one of its units below, or (top level) everyone.
        scopes = []
        for unit in units:
            if unit.depth == 1:
                scopes.append((NATIONAL, _("Everyone (national)")))
            scopes.append((str(unit.pk), _("%(unit)s and the units below it") % {"unit": unit.name}))
            scopes.extend((str(child.pk), f"\u3000{child.name}") for child in OrgUnit.objects.get_children(unit)[:200])
        if article is not None and article.scope_unit_id and str(article.scope_unit_id) not in dict(scopes):
            scopes.append((str(article.scope_unit_id), article.scope_unit.name))
        self.fields["scope"].choices = scopes

    def clean_tags(self) -> list[str]:
        raw = self.cleaned_data.get("tags") or ""
        names = [name.strip() for name in raw.replace("，", ",").split(",") if name.strip()]
        return names

    def owner(self) -> OrgUnit | None:
        if self.article is not None:
            return self.article.unit
        return OrgUnit.objects.filter(pk=self.cleaned_data.get("unit")).first()

    def scope_unit(self) -> OrgUnit | None:
        value = self.cleaned_data.get("scope")
        if value in (None, "", NATIONAL):
            return None
        return OrgUnit.objects.filter(pk=int(value)).first()


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=REASON_MAX, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[("newest", _("Newest")), ("views", _("Most viewed")), ("helpful", _("Most helpful"))],
    )
    category = forms.TypedChoiceField(label=_("Category"), required=False, coerce=int, empty_value=None)
    tag = forms.CharField(label=_("Tag"), max_length=TAG_MAX, required=False)
    unit = forms.TypedChoiceField(label=_("Owning unit"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("All units"))] + [
            (unit.pk, unit.name) for unit in selectors.reader_units(user=user)
        ]
        self.fields["category"].choices = [("", _("All categories"))] + [
            (category.pk, "\u3000" * depth + category.name) for category, depth in selectors.category_tree()
        ]
