"""The Memory pane: what the team learned, browsed, edited and exported."""
