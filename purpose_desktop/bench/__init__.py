"""Measurements printed by ``purpose-desktop bench``: ratios from one run, not timed tests."""
