"""The rows a run's recorded items make, and reading a resume point back: the SQL side of the
run journal, imported by its writer thread when it first writes (SQLAlchemy is slow to import,
and the window must not wait for it)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import date
from typing import Any, cast

from sqlalchemy import Connection, Engine, text
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
        run = connection.execute(text("SELECT * FROM runs WHERE id = :id"), {"id": run_id}).first()
        if run is None:
            raise UserError(f"There is no run {run_id}.")
        query = "SELECT * FROM checkpoints WHERE run_id = :id"
        if step is not None:
            query += " AND step = :step"
        row = connection.execute(
            text(f"{query} ORDER BY step DESC LIMIT 1"), {"id": run_id, "step": step}
        ).first()
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
                text("UPDATE runs SET last_seq = :seq WHERE id = :id"),
                {"seq": self._last_seq.get(run_id, 0), "id": run_id},
            )

    # --- items ---

    def _begin(self, header: RunHeader) -> None:
        mark = {
            "host": self._mark.host,
            "pid": self._mark.pid,
            "process_started": self._mark.started,
            "id": header.run_id,
        }
        if header.resumed:
            self._connection.execute(
                text(
                    "UPDATE runs SET status = 'running', finished_at = NULL, error = NULL, "
                    "host = :host, pid = :pid, process_started = :process_started "
                    "WHERE id = :id"
                ),
                mark,
            )
            seq = self._connection.execute(
                text("SELECT last_seq FROM runs WHERE id = :id"), {"id": header.run_id}
            ).scalar_one()
            self._last_seq[header.run_id] = int(seq)
            return
        self._connection.execute(
            text(
                "INSERT INTO runs (id, team, team_spec, team_source, task, status, agent, "
                "answer, steps, phi, prompt_tokens, completion_tokens, seconds, cost, "
                "last_seq, parent_run_id, forked_from_step, host, pid, process_started, "
                "started_at) VALUES (:id, :team, :team_spec, :team_source, :task, 'running', "
                "'', '', 0, 0, 0, 0, 0, 0, 0, :parent, :from_step, :host, :pid, "
                ":process_started, :now)"
            ),
            {
                **mark,
                "team": header.team,
                "team_spec": header.team_spec,
                "team_source": header.team_source,
                "task": header.task,
                "parent": header.parent_run_id,
                "from_step": header.forked_from_step,
                "now": header.started_at,
            },
        )
        self._last_seq[header.run_id] = 0
        if header.parent_run_id is not None and header.forked_from_step is not None:
            self._copy_history(header.parent_run_id, header.run_id, header.forked_from_step)

    def _copy_history(self, parent: str, child: str, step: int) -> None:
        """A fork starts with its parent's events, steps and checkpoints up to ``step``."""
        params = {"parent": parent, "child": child, "step": step}
        seq = self._connection.execute(
            text("SELECT last_seq FROM checkpoints WHERE run_id = :parent AND step = :step"),
            params,
        ).scalar_one()
        self._connection.execute(
            text(
                "INSERT INTO events (run_id, seq, type, agent, step, timestamp, data) "
                "SELECT :child, seq, type, agent, step, timestamp, data FROM events "
                "WHERE run_id = :parent AND seq <= :seq ORDER BY seq"
            ),
            {**params, "seq": seq},
        )
        for table, columns in _COPIED.items():
            self._connection.execute(
                text(
                    f"INSERT INTO {table} (run_id, {columns}) SELECT :child, {columns} "
                    f"FROM {table} WHERE run_id = :parent AND step <= :step"
                ),
                params,
            )
        self._connection.execute(
            text(
                "UPDATE runs SET agent = (SELECT agent FROM runs WHERE id = :parent) "
                "WHERE id = :child"
            ),
            params,
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
            self._connection.execute(text(derived[0]), derived[1](event))

    def _flush_events(self) -> None:
        if self._events:
            self._connection.execute(_INSERT_EVENT, self._events)
            self._events = []

    def _checkpoint(self, checkpoint: Checkpoint) -> None:
        run_id = checkpoint.run_id
        # Not "after the highest stored": a step that delegated ends after its teammate's.
        stored = set(
            self._connection.execute(
                text("SELECT step FROM steps WHERE run_id = :id"), {"id": run_id}
            ).scalars()
        )
        new_steps = [s for s in checkpoint.steps if s.index not in stored]
        if new_steps:
            self._connection.execute(
                _INSERT_STEP,
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
        self._connection.execute(
            _UPSERT_CHECKPOINT,
            {
                "run_id": run_id,
                "step": checkpoint.step,
                "now": time.time(),
                "last_seq": self._last_seq.get(run_id, 0),
                "data": encode_checkpoint(checkpoint),
            },
        )
        phi = checkpoint.steps[-1].phi_after if checkpoint.steps else 0.0
        self._connection.execute(
            text("UPDATE runs SET steps = :steps, phi = :phi WHERE id = :id"),
            {"steps": len(checkpoint.steps), "phi": phi, "id": run_id},
        )


_INSERT_EVENT = text(
    "INSERT INTO events (run_id, seq, type, agent, step, timestamp, data) "
    "VALUES (:run_id, :seq, :type, :agent, :step, :timestamp, :data)"
)
_INSERT_STEP = text(
    "INSERT INTO steps (run_id, step, agent, tool, arguments, thought, observation, ok, "
    "phi_before, phi_after, evidence, heuristic_ids) VALUES (:run_id, :step, :agent, :tool, "
    ":arguments, :thought, :observation, :ok, :phi_before, :phi_after, :evidence, "
    ":heuristic_ids) ON CONFLICT (run_id, step) DO NOTHING"
)
_UPSERT_CHECKPOINT = text(
    "INSERT INTO checkpoints (run_id, step, created_at, last_seq, data) VALUES (:run_id, "
    ":step, :now, :last_seq, :data) ON CONFLICT (run_id, step) DO UPDATE SET "
    "created_at = excluded.created_at, last_seq = excluded.last_seq, data = excluded.data"
)
_COPIED = {
    "steps": "step, agent, tool, arguments, thought, observation, ok, phi_before, phi_after, "
    "evidence, heuristic_ids",
    "checkpoints": "step, created_at, last_seq, data",
}


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
        "at": cost.timestamp,
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
        "at": override.timestamp,
    }


def _finished_row(event: ev.Event) -> dict[str, Any]:
    finished = cast(ev.RunFinished, event)
    return {
        "id": finished.run_id,
        "status": finished.status,
        "answer": finished.answer,
        "steps": finished.steps,
        "phi": finished.phi,
        "prompt_tokens": finished.prompt_tokens,
        "completion_tokens": finished.completion_tokens,
        "seconds": finished.seconds,
        "at": finished.timestamp,
    }


def _agent_row(event: ev.Event) -> dict[str, Any]:
    return {"id": event.run_id, "agent": cast(ev.AgentSelected, event).agent}


def _error_row(event: ev.Event) -> dict[str, Any]:
    return {"id": event.run_id, "error": cast(ev.ErrorRaised, event).message}


# Rows kept beside the events, for the queries the UI pages through.
_DERIVED: dict[type[ev.Event], tuple[str, Any]] = {
    ev.CostRecorded: (
        "INSERT INTO costs (run_id, agent, model, purpose, prompt_tokens, completion_tokens, "
        "seconds, cost, day, created_at) VALUES (:run_id, :agent, :model, :purpose, "
        ":prompt_tokens, :completion_tokens, :seconds, :cost, :day, :at)",
        _cost_row,
    ),
    ev.ScoreOverridden: (
        "INSERT INTO score_overrides (run_id, step, agent, critic_phi, phi, reason, "
        "created_at) VALUES (:run_id, :step, :agent, :critic_phi, :phi, :reason, :at)",
        _override_row,
    ),
    ev.RunFinished: (
        "UPDATE runs SET status = :status, answer = :answer, steps = :steps, phi = :phi, "
        "prompt_tokens = :prompt_tokens, completion_tokens = :completion_tokens, "
        "seconds = :seconds, finished_at = :at, cost = (SELECT coalesce(sum(cost), 0) "
        "FROM costs WHERE costs.run_id = runs.id) WHERE id = :id",
        _finished_row,
    ),
    # The first agent chosen is the run's; a teammate's later selection leaves it.
    ev.AgentSelected: ("UPDATE runs SET agent = :agent WHERE id = :id AND agent = ''", _agent_row),
    ev.ErrorRaised: ("UPDATE runs SET error = :error WHERE id = :id", _error_row),
}
