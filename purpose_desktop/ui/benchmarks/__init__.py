"""The Benchmarks pane: running a suite repeatedly and charting improvement."""
