"""Runs stopped part way, as a crash would leave them, to resume or fork."""

from __future__ import annotations

import asyncio
import contextlib

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.loop.run import TeamRunner
from purpose_desktop.engine.review import (
    ActionDecision,
    ActionReviewRequest,
    ScoreDecision,
    ScoreReviewRequest,
)
from purpose_desktop.engine.specs import LoadedTeam


class StallAtStep:
    """Approves actions until step ``stall_at``, whose review never answers: the test
    cancels the run there, as a person would, or a crash would stop it."""

    def __init__(self, stall_at: int) -> None:
        self.stall_at = stall_at
        self.reached = asyncio.Event()

    async def review_action(self, request: ActionReviewRequest) -> ActionDecision:
        if request.step == self.stall_at:
            self.reached.set()
            await asyncio.Event().wait()
        return ActionDecision("approve")

    async def review_score(self, request: ScoreReviewRequest) -> ScoreDecision:
        return ScoreDecision()


async def run_until_stalled(
    runner: TeamRunner, team: LoadedTeam, task: str, gate: StallAtStep, seen: list[ev.Event]
) -> str:
    """Start a run, cancel it when it reaches the stalled step; its id."""
    running = asyncio.ensure_future(runner.run(team, task, [seen.append], gate))
    await gate.reached.wait()
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    started = next(e for e in seen if isinstance(e, ev.RunStarted))
    return started.run_id
