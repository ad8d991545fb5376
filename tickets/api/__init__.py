"""REST API of tickets under /api/v1/tickets/ (manual 2.4): what the portal's workbench does,
for mobile clients. Views in views.py (tickets and their thread), supervision.py (follow-ups,
unit settings) and reports.py (the report figures, with their query serializer); shapes in
serializers.py; routes in urls.py; pagination and lookups in common.py (its keyset paginators move to
helpdesk/core/api/pagination.py once that settles)."""
