"""The queries the UI and the CLI page through: runs, a run's steps and events, cost totals.

Every method runs its SQL on a worker thread in one short read transaction and returns plain
frozen dataclasses (the synchronous ``*_now`` forms are for the CLI and for threads).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

from sqlalchemy import Engine, Row, func, select

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.recording.event_codec import decode_event
from purpose_desktop.engine.recording.journal import StoredStatus
from purpose_desktop.engine.recording.run_records import (
    CostGrouping,
    CostTotalRecord,
    RunDetail,
    RunSummary,
    ScoreOverrideRecord,
)
from purpose_desktop.engine.trajectory import Action, Observation, Step
from purpose_desktop.errors import UserError
from purpose_desktop.limits import shown
from purpose_desktop.store.database import reading
from purpose_desktop.store.run_tables import COSTS, EVENTS, RUNS, SCORE_OVERRIDES, STEPS

_GROUP_COLUMNS = {
    "agent": COSTS.c.agent,
    "model": COSTS.c.model,
    "day": COSTS.c.day,
    "run": COSTS.c.run_id,
}


class RunQueries:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def list_runs(
        self, *, offset: int = 0, limit: int = 50, status: StoredStatus | None = None
    ) -> list[RunSummary]:
        """A page of runs, the newest first; only those with ``status`` if given."""
        return await asyncio.to_thread(
            self.list_runs_now, offset=offset, limit=limit, status=status
        )

    def list_runs_now(
        self, *, offset: int = 0, limit: int = 50, status: StoredStatus | None = None
    ) -> list[RunSummary]:
        page = (
            select(RUNS)
            .order_by(RUNS.c.started_at.desc(), RUNS.c.id)
            .limit(max(limit, 0))
            .offset(max(offset, 0))
        )
        if status is not None:
            page = page.where(RUNS.c.status == status)
        with reading(self._engine) as connection:
            rows = connection.execute(page).all()
        return [_summary(row) for row in rows]

    async def count_runs(self) -> int:
        return await asyncio.to_thread(self._count_runs)

    async def run(self, run_id: str) -> RunDetail:
        return await asyncio.to_thread(self.run_now, run_id)

    def run_now(self, run_id: str) -> RunDetail:
        """The run ``run_id``; a unique prefix of an id will do. ``UserError`` if none."""
        with reading(self._engine) as connection:
            matches = connection.execute(
                select(RUNS)
                .where(RUNS.c.id.like(_prefix_pattern(run_id)))
                .order_by(RUNS.c.id)
                .limit(2)
            ).all()
            if not matches:
                raise UserError(f"There is no run {shown(run_id)}.")
            if len(matches) > 1:
                raise UserError(
                    f"More than one run starts with {shown(run_id)}; give more of its id."
                )
            row = matches[0]
            steps = connection.execute(
                select(STEPS).where(STEPS.c.run_id == row.id).order_by(STEPS.c.step)
            ).all()
            overrides = connection.execute(
                select(SCORE_OVERRIDES)
                .where(SCORE_OVERRIDES.c.run_id == row.id)
                .order_by(SCORE_OVERRIDES.c.id)
            ).all()
        return RunDetail(
            _summary(row),
            tuple(_step(s) for s in steps),
            tuple(
                ScoreOverrideRecord(o.step, o.agent, float(o.critic_phi), float(o.phi), o.reason)
                for o in overrides
            ),
        )

    async def events(self, run_id: str, *, after_seq: int = 0, limit: int = 1000) -> list[ev.Event]:
        """Up to ``limit`` of the run's events after ``after_seq``, in order."""
        return await asyncio.to_thread(self.events_now, run_id, after_seq=after_seq, limit=limit)

    def events_now(self, run_id: str, *, after_seq: int = 0, limit: int = 1000) -> list[ev.Event]:
        with reading(self._engine) as connection:
            rows = connection.execute(
                select(EVENTS)
                .where(EVENTS.c.run_id == run_id, EVENTS.c.seq > after_seq)
                .order_by(EVENTS.c.seq)
                .limit(max(limit, 0))
            ).all()
        return [_event(row) for row in rows]

    async def memory_retrievals(self, run_id: str) -> list[ev.MemoryRetrieved]:
        """What memory was put in front of an agent at each step of the run, in order (a
        step taken again after a resume is listed again)."""
        return await asyncio.to_thread(self.memory_retrievals_now, run_id)

    def memory_retrievals_now(self, run_id: str) -> list[ev.MemoryRetrieved]:
        with reading(self._engine) as connection:
            rows = connection.execute(
                select(EVENTS)
                .where(EVENTS.c.run_id == run_id, EVENTS.c.type == ev.MemoryRetrieved.__name__)
                .order_by(EVENTS.c.seq)
            ).all()
        return [cast(ev.MemoryRetrieved, _event(row)) for row in rows]

    async def stream_events(self, run_id: str, page: int = 1000) -> AsyncIterator[ev.Event]:
        """Every event of the run in order, read a page at a time off the event loop: what
        :func:`~purpose_desktop.engine.recording.replay.replay` takes."""
        after = 0
        while True:
            found = await self.events(run_id, after_seq=after, limit=page)
            for event in found:
                yield event
            if len(found) < page:
                return
            after = found[-1].seq

    def all_events_now(self, run_id: str, page: int = 5000) -> Iterator[ev.Event]:
        """Every event of the run in order, read a page at a time."""
        after = 0
        while True:
            found = self.events_now(run_id, after_seq=after, limit=page)
            yield from found
            if len(found) < page:
                return
            after = found[-1].seq

    async def cost_totals(
        self, by: CostGrouping, *, run_id: str | None = None, since_day: str | None = None
    ) -> list[CostTotalRecord]:
        """Totals of the recorded model calls grouped ``by`` agent, model, day (local
        ``YYYY-MM-DD``) or run; of one run, or from ``since_day`` on, if given. The most
        costly first (then the most tokens)."""
        return await asyncio.to_thread(self.cost_totals_now, by, run_id=run_id, since_day=since_day)

    def cost_totals_now(
        self, by: CostGrouping, *, run_id: str | None = None, since_day: str | None = None
    ) -> list[CostTotalRecord]:
        column = _GROUP_COLUMNS[by]
        key = column.label("key")
        cost = func.sum(COSTS.c.cost).label("cost")
        tokens = func.sum(COSTS.c.prompt_tokens) + func.sum(COSTS.c.completion_tokens)
        totals = (
            select(
                key,
                func.count().label("calls"),
                func.sum(COSTS.c.prompt_tokens).label("prompt_tokens"),
                func.sum(COSTS.c.completion_tokens).label("completion_tokens"),
                func.sum(COSTS.c.seconds).label("seconds"),
                cost,
            )
            .group_by(column)
            .order_by(cost.desc(), tokens.desc(), key)
        )
        if run_id is not None:
            totals = totals.where(COSTS.c.run_id == run_id)
        if since_day is not None:
            totals = totals.where(COSTS.c.day >= since_day)
        with reading(self._engine) as connection:
            rows = connection.execute(totals).all()
        return [
            CostTotalRecord(
                key=str(r.key),
                calls=int(r.calls),
                prompt_tokens=int(r.prompt_tokens),
                completion_tokens=int(r.completion_tokens),
                seconds=float(r.seconds),
                cost=float(r.cost),
            )
            for r in rows
        ]

    def _count_runs(self) -> int:
        with reading(self._engine) as connection:
            return int(connection.execute(select(func.count()).select_from(RUNS)).scalar_one())


def _prefix_pattern(run_id: str) -> str:
    # Ids are lower-case hex (made so, and imports are held to it): anything else names no
    # run, whatever hex it holds besides, and must not act as a LIKE wildcard either.
    wanted = run_id.strip().lower()
    return f"{wanted}%" if wanted and not wanted.strip(_HEX) else "-"


_HEX = "0123456789abcdef"


def _summary(row: Row[Any]) -> RunSummary:
    return RunSummary(
        row.id,
        row.team,
        row.task,
        cast(StoredStatus, row.status),
        row.agent,
        row.answer,
        row.error,
        int(row.steps),
        float(row.phi),
        int(row.prompt_tokens),
        int(row.completion_tokens),
        float(row.seconds),
        float(row.cost),
        int(row.last_seq),
        float(row.started_at),
        None if row.finished_at is None else float(row.finished_at),
        row.parent_run_id,
        row.forked_from_step,
    )


def _step(row: Row[Any]) -> Step:
    return Step(
        int(row.step),
        row.agent,
        Action(row.tool, json.loads(row.arguments), row.thought),
        Observation(row.observation, bool(row.ok)),
        float(row.phi_before),
        float(row.phi_after),
        row.evidence,
        tuple(json.loads(row.heuristic_ids)),
    )


def _event(row: Row[Any]) -> ev.Event:
    record = json.loads(row.data)
    record.update(type=row.type, run_id=row.run_id, seq=row.seq, timestamp=row.timestamp)
    return decode_event(record)
