"""A team's memory as a file: export heuristics, experiences and score anchors as one JSON
document, and import such a document into a database (another one, or the same one back).

The document, one team's memory or every team's::

    {"format": "purpose-desktop-memory", "version": 1, "team": "Calculators" (or null),
     "exported_at": 1767225600.0,
     "heuristics": [{"team", "tier", "pattern", "strategy", "q_value", "uses", "successes",
                     "source", "pinned", "run_ids": [...], "created_at"}, ...],
     "experiences": [{"team", "task", "summary", "outcome", "final_phi", "steps", "run_id",
                      "q_value", "created_at"}, ...],
     "score_anchors": [{"team", "task", "state", "critic_score", "human_score", "reason",
                        "run_id", "created_at"}, ...]}

Database ids are left out: they mean nothing in another database. Heuristics come best first
(pinned, then by Q-value), the rest oldest first. An import checks every record before it
writes anything (the error names the first bad one: ``heuristics[3].q_value: ...``), then
writes them all in one transaction.

What is stored already is merged, not doubled. A heuristic is the same as a stored one when
its team, tier, pattern and strategy are (the key the store keeps them unique by); the stored
one then gains the runs that used the imported one, stays or becomes pinned if either is, and
counts as a person's (``"human"``) if either does. It takes the Q-value, uses and successes
of whichever copy has the more uses (the stored one on a tie). Counts are not added up: two
copies of one memory usually share their history (one was exported from the other), and
adding them would count the same uses twice. An experience or an anchor equal to a stored
one in all but its Q-value and time is skipped. So importing a file a second time changes
nothing.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import ColumnElement, Connection, Engine, Row, Select, Table, insert, select, update

from purpose_desktop.engine.learning.memory import HeuristicSource, Tier
from purpose_desktop.errors import UserError
from purpose_desktop.safe_load import load_json
from purpose_desktop.store.database import reading
from purpose_desktop.store.file_format import (
    check_format,
    first_problem,
    in_one_transaction,
    reading_errors,
    replacing,
)
from purpose_desktop.store.memory_tables import (
    EXPERIENCES,
    HEURISTIC_RUNS,
    HEURISTICS,
    SCORE_ANCHORS,
)
from purpose_desktop.store.on_conflict import insert_on_conflict

FORMAT: Final = "purpose-desktop-memory"
VERSION: Final = 1

QValue = Annotated[float, Field(ge=0.0, le=1.0)]
Score = Annotated[float, Field(ge=0.0, le=10.0)]
Text = Annotated[str, Field(min_length=1)]


class MemoryFileError(UserError):
    """A memory file that cannot be read or imported; the message names the record at fault."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class HeuristicRecord(_Record):
    team: Text
    tier: Tier
    pattern: str
    strategy: Text
    q_value: QValue = 0.5
    uses: int = Field(default=0, ge=0)
    successes: int = Field(default=0, ge=0)
    source: HeuristicSource = "distilled"
    pinned: bool = False
    run_ids: tuple[str, ...] = ()
    created_at: float = Field(default_factory=time.time)

    @model_validator(mode="after")
    def _successes_within_uses(self) -> HeuristicRecord:
        if self.successes > self.uses:
            raise ValueError(f"{self.successes} successes in {self.uses} uses")
        return self


class ExperienceRecord(_Record):
    team: Text
    task: str
    summary: str
    outcome: Literal["completed", "failed", "cancelled"]
    final_phi: Score
    steps: int = Field(ge=0)
    run_id: str
    q_value: QValue = 0.5
    created_at: float = Field(default_factory=time.time)


class AnchorRecord(_Record):
    team: Text
    task: str
    state: str
    critic_score: Score
    human_score: Score
    reason: str = ""
    run_id: str
    created_at: float = Field(default_factory=time.time)


class MemoryDocument(_Record):
    """A memory file's content: one team's memory (``team``) or every team's (``None``)."""

    format: Literal["purpose-desktop-memory"] = FORMAT
    version: Literal[1] = VERSION
    team: str | None = None
    exported_at: float = Field(default_factory=time.time)
    heuristics: tuple[HeuristicRecord, ...] = ()
    experiences: tuple[ExperienceRecord, ...] = ()
    score_anchors: tuple[AnchorRecord, ...] = ()


@dataclass(frozen=True)
class MemoryCounts:
    heuristics: int
    experiences: int
    score_anchors: int


@dataclass(frozen=True)
class MemoryImport:
    """What an import did: records added, and records already stored (merged or skipped)."""

    heuristics_added: int = 0
    heuristics_merged: int = 0
    experiences_added: int = 0
    experiences_skipped: int = 0
    anchors_added: int = 0
    anchors_skipped: int = 0


# --- export --------------------------------------------------------------------------


def export_memory(engine: Engine, path: Path, team: str | None = None) -> MemoryCounts:
    """Write ``team``'s memory (every team's when ``None``) to ``path`` as a memory file,
    replacing the file only once it is complete. ``UserError`` if the team has no memory."""
    document = read_memory(engine, team)
    counts = MemoryCounts(
        len(document.heuristics), len(document.experiences), len(document.score_anchors)
    )
    if team is not None and counts == MemoryCounts(0, 0, 0):
        raise UserError(f"No memory is stored for a team called {team!r}; nothing was exported.")
    with replacing(path) as stream:
        stream.write(
            json.dumps(document.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
        )
    return counts


def read_memory(engine: Engine, team: str | None = None) -> MemoryDocument:
    """``team``'s memory (every team's when ``None``) as a document, read in one snapshot."""
    h = HEURISTICS.c
    with reading(engine) as connection:
        heuristics = connection.execute(
            select(HEURISTICS)
            .where(*_of_team(HEURISTICS, team))
            .order_by(h.team, h.pinned.desc(), h.q_value.desc(), h.id)
        ).all()
        runs = _heuristic_runs(connection, _of_team(HEURISTICS, team))
        experiences = connection.execute(_oldest_first(EXPERIENCES, team)).all()
        anchors = connection.execute(_oldest_first(SCORE_ANCHORS, team)).all()
    return MemoryDocument(
        team=team,
        heuristics=tuple(
            _from_row(HeuristicRecord, row, run_ids=tuple(runs[row.id])) for row in heuristics
        ),
        experiences=tuple(_from_row(ExperienceRecord, row) for row in experiences),
        score_anchors=tuple(_from_row(AnchorRecord, row) for row in anchors),
    )


def _of_team(table: Table, team: str | None) -> list[ColumnElement[bool]]:
    """That a row of ``table`` is ``team``'s: every row when ``team`` is ``None``."""
    return [] if team is None else [table.c.team == team]


def _oldest_first(table: Table, team: str | None) -> Select[Any]:
    """``team``'s rows of ``table`` (every team's when ``None``), by team, oldest first."""
    return select(table).where(*_of_team(table, team)).order_by(table.c.team, table.c.id)


def _heuristic_runs(
    connection: Connection, where: Sequence[ColumnElement[bool]]
) -> dict[int, list[str]]:
    """The runs that used each heuristic within ``where``, in the order they were noted."""
    runs: dict[int, list[str]] = defaultdict(list)
    rows = connection.execute(
        select(HEURISTIC_RUNS.c.heuristic_id, HEURISTIC_RUNS.c.run_id)
        .join(HEURISTICS, HEURISTICS.c.id == HEURISTIC_RUNS.c.heuristic_id)
        .where(*where)
        .order_by(HEURISTIC_RUNS.c.id)
    )
    for heuristic_id, run_id in rows:
        runs[heuristic_id].append(run_id)
    return runs


R = TypeVar("R", bound=_Record)


def _from_row(model: type[R], row: Row[Any], **more: Any) -> R:
    values = {name: value for name, value in row._mapping.items() if name in model.model_fields}
    return model.model_validate({**values, **more})


# --- import ----------------------------------------------------------------------------


def read_memory_file(path: Path) -> MemoryDocument:
    """The memory file at ``path``, every record checked; :class:`MemoryFileError` names the
    first bad one."""
    with reading_errors(path, "memory file", MemoryFileError):
        content = path.read_text(encoding="utf-8")
    try:
        return parse_memory(content)
    except ValueError as exc:
        raise MemoryFileError(f"{path}: {exc}") from None


def parse_memory(content: str) -> MemoryDocument:
    """The memory document ``content`` holds; ``ValueError`` naming the first problem."""
    try:
        data = load_json(content)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {exc.lineno}: not valid JSON: {exc.msg}") from None
    check_format(data, FORMAT, VERSION, "memory file")
    try:
        return MemoryDocument.model_validate(data)
    except ValidationError as exc:
        raise ValueError(first_problem(exc)) from None


def import_memory(engine: Engine, path: Path) -> MemoryImport:
    """Check the memory file at ``path`` in full, then merge it into the database in one
    transaction (see the module's description of merging)."""
    return store_memory(engine, read_memory_file(path))


def store_memory(engine: Engine, document: MemoryDocument) -> MemoryImport:
    """Merge ``document`` into the database in one transaction."""
    with in_one_transaction(engine, "memory") as connection:
        merged = [_merge_heuristic(connection, record) for record in document.heuristics]
        experiences = [
            _add_unless_stored(
                connection, EXPERIENCES, _EXPERIENCE_KEY, record.model_dump(mode="json")
            )
            for record in document.experiences
        ]
        anchors = [
            _add_unless_stored(
                connection, SCORE_ANCHORS, _ANCHOR_KEY, record.model_dump(mode="json")
            )
            for record in document.score_anchors
        ]
    return MemoryImport(
        heuristics_added=merged.count(False),
        heuristics_merged=merged.count(True),
        experiences_added=experiences.count(True),
        experiences_skipped=experiences.count(False),
        anchors_added=anchors.count(True),
        anchors_skipped=anchors.count(False),
    )


_HEURISTIC_KEY = ("team", "tier", "pattern", "strategy")
_EXPERIENCE_KEY = ("team", "run_id", "task", "summary", "outcome", "final_phi", "steps")
_ANCHOR_KEY = ("team", "run_id", "task", "state", "critic_score", "human_score", "reason")


def _merge_heuristic(connection: Connection, record: HeuristicRecord) -> bool:
    """Add ``record``, or merge it into the same heuristic stored; ``True`` if merged."""
    values = record.model_dump(mode="json", exclude={"run_ids"})
    stored = connection.execute(
        select(HEURISTICS).where(*_matching(HEURISTICS, _HEURISTIC_KEY, values))
    ).first()
    if stored is None:
        heuristic_id = connection.execute(
            insert(HEURISTICS).values(values).returning(HEURISTICS.c.id)
        ).scalar_one()
    else:
        heuristic_id = stored.id
        evidence = values if record.uses > stored.uses else stored._mapping
        connection.execute(
            update(HEURISTICS)
            .where(HEURISTICS.c.id == heuristic_id)
            .values(
                q_value=evidence["q_value"],
                uses=evidence["uses"],
                successes=evidence["successes"],
                pinned=bool(stored.pinned) or record.pinned,
                source="human" if "human" in (stored.source, record.source) else stored.source,
            )
        )
    if record.run_ids:
        connection.execute(
            insert_on_conflict(connection, HEURISTIC_RUNS).on_conflict_do_nothing(
                index_elements=[HEURISTIC_RUNS.c.heuristic_id, HEURISTIC_RUNS.c.run_id]
            ),
            [{"heuristic_id": heuristic_id, "run_id": run_id} for run_id in record.run_ids],
        )
    return stored is not None


def _add_unless_stored(
    connection: Connection, table: Table, key: Sequence[str], values: dict[str, Any]
) -> bool:
    """Insert ``values`` into ``table`` unless a row equal in ``key`` is there; ``True`` if
    inserted."""
    found = connection.execute(
        select(table.c.id).where(*_matching(table, key, values)).limit(1)
    ).first()
    if found is not None:
        return False
    connection.execute(insert(table).values(values))
    return True


def _matching(
    table: Table, columns: Sequence[str], values: dict[str, Any]
) -> list[ColumnElement[bool]]:
    """That a row of ``table`` equals ``values`` in ``columns``."""
    return [table.c[column] == values[column] for column in columns]
