"""A version against the one before it, as an HTML table (difflib), field by field."""

from __future__ import annotations

import difflib

from django.utils.translation import gettext as _

from ..models import ArticleVersion

FIELDS = (("title", "Title"), ("problem", "Problem"), ("steps", "Troubleshooting steps"), ("solution", "Solution"))


def version_diff_html(old: ArticleVersion | None, new: ArticleVersion) -> list[tuple[str, str]]:
    """(field label, HTML table) for each field that changed; difflib escapes the text itself."""
    differ = difflib.HtmlDiff(wrapcolumn=60)
    changed = []
    for name, label in FIELDS:
        before = getattr(old, name) if old is not None else ""
        after = getattr(new, name)
        if before == after:
            continue
        table = differ.make_table(
            before.splitlines(),
            after.splitlines(),
            fromdesc=_("Version %(number)d") % {"number": old.number} if old is not None else "",
            todesc=_("Version %(number)d") % {"number": new.number},
            context=True,
            numlines=2,
        )
        changed.append((_(label), table))
    return changed
