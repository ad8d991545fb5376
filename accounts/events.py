"""Realtime event types of accounts: none of its own. The end of a session, token or account reaches
its sockets as the socket's own ``session.ended`` frame (helpdesk.core.event_types, sent by
helpdesk.signals). New types are declared here with ``helpdesk.core.event_types.register``, as
tickets/events.py does."""
