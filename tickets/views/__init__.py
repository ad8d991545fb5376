"""Portal pages of technical support (server-rendered, under /tickets/): ``tickets`` (the
workbench, filing, a ticket's page and actions, search, follow-ups and the review switch),
``reports`` (the report page and its exports) and ``attachments`` (the permission-checked download).
Thin like the API's views: forms shape input, tickets.services writes, tickets.selectors reads."""
