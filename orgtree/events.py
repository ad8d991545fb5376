"""Realtime event types of the org tree: none yet. A unit's changes reach people through the apps
that act on them (tickets follow a moved unit in the same transaction). New types are declared here
with ``helpdesk.core.event_types.register``, as tickets/events.py does."""
