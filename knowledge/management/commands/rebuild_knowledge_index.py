"""Rebuild the knowledge base's search index from the published articles, with a progress bar.

    manage.py rebuild_knowledge_index

Needed after a change of the text analysis (synonyms, stop terms) in knowledge/search_text.py, or to
check the index: publishing, editing and archiving keep it in step on their own. The rebuild runs in
one transaction, so searches keep answering from the old index until it commits.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from tqdm import tqdm

from knowledge import search
from knowledge.models import Article, ArticleState


class Command(BaseCommand):
    help = "Rebuild the knowledge base's search index from the published articles."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=2000, help="Articles read per batch (default 2000).")

    def handle(self, *args, batch: int, **options):
        total = Article.objects.filter(state=ArticleState.PUBLISHED).count()
        started = time.perf_counter()
        # The progress bar goes to stderr (as is, tqdm redraws its line): stdout keeps the summary.
        self.stderr.ending = ""
        with tqdm(
            total=total, unit="article", desc="Indexing", file=self.stderr, disable=options["verbosity"] == 0
        ) as bar:
            done = search.rebuild_index(batch=max(1, batch), progress=bar.update)
        seconds = time.perf_counter() - started
        self.stdout.write(f"Indexed {done} published articles in {seconds:.1f} s.")
