"""The ``app`` fixture of the journeys: the application started in a fresh home folder (see
``application.py``), closed afterwards as the application closes."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from purpose_desktop.config import Paths
from tests.journeys.application import App, RunInLoop, Screenshot


@pytest.fixture
def app(
    home: Paths, screenshot: Screenshot, run_in_qt_loop: RunInLoop, request: pytest.FixtureRequest
) -> Iterator[App]:
    """The application in a fresh home; closed afterwards as the application closes, with
    no error dialog left open (a task that raised would have opened one)."""
    # Named after the journey's module: test_first_run.py's pictures are journey-first-run-*.
    journey = request.path.stem.removeprefix("test_").replace("_", "-")
    started = App(home, screenshot, journey)
    yield started
    errors = started.close(run_in_qt_loop)
    # Qt objects the loop left in reference cycles go now, on the thread that made them.
    gc.collect()
    assert errors == []
