"""What one run shares between its steps and agents, and the pause control a person holds.

The agent loop reads and extends a :class:`RunContext`; :mod:`.run` makes one per run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from purpose_desktop.engine.costs import CallCost, PriceTable
from purpose_desktop.engine.events import (
    CallPurpose,
    CostRecorded,
    EventStream,
    ModelStatusChanged,
    WarningRaised,
)
from purpose_desktop.engine.recording.checkpoint import Checkpoint, Frame
from purpose_desktop.engine.recording.journal import RecordingStopped, RunJournal
from purpose_desktop.engine.tools.base import Tool, ToolContext
from purpose_desktop.engine.trajectory import Step
from purpose_desktop.errors import UserError
from purpose_desktop.models.base import DescribesModels, ModelProvider, ModelStatus
from purpose_desktop.models.messages import Usage

if TYPE_CHECKING:
    from purpose_desktop.engine.review import ApprovalKind, ApprovalMemory, ReviewGate
    from purpose_desktop.engine.specs import LoadedTeam


class ModelService(ModelProvider, DescribesModels, Protocol):
    """Loads models and tells what they are without loading them."""


class RunControl:
    """Pauses a run between steps and lets it go on. A step under way finishes first (a model
    call is not cut off); the run then waits before its next step."""

    def __init__(self) -> None:
        self._go_on = asyncio.Event()
        self._go_on.set()

    @property
    def paused(self) -> bool:
        return not self._go_on.is_set()

    def pause(self) -> None:
        self._go_on.clear()

    def go_on(self) -> None:
        self._go_on.set()

    async def wait(self) -> None:
        """Return at once unless paused; else when :meth:`go_on` is called."""
        await self._go_on.wait()


class HasFrame(Protocol):
    """An agent's turn that can say how far it got (what a checkpoint keeps of it)."""

    def frame(self) -> Frame: ...


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
    journal: RunJournal | None = None
    control: RunControl = field(default_factory=RunControl)
    steps: list[Step] = field(default_factory=list)
    calls: list[CallCost] = field(default_factory=list)
    always_allowed: set[str] = field(default_factory=set)
    remembered: set[str] = field(default_factory=set)
    """The team's standing approvals (tool names and ``SERVER.*``), read when the run
    starts; unlike :attr:`always_allowed`, not part of a checkpoint (they may be revoked)."""
    approvals: ApprovalMemory | None = None
    """Where approvals a person asks to remember are kept for the team."""
    agent_tools: Mapping[str, tuple[Tool, ...]] = field(default_factory=dict)
    """Each agent's tools, by its name: found when the run starts."""
    turns: list[HasFrame] = field(default_factory=list)
    """The turns under way: the selected agent's first, a teammate's it waits for after."""
    seconds_before: float = 0.0
    """How long the run went on before it was resumed or forked."""
    recalled_experiences: set[int] = field(default_factory=set)
    """The past experiences shown to the agents: learning moves their Q-values by how the run
    went."""
    followed_plans: set[int] = field(default_factory=set)
    """The heuristic ids of the plans the loop followed (borrowed ones aside)."""
    started: float = field(default_factory=time.monotonic)
    _last_step: int = 0
    _warned_journal: bool = False

    @property
    def last_step(self) -> int:
        return self._last_step

    def next_step(self) -> int:
        """The number of a new step, counted over the whole run (teammates included)."""
        self._last_step += 1
        return self._last_step

    @property
    def allowed(self) -> set[str]:
        """What is not asked about: allowed for the run, or remembered for the team."""
        return self.always_allowed | self.remembered

    async def remember(self, kind: ApprovalKind, tool: Tool) -> None:
        """Allow ``tool`` (``kind`` ``"tool"``) or every tool of its server from now on,
        and keep that for the team's later runs; a store that cannot keep it is warned
        about, and the run goes on with it allowed."""
        from purpose_desktop.engine.review import allowed_key, approval_name

        name = approval_name(kind, tool.name)
        self.remembered.add(allowed_key(kind, name))
        if self.approvals is None:
            return
        try:
            await self.approvals.remember(self.team.spec.name, kind, name)
        except UserError as exc:
            self.events.emit(
                WarningRaised(
                    message=f"The approval of {kind} '{name}' could not be kept for the "
                    f"team ({exc}); it holds for this run only."
                )
            )

    def record_call(self, agent: str, model: str, purpose: CallPurpose, usage: Usage) -> None:
        cost = self.prices.cost(model, usage.prompt_tokens, usage.completion_tokens)
        self.calls.append(
            CallCost(
                agent, model, usage.prompt_tokens, usage.completion_tokens, usage.seconds, cost
            )
        )
        self.events.emit(
            CostRecorded(
                agent=agent,
                model=model,
                purpose=purpose,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                seconds=usage.seconds,
                cost=cost,
            )
        )

    def report_status(self, status: ModelStatus) -> None:
        self.events.emit(
            ModelStatusChanged(model=status.model, state=status.state, detail=status.detail)
        )

    @property
    def phi(self) -> float:
        return self.steps[-1].phi_after if self.steps else 0.0

    @property
    def seconds(self) -> float:
        return self.seconds_before + time.monotonic() - self.started

    def checkpoint(self) -> None:
        """Hand the journal everything needed to go on after the step just done. Raises
        :class:`RecordingStopped` when the journal can record nothing more: the run ends."""
        if self.journal is None:
            return
        if self.journal.stopped is not None:
            raise RecordingStopped.because(self.journal.stopped)
        self.journal.checkpoint(
            Checkpoint(
                self.run_id,
                self._last_step,
                tuple(turn.frame() for turn in self.turns),
                tuple(self.steps),
                tuple(self.calls),
                tuple(sorted(self.always_allowed)),
                tuple(self.tools.notes.entries),
                self.seconds,
            )
        )
        problem = self.journal.problem
        if problem is not None and not self._warned_journal:
            self._warned_journal = True
            self.events.emit(
                WarningRaised(
                    message=f"The run cannot be saved right now "
                    f"({problem}); it goes on and saving is tried again.",
                )
            )

    def restore(self, checkpoint: Checkpoint) -> None:
        """Take up the run-wide part of ``checkpoint`` (the turns restore themselves)."""
        self.steps = list(checkpoint.steps)
        self.calls = list(checkpoint.calls)
        self.always_allowed = set(checkpoint.always_allowed)
        self.tools.notes.entries[:] = checkpoint.notes
        self.seconds_before = checkpoint.seconds
        self._last_step = checkpoint.step
