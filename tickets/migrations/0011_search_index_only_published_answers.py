"""The search index holds a ticket's answer only while the asker may read it (tickets.services.core.
_index_published_answer). Rows written before held every submitted draft: rewrite those of tickets
whose answer is not published (new, in progress, waiting, in review) to their title and description,
so the asker's search stops finding a ticket by a draft's words."""

from django.db import migrations

BATCH = 1000
UNPUBLISHED_STATES = ("new", "in_progress", "waiting_asker", "pending_review")


def drop_unpublished_answers(apps, schema_editor):
    from helpdesk.core.search import search_text_for

    Ticket = apps.get_model("tickets", "Ticket")
    TicketSearch = apps.get_model("tickets", "TicketSearch")
    # Open tickets only (a few percent of the table), and of those only the ones with an answer text.
    tickets = Ticket.objects.filter(state__in=UNPUBLISHED_STATES).exclude(solution="").order_by("pk")
    last = 0
    while True:
        batch = list(tickets.filter(pk__gt=last).values_list("pk", "title", "description")[:BATCH])
        if not batch:
            return
        for pk, title, description in batch:
            TicketSearch.objects.filter(ticket_id=pk).update(text=search_text_for(title, description))
        last = batch[-1][0]


class Migration(migrations.Migration):
    dependencies = [("tickets", "0010_search_index_short_pending_list")]

    operations = [migrations.RunPython(drop_unpublished_answers, migrations.RunPython.noop, elidable=True)]
