"""Opening the store: the database, migrated, with the team memory, the run journal and the
queries over it, found runs that were interrupted, all behind one :class:`Store`."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import URL, Engine
from sqlalchemy.exc import SQLAlchemyError

from purpose_desktop.errors import UserError
from purpose_desktop.store.database import open_database, writing
from purpose_desktop.store.liveness import ProcessMark, interrupt_dead_runs
from purpose_desktop.store.memory_store import SqliteMemoryStore
from purpose_desktop.store.migrations import migrate
from purpose_desktop.store.run_journal import SqlRunJournal
from purpose_desktop.store.run_queries import RunQueries

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Store:
    """Everything kept in one database. ``interrupted`` lists the runs found interrupted
    (their process died) when it was opened."""

    engine: Engine
    memory: SqliteMemoryStore
    runs: RunQueries
    interrupted: tuple[str, ...] = ()


class StoreError(UserError):
    """The database cannot be opened or written."""


def open_store(target: str | os.PathLike[str] | URL) -> Store:
    """Open (creating or migrating it if needed) the database at ``target``: a SQLite file
    path or a SQLAlchemy URL. Raises :class:`StoreError` naming the database and the cause."""
    where = _display(target)
    try:
        engine = open_database(target)
        migrate(engine)
        with writing(engine) as connection:
            interrupted = interrupt_dead_runs(connection, ProcessMark.current())
    except SQLAlchemyError as exc:
        raise StoreError(f"The database {where} cannot be opened: {exc.__cause__ or exc}"
                         ) from None
    if interrupted:
        log.info("Runs interrupted when their process ended: %s", ", ".join(interrupted))
    return Store(engine, SqliteMemoryStore(engine), RunQueries(engine), tuple(interrupted))


class LazyStore:
    """Opens the store once, on first use, from whichever thread needs it first; the others
    wait for it. A failed opening is raised to each caller, and the next call tries again."""

    def __init__(self, target: str | os.PathLike[str] | URL) -> None:
        self._target = target
        self._store: Store | None = None
        self._lock = threading.Lock()

    def get(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = open_store(self._target)
            return self._store

    def engine(self) -> Engine:
        return self.get().engine

    @property
    def opened(self) -> Store | None:
        return self._store

    def journal(self) -> SqlRunJournal:
        """A journal that opens the store when it first writes."""
        return SqlRunJournal(self.engine)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.engine.dispose()
                self._store = None


def _display(target: str | os.PathLike[str] | URL) -> str:
    if isinstance(target, URL):
        return target.render_as_string(hide_password=True)
    if isinstance(target, str) and "://" in target:
        from sqlalchemy import make_url

        return make_url(target).render_as_string(hide_password=True)
    return str(Path(target))
