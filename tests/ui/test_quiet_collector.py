"""Full garbage collections wait for the window to go quiet, and start-up's objects are left out
of them."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from typing import Any

import pytest
from purpose_desktop.ui.quiet_collector import QuietCollector, freeze_start_up
from pytestqt.qtbot import QtBot


@pytest.fixture
def full_collections() -> Iterator[list[float]]:
    """When each full collection (of the oldest generation) ended. Python's own automatic
    collections are off meanwhile, so every collection seen is one that was asked for."""
    ended: list[float] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            ended.append(time.monotonic())

    gc.disable()
    gc.callbacks.append(note)
    try:
        yield ended
    finally:
        gc.callbacks.remove(note)
        gc.enable()


def age_objects_into_the_oldest_generation() -> None:
    """Collections of the two younger generations, as a run's allocations cause them."""
    gc.collect(0)
    gc.collect(1)
    assert gc.get_count()[2] > 0


def test_a_full_collection_runs_only_after_the_stream_goes_quiet(
    qtbot: QtBot, full_collections: list[float]
) -> None:
    collector = QuietCollector(quiet_ms=200)
    age_objects_into_the_oldest_generation()
    started = time.monotonic()
    # Tokens keep coming for 0.6 s: no full collection is started by the collector meanwhile.
    while time.monotonic() - started < 0.6:
        collector.busy("agent", "text")
        qtbot.wait(50)
    last_busy = time.monotonic()
    assert not [moment for moment in full_collections if moment >= started]
    qtbot.waitUntil(lambda: bool(full_collections), timeout=2000)
    assert full_collections[-1] - last_busy >= 0.15
    assert gc.get_count()[2] == 0


def test_nothing_is_collected_when_nothing_reached_the_oldest_generation(
    qtbot: QtBot, full_collections: list[float]
) -> None:
    gc.collect()
    full_collections.clear()
    collector = QuietCollector(quiet_ms=50)
    collector.busy(object())
    qtbot.wait(300)
    assert full_collections == []


def test_objects_made_before_the_freeze_are_left_out_of_collections() -> None:
    made_at_start_up = [[] for _ in range(1000)]  # lists: objects the collector tracks
    try:
        freeze_start_up()
        assert gc.get_freeze_count() >= len(made_at_start_up)
        gc.collect()
        assert gc.get_freeze_count() >= len(made_at_start_up)
    finally:
        gc.unfreeze()
