"""Run a team on a task and report everything that happens as events.

A run routes the task to one agent, which then takes ReAct steps until it finishes, runs out
of steps, or fails: retrieve memory, choose tools, ask its model for an action, put the action
to the review gate, act, and let the critic score the new state. After the run, the team's
memory learns from it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from purpose_desktop.engine.costs import CallCost, CostSummary, PriceTable, summarise
from purpose_desktop.engine.events import (
    AgentSelected,
    CostRecorded,
    ErrorRaised,
    EventStream,
    HeuristicLearned,
    HeuristicUpdated,
    ModelStatusChanged,
    RunFinished,
    RunStarted,
    RunStatus,
    Subscriber,
)
from purpose_desktop.engine.memory import MemoryStore
from purpose_desktop.engine.tools.base import ToolContext
from purpose_desktop.engine.trajectory import Step
from purpose_desktop.errors import UserError
from purpose_desktop.models.base import DescribesModels, ModelProvider, ModelStatus
from purpose_desktop.models.messages import Usage

if TYPE_CHECKING:
    # The loop's machinery (pydantic specs, jsonschema, the tools) loads with the first run,
    # not with the app: the window shows sooner.
    from purpose_desktop.engine.critic import Critic
    from purpose_desktop.engine.review import ReviewGate
    from purpose_desktop.engine.specs import AgentSpec, LoadedTeam


class ModelService(ModelProvider, DescribesModels, Protocol):
    """Loads models and tells what they are without loading them."""


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended. ``error`` is set when ``status`` is ``"failed"``."""

    run_id: str
    status: RunStatus
    answer: str
    usage: Usage
    error: str | None = None
    agent: str = ""
    steps: tuple[Step, ...] = ()
    costs: CostSummary = field(default_factory=lambda: summarise(()))

    @property
    def phi_curve(self) -> tuple[float, ...]:
        """Φ after each step, starting from 0 before the first."""
        return (0.0, *(step.phi_after for step in self.steps))


@dataclass
class RunContext:
    """Everything one run shares between its steps and agents."""

    run_id: str
    team: LoadedTeam
    task: str
    events: EventStream
    review: ReviewGate
    tools: ToolContext
    prices: PriceTable
    steps: list[Step] = field(default_factory=list)
    calls: list[CallCost] = field(default_factory=list)
    always_allowed: set[str] = field(default_factory=set)
    _last_step: int = 0

    def next_step(self) -> int:
        """The number of a new step, counted over the whole run (teammates included)."""
        self._last_step += 1
        return self._last_step

    def record_call(self, agent: str, model: str, purpose: str, usage: Usage) -> None:
        cost = self.prices.cost(model, usage.prompt_tokens, usage.completion_tokens)
        self.calls.append(CallCost(agent, model, usage.prompt_tokens, usage.completion_tokens,
                                   usage.seconds, cost))
        self.events.emit(
            CostRecorded, agent=agent, model=model, purpose=purpose,
            prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
            seconds=usage.seconds, cost=cost,
        )

    def report_status(self, status: ModelStatus) -> None:
        self.events.emit(
            ModelStatusChanged, model=status.model, state=status.state, detail=status.detail
        )

    @property
    def phi(self) -> float:
        return self.steps[-1].phi_after if self.steps else 0.0


class TeamRunner:
    """Runs teams on tasks with the models a provider loads and the memory a store keeps.

    One runner serves many runs; its critic's cache of scores lives as long as it does.
    """

    def __init__(
        self,
        models: ModelService,
        memory: MemoryStore,
        *,
        workspaces_dir: Path,
        prices: PriceTable | None = None,
        max_answer_tokens: int = 256,
    ) -> None:
        self._models = models
        self.memory = memory
        self._critic: Critic | None = None
        self._workspaces_dir = workspaces_dir
        self.prices = prices or PriceTable({})
        self._max_answer_tokens = max_answer_tokens

    async def run(
        self,
        team: LoadedTeam,
        task: str,
        subscribers: Sequence[Subscriber] = (),
        review: ReviewGate | None = None,
        *,
        learn: bool = True,
    ) -> RunOutcome:
        """Run ``team`` on ``task``, emitting every event to ``subscribers``.

        ``review`` is asked according to each agent's review policy (the default approves
        everything). With ``learn`` the team's memory learns from the run when it ends.
        Failures the user can fix (a missing model, a worker that died) end the run as
        ``failed`` with a clear message rather than raising. Cancelling the calling task ends
        the run as ``cancelled`` and re-raises the cancellation.
        """
        from purpose_desktop.engine.agent_loop import AgentLoop
        from purpose_desktop.engine.review import AutoApprove

        run_id = os.urandom(16).hex()
        events = EventStream(run_id, list(subscribers))
        workspace = self._workspaces_dir / run_id
        run = RunContext(run_id, team, task, events, review or AutoApprove(),
                         ToolContext(workspace), self.prices)
        events.emit(RunStarted, team=team.spec.name, task=task)
        status: RunStatus = "failed"
        answer, error, agent_name = "", None, ""
        started = time.monotonic()
        try:
            workspace.mkdir(parents=True, exist_ok=True)
            agent = await self._select_agent(run)
            agent_name = agent.name
            loop = AgentLoop(self._models, self.memory, self.critic,
                             max_answer_tokens=self._max_answer_tokens)
            status, answer, error = await loop.run(run, agent, task)
            if error:
                events.emit(ErrorRaised, message=error)
            if learn:
                await self._learn(run, status, answer)
        except UserError as exc:
            status, error = "failed", str(exc)
            events.emit(ErrorRaised, message=error)
        except asyncio.CancelledError:
            status = "cancelled"
            raise
        finally:
            costs = summarise(run.calls)
            events.emit(
                RunFinished, status=status, answer=answer,
                prompt_tokens=costs.total.prompt_tokens,
                completion_tokens=costs.total.completion_tokens,
                seconds=time.monotonic() - started, steps=len(run.steps), phi=run.phi,
            )
            await events.aclose()
        usage = Usage(costs.total.prompt_tokens, costs.total.completion_tokens,
                      costs.total.seconds)
        return RunOutcome(run_id, status, answer, usage, error, agent_name, tuple(run.steps),
                          costs)

    @property
    def critic(self) -> Critic:
        """The critic of every run of this runner; its cache of scores lives as long."""
        if self._critic is None:
            from purpose_desktop.engine.critic import Critic

            self._critic = Critic(self.memory)
        return self._critic

    async def _select_agent(self, run: RunContext) -> AgentSpec:
        from purpose_desktop.engine.agent_loop import pick_with_model
        from purpose_desktop.engine.routing import Router

        team = run.team

        async def pick(task: str, candidates: Sequence[AgentSpec]) -> str | None:
            reference = team.spec.router.model or team.spec.default_model or candidates[0].model
            return await pick_with_model(self._models, run, reference, task, candidates)

        decision = await Router(self._models).choose(team.spec, run.task, team.base_dir, pick)
        run.events.emit(AgentSelected, agent=decision.agent.name, model=decision.agent.model,
                        reason=f"{decision.reason} ({decision.complexity} task)")
        return decision.agent

    async def _learn(self, run: RunContext, status: RunStatus, answer: str) -> None:
        from purpose_desktop.engine import learning

        result = learning.RunResult(run.team.spec.name, run.run_id, run.task, status, answer,
                                    tuple(run.steps))
        for heuristic in learning.distil(result):
            stored = await self.memory.add_heuristic(heuristic)
            assert stored.id is not None
            run.events.emit(HeuristicLearned, heuristic_id=stored.id, tier=stored.tier.value,
                            pattern=stored.pattern, strategy=stored.strategy,
                            source=stored.source)
        used = learning.used_heuristics(run.steps)
        if used:
            await self.memory.update_heuristics(used, reward=result.reward,
                                                success=result.succeeded, alpha=0.3,
                                                run_id=run.run_id)
            for heuristic_id in used:
                run.events.emit(HeuristicUpdated, heuristic_id=heuristic_id,
                                reward=result.reward)
        await self.memory.add_experience(learning.experience(result))
