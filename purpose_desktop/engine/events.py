"""The one vocabulary of things that happen in a run, and the stream that delivers it.

Every consumer (the CLI printer, the GUI bridge, the store writer, benchmarks) subscribes to the
same stream of these frozen events. Each carries its run id, a sequence number that orders the
run's events without gaps, and a wall-clock timestamp: its envelope, which
:meth:`EventStream.emit` stamps. Code that emits builds the event without it::

    events.emit(TokenStreamed(agent="writer", text="Hello"))
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Event:
    """What every event has. The envelope's defaults mark an event not emitted yet: the
    stream it is emitted on gives it its run id, its number (from 1) and the time."""

    run_id: str = ""
    seq: int = 0
    timestamp: float = 0.0


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    team: str
    task: str


@dataclass(frozen=True, kw_only=True)
class RunResumed(Event):
    """An interrupted run goes on from the checkpoint after ``from_step``."""

    from_step: int


@dataclass(frozen=True, kw_only=True)
class RunForked(Event):
    """This run is a copy of ``parent_run_id`` up to ``from_step``, going on from there;
    ``edited`` says what the person changed ("action", "state", or "")."""

    parent_run_id: str
    from_step: int
    edited: str = ""


@dataclass(frozen=True, kw_only=True)
class RunPaused(Event):
    """The run waits, at the person's request, before taking step ``before_step``."""

    before_step: int


@dataclass(frozen=True, kw_only=True)
class RunContinued(Event):
    """A paused run goes on with step ``before_step``."""

    before_step: int


@dataclass(frozen=True, kw_only=True)
class AgentSelected(Event):
    agent: str
    model: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ModelStatusChanged(Event):
    model: str
    state: Literal["loading", "ready", "unavailable", "unloaded"]
    detail: str


@dataclass(frozen=True, kw_only=True)
class TokenStreamed(Event):
    agent: str
    text: str


@dataclass(frozen=True, kw_only=True)
class ThinkingStreamed(Event):
    """A piece of the reasoning an agent's model writes apart from its answer (a ``<think>``
    section, or a server's reasoning field), as it is generated.

    It is kept with the run and shown, but it is not the answer: the action is read from the
    :class:`TokenStreamed` text alone, and neither the critic nor the agent's later prompts
    are given it."""

    agent: str
    text: str


@dataclass(frozen=True, kw_only=True)
class StepStarted(Event):
    agent: str
    step: int


@dataclass(frozen=True)
class RecalledHeuristic:
    """A heuristic as an agent was shown it; ``id`` is 0 for one that was never stored."""

    id: int
    tier: str
    strategy: str


@dataclass(frozen=True)
class RecalledExperience:
    """A past run as an agent was shown it; ``id`` is 0 for one that was never stored."""

    id: int
    task: str
    outcome: str


@dataclass(frozen=True, kw_only=True)
class MemoryRetrieved(Event):
    """The memories put in front of an agent for one step (what the GUI shows per step)."""

    agent: str
    step: int
    heuristics: tuple[RecalledHeuristic, ...]
    experiences: tuple[RecalledExperience, ...]


@dataclass(frozen=True, kw_only=True)
class ActionProposed(Event):
    agent: str
    step: int
    tool: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    thought: str = ""
    parse_method: str = "json"
    attempts: int = 1


ReviewVerdict = Literal["approved", "edited", "rejected"]


@dataclass(frozen=True, kw_only=True)
class ActionReviewed(Event):
    """The review gate's decision. ``by`` is "person" or "policy" (not asked)."""

    agent: str
    step: int
    verdict: ReviewVerdict
    tool: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""
    by: Literal["person", "policy"] = "policy"


@dataclass(frozen=True, kw_only=True)
class ToolStarted(Event):
    agent: str
    step: int
    tool: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ToolFinished(Event):
    agent: str
    step: int
    tool: str
    ok: bool
    output: str
    seconds: float


@dataclass(frozen=True, kw_only=True)
class Scored(Event):
    """The critic's score Φ of the state after a step. ``flag`` says why it was re-checked or
    limited (an implausible jump, no evidence); ``calibrated_by`` counts human anchors used."""

    agent: str
    step: int
    phi_before: float
    phi: float
    evidence: str
    flag: str = ""
    cached: bool = False
    calibrated_by: int = 0


@dataclass(frozen=True, kw_only=True)
class ScoreOverridden(Event):
    agent: str
    step: int
    critic_phi: float
    phi: float
    reason: str


@dataclass(frozen=True, kw_only=True)
class HeuristicLearned(Event):
    heuristic_id: int
    tier: str
    pattern: str
    strategy: str
    source: str


@dataclass(frozen=True, kw_only=True)
class HeuristicUpdated(Event):
    heuristic_id: int
    reward: float


CallPurpose = Literal["act", "score", "route"]


@dataclass(frozen=True, kw_only=True)
class CostRecorded(Event):
    """One model call: what it was for, its tokens, time and (for priced models) money."""

    agent: str
    model: str
    purpose: CallPurpose
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cost: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, kw_only=True)
class WarningRaised(Event):
    """Something the user should know that did not stop the run."""

    message: str


@dataclass(frozen=True, kw_only=True)
class ErrorRaised(Event):
    message: str


RunStatus = Literal["completed", "failed", "cancelled"]


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    status: RunStatus
    answer: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    steps: int = 0
    phi: float = 0.0


Subscriber = Callable[[Event], None] | Callable[[Event], Awaitable[None]]
E = TypeVar("E", bound=Event)


class _Delivery:
    """One subscriber's queue and the task that feeds it, so a slow one lags on its own."""

    def __init__(self, subscriber: Subscriber) -> None:
        self.subscriber = subscriber
        self.queue: collections.deque[Event] = collections.deque()
        self.ready = asyncio.Event()
        self.closing = False
        self.task = asyncio.get_running_loop().create_task(self._deliver())

    async def _deliver(self) -> None:
        while True:
            while self.queue:
                event = self.queue.popleft()
                try:
                    result = self.subscriber(event)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("Event subscriber %r failed on %s", self.subscriber, event)
            if self.closing:
                return
            self.ready.clear()
            await self.ready.wait()

    def put(self, event: Event) -> None:
        self.queue.append(event)
        self.ready.set()


class EventStream:
    """Numbers the events of one run and delivers each, in order, to every subscriber.

    :meth:`emit` never waits: each subscriber has its own queue, drained by its own task, so a
    slow subscriber falls behind without stalling the run or the other subscribers. A subscriber
    may be a plain function (it must not block) or a coroutine function. One that raises is
    logged and skipped. ``sink`` (a run journal) gets each event at once, before any
    subscriber, and must not block; numbering goes on after ``last_seq`` (a resumed run).
    Must be created on a running loop; :meth:`aclose` delivers what is queued and ends the
    delivery tasks.
    """

    def __init__(
        self,
        run_id: str,
        subscribers: list[Subscriber] | None = None,
        *,
        sink: Callable[[Event], None] | None = None,
        last_seq: int = 0,
    ) -> None:
        self.run_id = run_id
        self._deliveries = [_Delivery(subscriber) for subscriber in subscribers or []]
        self._sink = sink
        self._seq = last_seq

    def emit(self, event: E) -> E:
        """Stamp ``event`` with this run's id, the next number and the time (whatever envelope
        it had is replaced), hand it to the sink and every subscriber, and return it stamped."""
        self._seq += 1
        stamped = replace(event, run_id=self.run_id, seq=self._seq, timestamp=time.time())
        if self._sink is not None:
            self._sink(stamped)
        self.publish(stamped)
        return stamped

    def publish(self, event: Event) -> None:
        """Deliver an event made elsewhere (a stored one, replayed) to every subscriber."""
        for delivery in self._deliveries:
            delivery.put(event)

    async def aclose(self) -> None:
        """Wait until every subscriber has received every event, then stop delivering."""
        for delivery in self._deliveries:
            delivery.closing = True
            delivery.ready.set()
        # shield: a run cancelled while closing still lets its subscribers see the end.
        await asyncio.shield(asyncio.gather(*(d.task for d in self._deliveries)))
