"""What the Benchmarks pane lists: the results saved in the database and the result files in
the benchmarks folder, as one list, the newest first.

A result is saved in both places at once (by ``bench improve`` and by the pane's own runs):
the database row names its JSON file, and that file is listed once, as the database's result.
Files no database row names (copied into the folder, saved elsewhere with ``--out`` and moved
there, written while the database could not be) are listed as files. Reading happens on a
worker thread (:func:`read_results`); the pane shows the plain data that comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.engine.learning.improvement import ImprovementResult, ResultFile, list_results
from purpose_desktop.errors import UserError

if TYPE_CHECKING:
    from purpose_desktop.engine.learning.kept_results import SavedImprovement
    from purpose_desktop.store.opening import Store

OpenStore = Callable[[], "Store"]


@dataclass(frozen=True)
class ListedResult:
    """One line of the list: a result saved in the database (``saved``), or a file
    (``file``), read or not. ``when`` orders the list: when the benchmark finished, or when
    the file was written."""

    when: float
    saved: SavedImprovement | None = None
    file: ResultFile | None = None

    @property
    def path(self) -> Path | None:
        """The JSON file of the result, if it has one."""
        if self.saved is not None:
            return self.saved.file
        return None if self.file is None else self.file.path

    @property
    def result(self) -> ImprovementResult | None:
        """The result of a file that could be read; a database's is read when shown."""
        return None if self.file is None else self.file.result

    @property
    def problem(self) -> str | None:
        """Why the file cannot be read, if it cannot."""
        return None if self.file is None else self.file.problem


@dataclass(frozen=True)
class ResultListing:
    """The list, and why the database's results are missing from it, if they are."""

    entries: tuple[ListedResult, ...]
    problem: str | None = None


def read_results(folder: Path, open_store: OpenStore | None) -> ResultListing:
    """The database's results and the folder's files, merged (see the module). Blocks: call
    it on a worker thread. A database that cannot be read leaves the files, with why."""
    files = list_results(folder)
    if open_store is None:
        return ResultListing(merged((), files))
    try:
        # The store first: it imports the SQL side under its lock, one thread at a time.
        engine = open_store().engine
    except UserError as exc:
        return _files_only(files, exc)
    from sqlalchemy.exc import SQLAlchemyError

    from purpose_desktop.store.improvement_store import ImprovementStore

    try:
        saved = ImprovementStore(engine).list_saved()
    except SQLAlchemyError as exc:
        return _files_only(files, exc)
    return ResultListing(merged(saved, files))


def _files_only(files: Sequence[ResultFile], problem: Exception) -> ResultListing:
    return ResultListing(
        merged((), files), f"The results saved in the database cannot be read: {problem}"
    )


def merged(
    saved: Sequence[SavedImprovement], files: Sequence[ResultFile]
) -> tuple[ListedResult, ...]:
    """``saved`` and those of ``files`` that none of them names, the newest first."""
    named = {_same(item.file) for item in saved if item.file is not None}
    entries = [ListedResult(item.created.timestamp(), saved=item) for item in saved]
    entries += [
        ListedResult(file.modified, file=file) for file in files if _same(file.path) not in named
    ]
    return tuple(sorted(entries, key=lambda entry: -entry.when))


def _same(path: Path) -> Path:
    # The folder may be reached through a link, or named relative to another folder.
    return path.resolve()
