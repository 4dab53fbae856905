"""Runs as files: export a stored run as JSON lines, and import such a file into a database.

A run file holds one JSON object a line:

1. a header describing the run: ``"format": "purpose-desktop-run"``, ``"version": 1``, the
   run's id, team name and team (the team file's content, as an object), the team file's path,
   task, status, first agent, answer, error, totals, the run and step it was forked from, its
   start and end times, and how many events and checkpoints follow;
2. every event, as :func:`~purpose_desktop.engine.recording.event_codec.encode_event` writes it, in
   order: ``seq`` 1, 2, 3, ...;
3. every checkpoint, as ``{"type": "Checkpoint", "last_seq": N, "checkpoint": {...}}``, where
   ``N`` is the last event before it.

Checkpoints are in the file because an imported run must be resumable and forkable like the
original, and they cannot be rebuilt from the events (they hold what each agent's model saw).
Nothing else is: every checkpoint holds the steps up to it, and the run's costs and score
overrides are its ``CostRecorded`` and ``ScoreOverridden`` events. An import replays the
records through the run journal's own row writer, in the order the journal got them, so it
writes the rows that recording the run wrote: the same steps, checkpoints, costs and
overrides. The header's totals then restore the run's row, so ``runs show`` prints the same.

An import reads and checks the whole file before it writes anything: the header; that every
event decodes, belongs to the header's run and comes in order without a gap; that every
checkpoint decodes and follows an event of the file; that the counts match the header (a file
cut short is refused). The first problem is reported with its line number. Then everything is
written in one transaction.

A run whose id is already stored is refused: an id names one run, and importing a file twice
would otherwise keep two copies of it under different names. A run still ``running`` when it
was exported is imported as ``interrupted``: no process here runs it, and it can be resumed.
Not in the file: what the run's tools wrote to its workspace folder. A file's heuristic ids
(in steps and checkpoints) are those of the database it came from.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, Row, Update, select, update

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.recording.checkpoint import Checkpoint
from purpose_desktop.engine.recording.event_codec import decode_event, encode_event
from purpose_desktop.engine.recording.journal import RunHeader, StoredStatus
from purpose_desktop.engine.recording.run_records import RunSummary
from purpose_desktop.engine.specs import TeamSpec
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
from purpose_desktop.store.journal_rows import JournalRows
from purpose_desktop.store.liveness import ProcessMark
from purpose_desktop.store.run_queries import RunQueries
from purpose_desktop.store.run_tables import CHECKPOINTS, RUNS

FORMAT = "purpose-desktop-run"
VERSION = 1
CHECKPOINT = "Checkpoint"
#: The statuses an imported run can be resumed from (``running`` is imported as interrupted).
RESUMABLE: tuple[StoredStatus, ...] = ("running", "interrupted", "cancelled")

# An imported run belongs to no process: liveness checks never take it for a live one.
_NO_PROCESS = ProcessMark("", 0, 0.0)


class RunFileError(UserError):
    """A run file that cannot be read or imported; the message names the line at fault."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class RunFileHeader(_Record):
    """The first line of a run file: the run, beyond its events."""

    format: Literal["purpose-desktop-run"]
    version: Literal[1]
    id: str = Field(pattern=r"^[0-9a-f]{8,64}$")
    team: str
    team_spec: TeamSpec
    team_source: str | None = None
    task: str
    status: StoredStatus
    agent: str = ""
    answer: str = ""
    error: str | None = None
    steps: int = Field(ge=0)
    phi: float
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    seconds: float = Field(ge=0)
    cost: float = Field(ge=0)
    events: int = Field(ge=0)
    checkpoints: int = Field(ge=0)
    parent_run_id: str | None = None
    forked_from_step: int | None = None
    started_at: float
    finished_at: float | None = None


class CheckpointRecord(_Record):
    """A checkpoint line: the run's state after a step, and the last event before it."""

    type: Literal["Checkpoint"]
    last_seq: int = Field(ge=0)
    checkpoint: Checkpoint


# The header's fields that are columns of the run's row, as they are named there.
_RUN_COLUMNS = tuple(
    name
    for name in RunFileHeader.model_fields
    if name not in ("format", "version", "events", "checkpoints")
)


@dataclass(frozen=True)
class RunFile:
    """A run file's records, read and checked."""

    header: RunFileHeader
    events: tuple[ev.Event, ...]
    checkpoints: tuple[CheckpointRecord, ...]

    @property
    def copied_events(self) -> int:
        """How many of a fork's first events are a copy of its parent's: those up to the
        checkpoint it was forked from (0 for a run that is not a fork)."""
        step = self.header.forked_from_step
        if self.header.parent_run_id is None or step is None:
            return 0
        return next(
            record.last_seq for record in self.checkpoints if record.checkpoint.step == step
        )


@dataclass(frozen=True)
class ExportedRun:
    run_id: str
    events: int
    checkpoints: int


# --- export --------------------------------------------------------------------------


def export_run(engine: Engine, run_id: str, path: Path) -> ExportedRun:
    """Write the run ``run_id`` (a unique prefix of it will do) to ``path`` as a run file,
    replacing the file only once it is complete. ``UserError`` for an unknown run or a file
    that cannot be written."""
    queries = RunQueries(engine)
    full_id = queries.run_now(run_id).summary.id
    # Checkpoints before events: a run still going may add both meanwhile, and each
    # checkpoint then still follows events that are in the file.
    with reading(engine) as connection:
        run = connection.execute(select(RUNS).where(RUNS.c.id == full_id)).one()
        checkpoints = connection.execute(
            select(CHECKPOINTS.c.last_seq, CHECKPOINTS.c.data)
            .where(CHECKPOINTS.c.run_id == full_id)
            .order_by(CHECKPOINTS.c.step)
        ).all()
    events = list(queries.all_events_now(full_id))
    with replacing(path) as stream:
        _write_line(stream, _header_record(run, len(events), len(checkpoints)))
        for event in events:
            _write_line(stream, encode_event(event))
        for row in checkpoints:
            _write_line(
                stream,
                {
                    "type": CHECKPOINT,
                    "last_seq": int(row.last_seq),
                    "checkpoint": json.loads(row.data),
                },
            )
    return ExportedRun(full_id, len(events), len(checkpoints))


def _header_record(run: Row[Any], events: int, checkpoints: int) -> dict[str, Any]:
    columns = {name: getattr(run, name) for name in _RUN_COLUMNS}
    columns["team_spec"] = json.loads(run.team_spec)
    return {
        "format": FORMAT,
        "version": VERSION,
        **columns,
        "events": events,
        "checkpoints": checkpoints,
    }


def _write_line(stream: TextIO, record: dict[str, Any]) -> None:
    stream.write(json.dumps(record, ensure_ascii=False) + "\n")


# --- reading ---------------------------------------------------------------------------


def read_run_file(path: Path) -> RunFile:
    """Read and check every record of the run file at ``path``; :class:`RunFileError`
    names the first line at fault."""
    with reading_errors(path, "run file", RunFileError), path.open(encoding="utf-8") as stream:
        return parse_run_lines(stream, str(path))


def parse_run_lines(lines: Iterable[str], name: str = "the run file") -> RunFile:
    """The run file whose lines are ``lines`` (blank ones are skipped), checked in full;
    ``name`` is what errors call it."""
    reader = _RunFileReader()
    number = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            reader.add(load_json(line.rstrip("\r\n")), number)
        except json.JSONDecodeError as exc:
            raise RunFileError(
                f"{name}, line {number}: not valid JSON: {exc.msg} (column {exc.colno})"
            ) from None
        except ValidationError as exc:
            raise RunFileError(f"{name}, line {number}: {first_problem(exc)}") from None
        except ValueError as exc:
            raise RunFileError(f"{name}, line {number}: {exc}") from None
    try:
        return reader.finish()
    except _MisplacedRecord as exc:
        raise RunFileError(f"{name}, line {exc.line}: {exc}") from None
    except ValueError as exc:
        raise RunFileError(f"{name}: {exc}") from None


class _MisplacedRecord(ValueError):
    """A record that is valid on its own but does not fit the file (known at its end)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class _RunFileReader:
    """Takes a run file's records in order and checks each, and the whole at the end."""

    def __init__(self) -> None:
        self._header: RunFileHeader | None = None
        self._events: list[ev.Event] = []
        self._checkpoints: list[tuple[int, CheckpointRecord]] = []

    def add(self, record: Any, line: int) -> None:
        if self._header is None:
            check_format(record, FORMAT, VERSION, "run file")
            self._header = RunFileHeader.model_validate(record)
        elif isinstance(record, dict) and record.get("type") == CHECKPOINT:
            self._checkpoints.append((line, CheckpointRecord.model_validate(record)))
        else:
            self._add_event(decode_event(record), self._header.id)

    def _add_event(self, event: ev.Event, run_id: str) -> None:
        if event.run_id != run_id:
            raise ValueError(
                f"the event belongs to run {event.run_id}, not to the file's run {run_id}"
            )
        expected = len(self._events) + 1
        if event.seq != expected:
            raise ValueError(
                f"event number (seq) {event.seq} where {expected} was expected: "
                "events come in order, numbered 1, 2, 3, ... without a gap"
            )
        self._events.append(event)

    def finish(self) -> RunFile:
        header = self._header
        if header is None:
            raise ValueError("the file is empty; a run file starts with the run's header")
        for what, counted, found in (
            ("events", header.events, len(self._events)),
            ("checkpoints", header.checkpoints, len(self._checkpoints)),
        ):
            if counted != found:
                raise ValueError(
                    f"the header (line 1) counts {counted} {what} but the file "
                    f"holds {found}; it may have been cut short or edited"
                )
        if not self._events:
            raise ValueError("the file holds no events; a recorded run has at least its start")
        if header.status in RESUMABLE and not self._checkpoints:
            raise ValueError(
                f"the run is {header.status} but the file holds no checkpoint, so "
                "it could never be resumed"
            )
        steps = self._checkpoint_steps()
        forked = header.forked_from_step
        if header.parent_run_id is not None and forked is not None and forked not in steps:
            raise ValueError(
                f"the run was forked after step {forked} but the file lacks the "
                "checkpoint after that step, where the fork's own events begin"
            )
        return RunFile(
            header, tuple(self._events), tuple(record for _, record in self._checkpoints)
        )

    def _checkpoint_steps(self) -> set[int]:
        """The steps checkpointed, each once and after an event of the file."""
        steps: set[int] = set()
        for line, record in self._checkpoints:
            if record.last_seq > len(self._events):
                raise _MisplacedRecord(
                    f"the checkpoint follows event {record.last_seq}, which the file lacks", line
                )
            if record.checkpoint.step in steps:
                raise _MisplacedRecord(
                    f"a second checkpoint after step {record.checkpoint.step}", line
                )
            steps.add(record.checkpoint.step)
        return steps


# --- import ----------------------------------------------------------------------------


def import_run(engine: Engine, path: Path) -> RunSummary:
    """Check the run file at ``path`` in full, then store its run in one transaction.
    :class:`RunFileError` for a bad file or a run already stored; nothing is written then."""
    run = read_run_file(path)
    store_run(engine, run)
    return RunQueries(engine).run_now(run.header.id).summary


def store_run(engine: Engine, run: RunFile) -> None:
    """Store a run read from a file, in one transaction: its row, its events, and the steps,
    checkpoints, costs and score overrides they imply, as the run journal writes them."""
    header = run.header
    with in_one_transaction(engine, "run") as connection:
        stored = connection.execute(select(RUNS.c.id).where(RUNS.c.id == header.id)).first()
        if stored is not None:
            raise RunFileError(
                f"Run {header.id} is already stored (imported before?); nothing was imported."
            )
        rows = JournalRows(connection, _NO_PROCESS, {})
        # Without the parent: a fork's file carries the history it copied from it.
        rows.add(
            RunHeader(
                header.id,
                header.team,
                header.team_spec.model_dump_json(),
                header.team_source,
                header.task,
                started_at=header.started_at,
            )
        )
        for item in _journal_order(run):
            # A fork's copied history keeps its costs and score overrides with the parent
            # alone: they happened once.
            copied = isinstance(item, ev.Event) and item.seq <= run.copied_events
            rows.add(item, derive=not copied)
        rows.finish()
        connection.execute(_restored(header))


def _journal_order(run: RunFile) -> list[ev.Event | Checkpoint]:
    """Events and checkpoints in the order the journal got them: each checkpoint right
    after the last event before it."""
    keyed: list[tuple[tuple[int, int, int], ev.Event | Checkpoint]] = [
        ((event.seq, 0, 0), event) for event in run.events
    ]
    # A fork's copied checkpoints name the parent run; here they are this run's.
    keyed += [
        (
            (record.last_seq, 1, record.checkpoint.step),
            replace(record.checkpoint, run_id=run.header.id),
        )
        for record in run.checkpoints
    ]
    return [item for _, item in sorted(keyed, key=lambda pair: pair[0])]


def _restored(header: RunFileHeader) -> Update:
    """The run's row as the file has it, beyond what its header wrote."""
    columns = header.model_dump(include=set(_RUN_COLUMNS) - set(_WRITTEN_BY_HEADER))
    if header.status == "running":
        columns["status"] = "interrupted"
    return update(RUNS).where(RUNS.c.id == header.id).values(**columns)


_WRITTEN_BY_HEADER = ("id", "team", "team_spec", "team_source", "task")
