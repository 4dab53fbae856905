"""What the Benchmarks pane lists: the results saved in the database and the result files in
the benchmarks folder, as one list, the newest first.

A result is saved in both places at once (by ``bench improve`` and by the pane's own runs):
the database row names its JSON file, and that file is listed once, as the database's result.
Files no database row names (copied into the folder, saved elsewhere with ``--out`` and moved
there, written while the database could not be) are listed as files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from purpose_desktop.engine.learning.improvement import ImprovementResult, ResultFile
from purpose_desktop.engine.learning.kept_results import SavedImprovement


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
