"""The Run pane: starting a run, its live streams, timeline, outcome and past runs."""
