"""Run a team on a task and report everything that happens as events.

A run routes the task to one agent, which then takes ReAct steps until it finishes, runs out
of steps, or fails: retrieve memory, choose tools, ask its model for an action, put the action
to the review gate, act, and let the critic score the new state. After the run, the team's
memory learns from it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.engine.costs import CostSummary, PriceTable, summarise
from purpose_desktop.engine.events import (
    AgentSelected,
    ErrorRaised,
    EventStream,
    HeuristicLearned,
    HeuristicUpdated,
    RunFinished,
    RunForked,
    RunResumed,
    RunStarted,
    RunStatus,
    Subscriber,
    WarningRaised,
)
from purpose_desktop.engine.learning.memory import MemoryStore
from purpose_desktop.engine.loop.run_context import ModelService, RunContext, RunControl
from purpose_desktop.engine.recording.checkpoint import Checkpoint, Frame
from purpose_desktop.engine.recording.journal import RunHeader, RunJournal
from purpose_desktop.engine.tools.base import Notes, ToolContext
from purpose_desktop.engine.trajectory import Action, State, Step
from purpose_desktop.errors import UserError
from purpose_desktop.limits import check_task
from purpose_desktop.models.messages import Usage

log = logging.getLogger(__name__)

OutcomeJudge = Callable[[RunStatus, str], Awaitable["Verdict"]]
"""What a check that knows the task says of a run that ended with this status and answer (the
run's workspace is the checker's to read)."""

if TYPE_CHECKING:
    # The loop's machinery (pydantic specs, jsonschema, the tools) loads with the first run,
    # not with the app: the window shows sooner.
    from purpose_desktop.engine.critic import Critic
    from purpose_desktop.engine.learning.lessons import Verdict
    from purpose_desktop.engine.loop.tool_source import ToolSource
    from purpose_desktop.engine.review import ApprovalMemory, ReviewGate
    from purpose_desktop.engine.specs import AgentSpec, LoadedTeam


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
    record_error: str | None = None
    """Why the run's record could not be saved in full, if it could not."""

    @property
    def phi_curve(self) -> tuple[float, ...]:
        """Φ after each step, starting from 0 before the first."""
        return (0.0, *(step.phi_after for step in self.steps))


class TeamRunner:
    """Runs teams on tasks with the models a provider loads and the memory a store keeps.

    One runner serves many runs; its critic's cache of scores lives as long as it does.
    ``tools`` gives the agents their tools (only the built-in ones without it); the MCP
    servers it starts run until :meth:`aclose`. ``approvals`` keeps each team's standing
    approvals: a run does not ask about the tools and servers its team allowed, and keeps
    those a person allows for the team during it. ``observers`` subscribe to every run's
    events besides the subscribers each run is given (the trace exporter, say).
    """

    def __init__(
        self,
        models: ModelService,
        memory: MemoryStore,
        *,
        workspaces_dir: Path,
        prices: PriceTable | None = None,
        max_answer_tokens: int = 256,
        journal: RunJournal | None = None,
        tools: ToolSource | None = None,
        approvals: ApprovalMemory | None = None,
        observers: Sequence[Subscriber] = (),
    ) -> None:
        self._models = models
        self._observers = tuple(observers)
        self._approvals = approvals
        if tools is None:
            from purpose_desktop.engine.loop.tool_source import ToolSource

            tools = ToolSource()
        self._tools = tools
        self.memory = memory
        self.journal = journal
        self._critic: Critic | None = None
        self._workspaces_dir = workspaces_dir
        self.prices = prices or PriceTable({})
        self._max_answer_tokens = max_answer_tokens

    async def aclose(self) -> None:
        """Stop the MCP servers the runs started."""
        await self._tools.aclose()

    def use_prices(self, prices: PriceTable) -> None:
        """Charge the runs started from now on at ``prices`` (edited in the app). A run under
        way keeps the table it started with, so no run is charged at two rates."""
        self.prices = prices

    async def run(
        self,
        team: LoadedTeam,
        task: str,
        subscribers: Sequence[Subscriber] = (),
        review: ReviewGate | None = None,
        *,
        learn: bool = True,
        control: RunControl | None = None,
        run_id: str | None = None,
        judge: OutcomeJudge | None = None,
    ) -> RunOutcome:
        """Run ``team`` on ``task``, emitting every event to ``subscribers``.

        ``review`` is asked according to each agent's review policy (the default approves
        everything). With ``learn`` the team's memory learns from the run when it ends; a
        caller that can check the outcome (a benchmark's suite) gives ``judge``, whose verdict
        learning then takes over the critic's Φ.
        Failures the user can fix (a missing model, a worker that died) end the run as
        ``failed`` with a clear message rather than raising. Cancelling the calling task ends
        the run as ``cancelled`` and re-raises the cancellation. With a journal, the run is
        recorded as it goes and checkpointed after every step. ``control`` pauses the run
        between steps. A caller that gives the new ``run_id`` knows its workspace
        (:meth:`workspace_of`) before it starts, to put files there. A blank task, or one that
        is not text, is refused (:class:`~purpose_desktop.limits.LimitError`) before anything
        starts, and so is a team whose agents name tools that cannot be had (an MCP server
        that is not configured or does not offer the tool): a
        :class:`~purpose_desktop.errors.UserError` names each.
        """
        check_task(task)
        header = RunHeader(
            run_id or os.urandom(16).hex(),
            team.spec.name,
            team.spec.model_dump_json(),
            None if team.source is None else str(team.source),
            task,
        )
        return await self._execute(
            header, team, subscribers, review, learn=learn, control=control, judge=judge
        )

    async def resume(
        self,
        run_id: str,
        subscribers: Sequence[Subscriber] = (),
        review: ReviewGate | None = None,
        *,
        learn: bool = True,
        control: RunControl | None = None,
    ) -> RunOutcome:
        """Go on with an interrupted (or cancelled) run from its last checkpoint, as the same
        run: its events continue where the stored ones end. Raises
        :class:`~purpose_desktop.errors.UserError` for a run that ended otherwise."""
        point = await self._journal().resume_point(run_id)
        if point.status not in ("interrupted", "cancelled"):
            raise UserError(
                f"Run {run_id} is {point.status}; only an interrupted or cancelled "
                "run can be resumed. Fork it to go on from one of its steps."
            )
        header = replace(point.header, resumed=True)
        return await self._execute(
            header,
            _team_of(header),
            subscribers,
            review,
            learn=learn,
            control=control,
            start=(point.checkpoint, point.last_seq),
        )

    async def fork(
        self,
        run_id: str,
        after_step: int,
        subscribers: Sequence[Subscriber] = (),
        review: ReviewGate | None = None,
        *,
        action: Action | None = None,
        state: State | None = None,
        learn: bool = True,
        control: RunControl | None = None,
    ) -> RunOutcome:
        """A new run that starts as ``run_id`` stood after ``after_step`` (0: before its first
        step) and goes on from there: with ``state`` in place of the selected agent's task and
        observations, and ``action`` instead of what its agent would propose next (still put
        to review). The new run holds a copy of the earlier events up to that point."""
        point = await self._journal().resume_point(run_id, after_step)
        checkpoint = point.checkpoint
        if state is not None:
            top, *rest = checkpoint.frames
            checkpoint = replace(checkpoint, frames=(top.with_state(state), *rest))
        new_id = os.urandom(16).hex()
        checkpoint = replace(checkpoint, run_id=new_id)
        header = replace(
            point.header,
            run_id=new_id,
            parent_run_id=run_id,
            forked_from_step=after_step,
            resumed=False,
            task=checkpoint.frames[0].task,
        )
        edited = "action" if action is not None else "state" if state is not None else ""
        return await self._execute(
            header,
            _team_of(header),
            subscribers,
            review,
            learn=learn,
            control=control,
            start=(checkpoint, point.checkpoint_seq),
            first_action=action,
            edited=edited,
        )

    def _journal(self) -> RunJournal:
        if self.journal is None:
            raise UserError("Runs are not being recorded, so none can be resumed or forked.")
        return self.journal

    async def _execute(
        self,
        header: RunHeader,
        team: LoadedTeam,
        subscribers: Sequence[Subscriber],
        review: ReviewGate | None,
        *,
        learn: bool,
        control: RunControl | None = None,
        start: tuple[Checkpoint, int] | None = None,
        first_action: Action | None = None,
        edited: str = "",
        judge: OutcomeJudge | None = None,
    ) -> RunOutcome:
        from purpose_desktop.engine.loop.agent_loop import AgentLoop
        from purpose_desktop.engine.review import AutoApprove

        checkpoint, last_seq = start if start is not None else (None, 0)
        agent_tools = await self._tools.agent_tools(team.spec)  # before anything is recorded
        if self.journal is not None:
            self.journal.begin(header)
        events = EventStream(
            header.run_id,
            [*subscribers, *self._observers],
            last_seq=last_seq,
            sink=None if self.journal is None else self.journal.record,
        )
        workspace = self._workspace(header)
        run = RunContext(
            header.run_id,
            team,
            header.task,
            events,
            review or AutoApprove(),
            ToolContext(workspace, Notes()),
            self.prices,
            self.journal,
            control or RunControl(),
            agent_tools=agent_tools,
            approvals=self._approvals,
        )
        status: RunStatus = "failed"
        answer, error, agent_name = "", None, ""
        try:
            self._announce(run, header, checkpoint, edited)
            await self._read_approvals(run)
            workspace.mkdir(parents=True, exist_ok=True)
            if checkpoint is None:
                agent = await self._select_agent(run)
                frames: tuple[Frame, ...] = ()
            else:
                run.restore(checkpoint)
                agent = team.spec.agent(checkpoint.frames[0].agent)
                frames = checkpoint.frames
            agent_name = agent.name
            loop = AgentLoop(
                self._models, self.memory, self.critic, max_answer_tokens=self._max_answer_tokens
            )
            status, answer, error = await loop.run(
                run, agent, run.task, resume=frames, first_action=first_action
            )
            if error:
                events.emit(ErrorRaised(message=error))
            if learn:
                verdict = None if judge is None else await judge(status, answer)
                await self._learn_or_warn(run, status, answer, verdict)
        except UserError as exc:
            status, error = "failed", str(exc)
            events.emit(ErrorRaised(message=error))
        except KeyError as exc:  # a checkpoint naming an agent the stored team lacks
            status, error = "failed", f"The stored team has no agent {exc}."
            events.emit(ErrorRaised(message=error))
        except asyncio.CancelledError:
            status = "cancelled"
            raise
        finally:
            costs = summarise(run.calls)
            events.emit(
                RunFinished(
                    status=status,
                    answer=answer,
                    prompt_tokens=costs.total.prompt_tokens,
                    completion_tokens=costs.total.completion_tokens,
                    seconds=run.seconds,
                    steps=len(run.steps),
                    phi=run.phi,
                )
            )
            await events.aclose()
            record_error = await self._flush_journal()
            if self._recording_stopped() and status != "cancelled":
                # Its record can never be completed: whatever its agent did, the run failed.
                status, error = "failed", error or record_error
        usage = Usage(costs.total.prompt_tokens, costs.total.completion_tokens, costs.total.seconds)
        return RunOutcome(
            header.run_id,
            status,
            answer,
            usage,
            error,
            agent_name,
            tuple(run.steps),
            costs,
            record_error,
        )

    def workspace_of(self, run_id: str) -> Path:
        """The folder run ``run_id`` works in (made when the run starts)."""
        return self._workspaces_dir / run_id

    def _workspace(self, header: RunHeader) -> Path:
        """The run's folder; a fork starts with a copy of its parent's files as they are."""
        workspace = self.workspace_of(header.run_id)
        parent = header.parent_run_id
        if parent is not None and not workspace.exists():
            source = self._workspaces_dir / parent
            if source.is_dir():
                shutil.copytree(source, workspace, symlinks=True)
        return workspace

    @staticmethod
    def _announce(
        run: RunContext, header: RunHeader, checkpoint: Checkpoint | None, edited: str
    ) -> None:
        if header.parent_run_id is not None and checkpoint is not None:
            run.events.emit(
                RunForked(
                    parent_run_id=header.parent_run_id,
                    from_step=checkpoint.step,
                    edited=edited,
                )
            )
        elif header.resumed and checkpoint is not None:
            run.events.emit(RunResumed(from_step=checkpoint.step))
        else:
            run.events.emit(RunStarted(team=header.team, task=header.task))

    async def _read_approvals(self, run: RunContext) -> None:
        """Take up the team's standing approvals; a store that cannot be read is warned
        about, and the run asks about every tool as it would without them."""
        if self._approvals is None:
            return
        try:
            run.remembered = set(await self._approvals.allowed_keys(run.team.spec.name))
        except UserError as exc:
            run.events.emit(
                WarningRaised(
                    message=f"The team's remembered approvals could not be read ({exc}); "
                    "this run asks about every tool its review policy names."
                )
            )

    def _recording_stopped(self) -> bool:
        return self.journal is not None and self.journal.stopped is not None

    async def _flush_journal(self) -> str | None:
        if self.journal is None:
            return None
        try:
            await asyncio.shield(self.journal.flush())
        except UserError as exc:
            log.error("The run's record could not be saved: %s", exc)
            return str(exc)
        return None

    @property
    def critic(self) -> Critic:
        """The critic of every run of this runner; its cache of scores lives as long."""
        if self._critic is None:
            from purpose_desktop.engine.critic import Critic

            self._critic = Critic(self.memory)
        return self._critic

    async def _select_agent(self, run: RunContext) -> AgentSpec:
        from purpose_desktop.engine.loop.agent_loop import pick_with_model
        from purpose_desktop.engine.loop.routing import Router

        team = run.team

        async def pick(task: str, candidates: Sequence[AgentSpec]) -> str | None:
            reference = team.spec.router.model or team.spec.default_model or candidates[0].model
            return await pick_with_model(self._models, run, reference, task, candidates)

        decision = await Router(self._models).choose(
            team.spec, run.task, team.base_dir, pick, run.agent_tools
        )
        run.events.emit(
            AgentSelected(
                agent=decision.agent.name,
                model=decision.agent.model,
                reason=f"{decision.reason} ({decision.complexity} task)",
            )
        )
        return decision.agent

    async def _learn_or_warn(
        self, run: RunContext, status: RunStatus, answer: str, verdict: Verdict | None
    ) -> None:
        """Learn from the run; a memory that cannot be written (a full disk) costs the lesson,
        not the run's outcome."""
        try:
            await self._learn(run, status, answer, verdict)
        except UserError as exc:
            run.events.emit(WarningRaised(message=f"The team could not learn from this run: {exc}"))

    async def _learn(
        self, run: RunContext, status: RunStatus, answer: str, verdict: Verdict | None
    ) -> None:
        from purpose_desktop.engine.learning import lessons

        result = lessons.RunResult(
            run.team.spec.name,
            run.run_id,
            run.task,
            status,
            answer,
            tuple(run.steps),
            has_tools=any(agent.tools for agent in run.team.spec.agents),
            verdict=verdict,
        )
        for heuristic in lessons.distil(result):
            stored = await self.memory.add_heuristic(heuristic)
            assert stored.id is not None
            run.events.emit(
                HeuristicLearned(
                    heuristic_id=stored.id,
                    tier=stored.tier.value,
                    pattern=stored.pattern,
                    strategy=stored.strategy,
                    source=stored.source,
                )
            )
        used = lessons.used_heuristics(run.steps)
        if not result.evidenced:
            # A plan is acted on, as a dead end is: only evidence takes it away. The critic
            # scores right answers low too (a right product Φ 1), and one such score would
            # leave the plan untrusted.
            used = [i for i in used if i not in run.followed_plans]
        if used and result.judged:
            await self.memory.update_heuristics(
                used, reward=result.reward, success=result.succeeded, alpha=0.3, run_id=run.run_id
            )
            for heuristic_id in used:
                run.events.emit(HeuristicUpdated(heuristic_id=heuristic_id, reward=result.reward))
        if result.judged:
            recalled = sorted(run.recalled_experiences)
            if recalled:
                await self.memory.update_experiences(recalled, reward=result.reward, alpha=0.3)
            await self.memory.add_experience(lessons.experience(result))


def _team_of(header: RunHeader) -> LoadedTeam:
    from purpose_desktop.engine.specs import LoadedTeam, TeamSpec

    source = None if header.team_source is None else Path(header.team_source)
    return LoadedTeam(spec=TeamSpec.model_validate_json(header.team_spec), source=source)
