"""What a team learns and remembers: heuristics, experiences, dead ends, improvement."""
