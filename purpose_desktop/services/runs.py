"""The recorded runs: listed, shown with their steps, costs and events, replayed, and moved
between databases as run files.

The Run pane lists and replays them; ``purpose-desktop runs`` lists, shows, exports and
imports them. Every method does its database work off the event loop and returns plain frozen
data; a run that is not there, a file that cannot be read and a database that fails raise
:class:`UserError` with the reason. Importing this module loads neither SQLAlchemy nor the
store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.services.background import off_loop
from purpose_desktop.services.storage import storage_failures
from purpose_desktop.services.store import FAILED

if TYPE_CHECKING:
    from purpose_desktop.engine.events import Event
    from purpose_desktop.engine.recording.journal import StoredStatus
    from purpose_desktop.engine.recording.run_records import (
        CostTotalRecord,
        RunDetail,
        RunSummary,
    )
    from purpose_desktop.services.store import StoreService
    from purpose_desktop.store.opening import Store
    from purpose_desktop.store.run_files import ExportedRun


@dataclass(frozen=True)
class RunReport:
    """A run with its steps and overrides, what its calls cost by model, and its events (when
    asked for)."""

    detail: RunDetail
    costs: tuple[CostTotalRecord, ...]
    events: tuple[Event, ...] = ()


class RunsService:
    """The runs recorded in the database of ``store``."""

    def __init__(self, store: StoreService) -> None:
        self._store = store

    async def list_runs(
        self, *, limit: int, status: StoredStatus | None = None
    ) -> list[RunSummary]:
        """The newest ``limit`` runs, the newest first; only those with ``status`` if given."""
        return await self._store.run_blocking(
            lambda store: store.runs.list_runs_now(limit=limit, status=status)
        )

    async def run(self, run_id: str) -> RunDetail:
        """The run ``run_id`` (a unique start of its id will do) with its steps."""
        return await self._store.run_blocking(lambda store: store.runs.run_now(run_id))

    async def report(self, run_id: str, *, with_events: bool = False) -> RunReport:
        """The run ``run_id`` (a unique start of its id will do), its costs by model, and,
        ``with_events``, every event it recorded."""

        def read(store: Store) -> RunReport:
            detail = store.runs.run_now(run_id)
            full_id = detail.summary.id
            costs = store.runs.cost_totals_now("model", run_id=full_id)
            events = tuple(store.runs.all_events_now(full_id)) if with_events else ()
            return RunReport(detail, tuple(costs), events)

        return await self._store.run_blocking(read)

    async def stream_events(self, run_id: str) -> AsyncIterator[Event]:
        """Every event of the run ``run_id`` in order, read a page at a time off the event
        loop: what :func:`~purpose_desktop.engine.recording.replay.replay` takes."""
        store = await off_loop(self._store.opened)
        with storage_failures(FAILED):
            async for event in store.runs.stream_events(run_id):
                yield event

    async def export(self, run_id: str, path: Path) -> ExportedRun:
        """Write the run ``run_id`` (a unique start of its id will do) to ``path`` as a run
        file, replacing the file only once it is complete."""
        return await self._store.run_blocking(lambda store: _export(store, run_id, path))

    async def import_file(self, path: Path) -> RunSummary:
        """Add the run in the run file ``path`` (as :meth:`export` writes it)."""
        return await self._store.run_blocking(lambda store: _import(store, path))


# On worker threads, the store open: the run files' module loads SQLAlchemy, imported there.


def _export(store: Store, run_id: str, path: Path) -> ExportedRun:
    from purpose_desktop.store.run_files import export_run

    return export_run(store.engine, run_id, path)


def _import(store: Store, path: Path) -> RunSummary:
    from purpose_desktop.store.run_files import import_run

    return import_run(store.engine, path)
