"""Portal pages of notices: lists and the notice page (pages), the editor (editor), statistics (stats)."""
