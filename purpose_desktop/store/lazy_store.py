"""A store opened on first use, so that building the application's services costs nothing:
opening the database imports SQLAlchemy, checks the file and may migrate it."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from purpose_desktop.store.run_journal import SqlRunJournal

if TYPE_CHECKING:
    from sqlalchemy import URL, Engine

    from purpose_desktop.store.opening import Store


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
                from purpose_desktop.store.opening import open_store

                self._store = open_store(self._target)
            return self._store

    def engine(self) -> Engine:
        return self.get().engine

    def journal(self) -> SqlRunJournal:
        """A journal that opens the store when it first writes."""
        return SqlRunJournal(self.engine)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.engine.dispose()
                self._store = None
