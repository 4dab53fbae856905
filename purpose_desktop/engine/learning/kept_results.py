"""Where a finished improvement benchmark was kept: its file and its row in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class SavedImprovement:
    """A result saved in the database, as a list shows it. ``file`` is the JSON file it was
    saved to at the same time, if any."""

    id: int
    suite: str
    team: str
    model: str
    created: datetime
    file: Path | None


@dataclass(frozen=True)
class KeptResult:
    """Where :func:`keep_result` put a result: always its file; in the database as ``saved``,
    or ``problem`` says why not (neither when there is no database)."""

    file: Path
    saved: SavedImprovement | None
    problem: str | None = None
