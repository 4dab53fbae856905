"""The database the app keeps its runs and team memory in, opened on first use, and what the
person should hear about it when the app starts.

The services reach the database through :class:`StoreService`: it opens the store on a worker
thread the first time it is needed (opening imports SQLAlchemy and may migrate the file, which
the window does not wait for), and turns a database that fails mid-way (locked by another
program, a full disk, a server gone) into a :class:`~purpose_desktop.errors.UserError` saying
so. Importing this module loads neither SQLAlchemy nor the engine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from purpose_desktop.services.background import off_loop
from purpose_desktop.services.storage import OpenStore, storage_failures

if TYPE_CHECKING:
    from purpose_desktop.engine.recording.run_records import RunSummary
    from purpose_desktop.store.opening import Store

T = TypeVar("T")

#: Interrupted runs the start-up report lists at most.
INTERRUPTED_LISTED = 100
#: What a database failing mid-way is said to have done, before why.
FAILED = "The database could not be used"


@dataclass(frozen=True)
class StoreReport:
    """What the person should hear about the store when the app starts: runs interrupted
    when their process died (newest first), and the notice of a damaged database replaced by
    a new one."""

    interrupted: tuple[RunSummary, ...] = ()
    recovery_notice: str | None = None


class StoreService:
    """The store behind every service, opened by ``open_store`` when first used."""

    def __init__(self, open_store: OpenStore) -> None:
        self._open_store = open_store

    async def report(self) -> StoreReport:
        """Runs interrupted when their process died, and whether the database had to be
        replaced; opens the store if it is not open yet."""
        return await self.run_blocking(_report)

    async def run_blocking(self, work: Callable[[Store], T]) -> T:
        """``work(store)`` on a worker thread, the store opened first if need be."""

        def opened_and_worked() -> T:
            store = self._open_store()
            with storage_failures(FAILED):
                return work(store)

        return await off_loop(opened_and_worked)

    async def run(self, work: Callable[[Store], Awaitable[T]]) -> T:
        """Await ``work(store)`` (the store's own async methods, which run their SQL on worker
        threads), the store opened first, on a worker thread, if need be."""
        store = await off_loop(self._open_store)
        with storage_failures(FAILED):
            return await work(store)

    def opened(self) -> Store:
        """The store, opened if need be. Blocks: call it on a worker thread."""
        return self._open_store()


def _report(store: Store) -> StoreReport:
    interrupted = store.runs.list_runs_now(status="interrupted", limit=INTERRUPTED_LISTED)
    return StoreReport(tuple(interrupted), store.recovery_notice)
