"""REST API of tickets under /api/v1/tickets/ (manual 2.4): what the portal's workbench does,
for mobile clients. Views in views.py (tickets and their thread) and supervision.py (follow-ups,
unit settings); shapes in serializers.py; pagination and lookups in common.py."""
