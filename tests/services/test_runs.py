"""The runs service over a real SQLite database: runs recorded by the real journal, listed,
shown with their costs and events, replayed, exported and imported; and what a person reads
when a run is not there or the database cannot be opened."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from purpose_desktop.errors import UserError
from purpose_desktop.services.runs import RunsService
from purpose_desktop.services.store import StoreService
from purpose_desktop.store.opening import Store, StoreError, open_store
from tests.support.stores import record_cancelled_run, record_run, store_at


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with store_at(tmp_path / "purpose-desktop.sqlite3") as opened:
        yield opened


@pytest.fixture
def runs(store: Store) -> RunsService:
    return RunsService(StoreService(lambda: store))


def test_runs_are_listed_newest_first_and_by_status(
    runs: RunsService, store: Store, tmp_path: Path
) -> None:
    completed = record_run(store, tmp_path).run_id
    cancelled = record_cancelled_run(store, tmp_path)

    listed = asyncio.run(runs.list_runs(limit=10))
    assert [run.id for run in listed] == [cancelled, completed]
    assert [run.id for run in asyncio.run(runs.list_runs(limit=10, status="completed"))] == [
        completed
    ]
    assert len(asyncio.run(runs.list_runs(limit=1))) == 1


def test_a_run_is_shown_from_the_start_of_its_id_with_costs_and_events(
    runs: RunsService, store: Store, tmp_path: Path
) -> None:
    run_id = record_run(store, tmp_path).run_id

    report = asyncio.run(runs.report(run_id[:8], with_events=True))
    assert report.detail.summary.id == run_id
    assert [step.action.tool for step in report.detail.steps] == ["calculator", "finish"]
    assert [override.phi for override in report.detail.overrides] == [7]
    assert [cost.key for cost in report.costs] == ["m"]
    assert [event.seq for event in report.events] == list(range(1, len(report.events) + 1))
    assert asyncio.run(runs.report(run_id)).events == ()
    assert asyncio.run(runs.run(run_id[:8])) == report.detail


def test_a_replay_streams_every_event_in_order(
    runs: RunsService, store: Store, tmp_path: Path
) -> None:
    run_id = record_run(store, tmp_path).run_id

    async def streamed() -> list[int]:
        return [event.seq async for event in runs.stream_events(run_id)]

    recorded = asyncio.run(runs.report(run_id, with_events=True)).events
    assert asyncio.run(streamed()) == [event.seq for event in recorded]


def test_a_run_exported_and_imported_reads_back_the_same(
    runs: RunsService, store: Store, tmp_path: Path
) -> None:
    run_id = record_run(store, tmp_path).run_id
    path = tmp_path / "run.jsonl"

    exported = asyncio.run(runs.export(run_id[:8], path))
    assert exported.run_id == run_id and path.is_file()
    with store_at(tmp_path / "other.sqlite3") as other:
        imported = asyncio.run(RunsService(StoreService(lambda: other)).import_file(path))
    assert imported == asyncio.run(runs.run(run_id)).summary


def test_an_unknown_run_and_a_database_that_cannot_be_opened_are_user_errors(
    runs: RunsService, tmp_path: Path
) -> None:
    with pytest.raises(UserError, match="There is no run 0123abcd"):
        asyncio.run(runs.run("0123abcd"))

    def locked() -> Store:
        raise StoreError("The database x.sqlite3 is in use by another program.")

    with pytest.raises(UserError, match="in use by another program"):
        asyncio.run(RunsService(StoreService(locked)).list_runs(limit=10))


def test_a_database_that_fails_mid_way_says_why(tmp_path: Path) -> None:
    store = open_store(tmp_path / "broken.sqlite3")
    store.engine.dispose()
    (tmp_path / "broken.sqlite3").unlink()
    (tmp_path / "broken.sqlite3").mkdir()  # a folder where the file was: it cannot be read
    try:
        with pytest.raises(UserError, match="The database could not be used"):
            asyncio.run(RunsService(StoreService(lambda: store)).list_runs(limit=10))
    finally:
        store.engine.dispose()
