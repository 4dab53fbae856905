"""Widgets more than one pane uses: charts, the schema form, notices, field marks, file
dialogs."""
