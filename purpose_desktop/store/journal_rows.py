"""The rows a run's recorded items make, and reading a resume point back: the SQL side of the
run journal, imported by its writer thread when it first writes (SQLAlchemy is slow to import,
and the window must not wait for it)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Select,
    String,
    Table,
    Update,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.recording.checkpoint import (
    Checkpoint,
    decode_checkpoint,
    encode_checkpoint,
)
from purpose_desktop.engine.recording.event_codec import ENVELOPE, encode_event
from purpose_desktop.engine.recording.journal import ResumePoint, RunHeader, StoredStatus
from purpose_desktop.errors import UserError
from purpose_desktop.store.database import reading, why_not_written, writing
from purpose_desktop.store.liveness import ProcessMark, interrupt_dead_runs
from purpose_desktop.store.on_conflict import insert_on_conflict
from purpose_desktop.store.run_tables import (
    CHECKPOINTS,
    COSTS,
    EVENTS,
    RUNS,
    SCORE_OVERRIDES,
    STEPS,
)


def commit_items(
    engine: Engine,
    mark: ProcessMark,
    items: list[RunHeader | ev.Event | Checkpoint],
    last_seq: dict[str, int],
) -> None:
    """Write ``items`` in one transaction, advancing ``last_seq`` (run id → last event's
    sequence number) as they are written."""
    with writing(engine) as connection:
        batch = JournalRows(connection, mark, last_seq)
        for item in items:
            batch.add(item)
        batch.finish()


def why_not_committed(exc: Exception) -> str | None:
    """What to tell the user about a commit that failed because of the database (a full disk,
    a lock, a server gone), or ``None`` for any other error: a bug, to be raised."""
    if isinstance(exc, (SQLAlchemyError, UserError)):
        return why_not_written(exc)
    return None


def read_resume_point(
    engine: Engine, mark: ProcessMark, run_id: str, step: int | None
) -> ResumePoint:
    """Where run ``run_id`` can go on from: its checkpoint after ``step`` (the latest if
    ``None``). Runs whose process died are marked interrupted first."""
    with writing(engine) as connection:
        interrupt_dead_runs(connection, mark)
    with reading(engine) as connection:
        run = connection.execute(select(RUNS).where(RUNS.c.id == run_id)).first()
        if run is None:
            raise UserError(f"There is no run {run_id}.")
        latest = select(CHECKPOINTS).where(CHECKPOINTS.c.run_id == run_id)
        if step is not None:
            latest = latest.where(CHECKPOINTS.c.step == step)
        row = connection.execute(latest.order_by(CHECKPOINTS.c.step.desc()).limit(1)).first()
    if row is None:
        which = "any step" if step is None else f"step {step}"
        raise UserError(f"Run {run_id} has no checkpoint after {which}.")
    header = RunHeader(
        run.id,
        run.team,
        run.team_spec,
        run.team_source,
        run.task,
        run.parent_run_id,
        run.forked_from_step,
    )
    checkpoint = replace(decode_checkpoint(row.data), run_id=run.id)
    return ResumePoint(
        header, cast(StoredStatus, run.status), checkpoint, int(row.last_seq), int(run.last_seq)
    )


class JournalRows:
    """The rows recorded items make, written on ``connection`` in the order the items come:
    one commit's worth for the journal, a whole run for an import."""

    def __init__(self, connection: Connection, mark: ProcessMark, last_seq: dict[str, int]) -> None:
        self._connection = connection
        self._mark = mark
        self._last_seq = last_seq
        self._events: list[dict[str, Any]] = []
        self._touched: set[str] = set()

    def add(self, item: RunHeader | ev.Event | Checkpoint, *, derive: bool = True) -> None:
        """Write ``item``'s rows. Without ``derive`` an event is kept as it is, with none of
        the rows that stand for what happened (costs, overrides, the run's totals): for events
        copied from another run, where those rows belong to the other run."""
        if isinstance(item, RunHeader):
            self._flush_events()
            self._begin(item)
        elif isinstance(item, Checkpoint):
            self._flush_events()
            self._checkpoint(item)
        else:
            self._event(item, derive)

    def finish(self) -> None:
        self._flush_events()
        for run_id in self._touched:
            self._connection.execute(
                update(RUNS)
                .where(RUNS.c.id == run_id)
                .values(last_seq=self._last_seq.get(run_id, 0))
            )

    # --- items ---

    def _begin(self, header: RunHeader) -> None:
        running = {
            "status": "running",
            "host": self._mark.host,
            "pid": self._mark.pid,
            "process_started": self._mark.started,
        }
        if header.resumed:
            self._connection.execute(
                update(RUNS)
                .where(RUNS.c.id == header.run_id)
                .values(**running, finished_at=None, error=None)
            )
            seq = self._connection.execute(
                select(RUNS.c.last_seq).where(RUNS.c.id == header.run_id)
            ).scalar_one()
            self._last_seq[header.run_id] = int(seq)
            return
        # Its answer, totals and last event start as the table model's defaults: none.
        self._connection.execute(
            insert(RUNS).values(
                **running,
                id=header.run_id,
                team=header.team,
                team_spec=header.team_spec,
                team_source=header.team_source,
                task=header.task,
                parent_run_id=header.parent_run_id,
                forked_from_step=header.forked_from_step,
                started_at=header.started_at,
            )
        )
        self._last_seq[header.run_id] = 0
        if header.parent_run_id is not None and header.forked_from_step is not None:
            self._copy_history(header.parent_run_id, header.run_id, header.forked_from_step)

    def _copy_history(self, parent: str, child: str, step: int) -> None:
        """A fork starts with its parent's events, steps and checkpoints up to ``step``."""
        seq = self._connection.execute(
            select(CHECKPOINTS.c.last_seq).where(
                CHECKPOINTS.c.run_id == parent, CHECKPOINTS.c.step == step
            )
        ).scalar_one()
        events = _copy(EVENTS, parent, child, EVENTS.c.seq <= seq).order_by(EVENTS.c.seq)
        self._connection.execute(_copy_into(EVENTS, events))
        for table in (STEPS, CHECKPOINTS):
            rows = _copy(table, parent, child, table.c.step <= step)
            self._connection.execute(_copy_into(table, rows))
        parents = RUNS.alias("parent")
        self._connection.execute(
            update(RUNS)
            .where(RUNS.c.id == child)
            .values(agent=select(parents.c.agent).where(parents.c.id == parent).scalar_subquery())
        )
        self._last_seq[child] = int(seq)

    def _event(self, event: ev.Event, derive: bool) -> None:
        record = encode_event(event)
        kind = record.pop("type")
        for name in ENVELOPE:
            record.pop(name)
        self._events.append(
            {
                "run_id": event.run_id,
                "seq": event.seq,
                "type": kind,
                "agent": record.get("agent"),
                "step": record.get("step"),
                "timestamp": event.timestamp,
                "data": json.dumps(record, ensure_ascii=False),
            }
        )
        self._last_seq[event.run_id] = event.seq
        self._touched.add(event.run_id)
        derived = _DERIVED.get(type(event)) if derive else None
        if derived is not None:
            self._flush_events()  # rows that refer to the run in the order they happened
            self._connection.execute(derived[0], derived[1](event))

    def _flush_events(self) -> None:
        if self._events:
            self._connection.execute(insert(EVENTS), self._events)
            self._events = []

    def _checkpoint(self, checkpoint: Checkpoint) -> None:
        run_id = checkpoint.run_id
        # Not "after the highest stored": a step that delegated ends after its teammate's.
        stored = set(
            self._connection.execute(select(STEPS.c.step).where(STEPS.c.run_id == run_id)).scalars()
        )
        new_steps = [s for s in checkpoint.steps if s.index not in stored]
        if new_steps:
            self._connection.execute(
                insert_on_conflict(self._connection, STEPS).on_conflict_do_nothing(
                    index_elements=[STEPS.c.run_id, STEPS.c.step]
                ),
                [
                    {
                        "run_id": run_id,
                        "step": s.index,
                        "agent": s.agent,
                        "tool": s.action.tool,
                        "arguments": json.dumps(dict(s.action.arguments), ensure_ascii=False),
                        "thought": s.action.thought,
                        "observation": s.observation.text,
                        "ok": s.observation.ok,
                        "phi_before": s.phi_before,
                        "phi_after": s.phi_after,
                        "evidence": s.evidence,
                        "heuristic_ids": json.dumps(list(s.heuristic_ids)),
                    }
                    for s in new_steps
                ],
            )
        upsert = insert_on_conflict(self._connection, CHECKPOINTS).values(
            run_id=run_id,
            step=checkpoint.step,
            created_at=time.time(),
            last_seq=self._last_seq.get(run_id, 0),
            data=encode_checkpoint(checkpoint),
        )
        replaced = ("created_at", "last_seq", "data")
        self._connection.execute(
            upsert.on_conflict_do_update(
                index_elements=[CHECKPOINTS.c.run_id, CHECKPOINTS.c.step],
                set_={name: upsert.excluded[name] for name in replaced},
            )
        )
        phi = checkpoint.steps[-1].phi_after if checkpoint.steps else 0.0
        self._connection.execute(
            update(RUNS).where(RUNS.c.id == run_id).values(steps=len(checkpoint.steps), phi=phi)
        )


def _copy(table: Table, parent: str, child: str, up_to: ColumnElement[bool]) -> Select[Any]:
    """The rows of ``parent`` in ``table`` within ``up_to``, as rows of ``child``."""
    copied = [c for c in table.c if c.name not in ("id", "run_id")]
    return select(literal(child, String).label("run_id"), *copied).where(
        table.c.run_id == parent, up_to
    )


def _copy_into(table: Table, rows: Select[Any]) -> Insert:
    return insert(table).from_select([c.name for c in rows.selected_columns], rows)


def _cost_row(event: ev.Event) -> dict[str, Any]:
    cost = cast(ev.CostRecorded, event)
    return {
        "run_id": cost.run_id,
        "agent": cost.agent,
        "model": cost.model,
        "purpose": cost.purpose,
        "prompt_tokens": cost.prompt_tokens,
        "completion_tokens": cost.completion_tokens,
        "seconds": cost.seconds,
        "cost": cost.cost,
        "day": date.fromtimestamp(cost.timestamp).isoformat(),
        "created_at": cost.timestamp,
    }


def _override_row(event: ev.Event) -> dict[str, Any]:
    override = cast(ev.ScoreOverridden, event)
    return {
        "run_id": override.run_id,
        "step": override.step,
        "agent": override.agent,
        "critic_phi": override.critic_phi,
        "phi": override.phi,
        "reason": override.reason,
        "created_at": override.timestamp,
    }


def _finished_row(event: ev.Event) -> dict[str, Any]:
    finished = cast(ev.RunFinished, event)
    return {
        "run": finished.run_id,
        "status": finished.status,
        "answer": finished.answer,
        "steps": finished.steps,
        "phi": finished.phi,
        "prompt_tokens": finished.prompt_tokens,
        "completion_tokens": finished.completion_tokens,
        "seconds": finished.seconds,
        "finished_at": finished.timestamp,
    }


def _agent_row(event: ev.Event) -> dict[str, Any]:
    return {"run": event.run_id, "agent": cast(ev.AgentSelected, event).agent}


def _error_row(event: ev.Event) -> dict[str, Any]:
    return {"run": event.run_id, "error": cast(ev.ErrorRaised, event).message}


# The run a derived row updates; not "id", which SQLAlchemy keeps for the SET clause.
_RUN: BindParameter[str] = bindparam("run")
# Rows kept beside the events, for the queries the UI pages through. An update sets the
# columns its row names, besides those it sets itself.
_DERIVED: dict[type[ev.Event], tuple[Insert | Update, Callable[[ev.Event], dict[str, Any]]]] = {
    ev.CostRecorded: (insert(COSTS), _cost_row),
    ev.ScoreOverridden: (insert(SCORE_OVERRIDES), _override_row),
    ev.RunFinished: (
        update(RUNS)
        .where(RUNS.c.id == _RUN)
        .values(
            cost=select(func.coalesce(func.sum(COSTS.c.cost), 0))
            .where(COSTS.c.run_id == RUNS.c.id)
            .scalar_subquery()
        ),
        _finished_row,
    ),
    # The first agent chosen is the run's; a teammate's later selection leaves it.
    ev.AgentSelected: (update(RUNS).where(RUNS.c.id == _RUN, RUNS.c.agent == ""), _agent_row),
    ev.ErrorRaised: (update(RUNS).where(RUNS.c.id == _RUN), _error_row),
}
