"""The teams' memory moved between databases as memory files, for ``purpose-desktop memory``:
one team's memory (or every team's) exported, and a file merged in.

Both run off the event loop and return plain frozen counts; a file that cannot be read or
written and a database that fails raise :class:`UserError` with the reason. Importing this
module loads neither SQLAlchemy nor the store.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from purpose_desktop.services.store import StoreService
    from purpose_desktop.store.memory_files import MemoryCounts, MemoryImport
    from purpose_desktop.store.opening import Store


class MemoryFilesService:
    """Memory files of the database of ``store``."""

    def __init__(self, store: StoreService) -> None:
        self._store = store

    async def export(self, path: Path, team: str | None) -> MemoryCounts:
        """Write ``team``'s memory (every team's when ``None``) to ``path``; what was
        written."""
        return await self._store.run_blocking(lambda store: _export(store, path, team))

    async def import_file(self, path: Path) -> MemoryImport:
        """Merge the memory file ``path`` into the memory; what was added and what was
        already stored."""
        return await self._store.run_blocking(lambda store: _import(store, path))


# On worker threads, the store open: the memory files' module loads SQLAlchemy, imported
# there.


def _export(store: Store, path: Path, team: str | None) -> MemoryCounts:
    from purpose_desktop.store.memory_files import export_memory

    return export_memory(store.engine, path, team)


def _import(store: Store, path: Path) -> MemoryImport:
    from purpose_desktop.store.memory_files import import_memory

    return import_memory(store.engine, path)
