"""The one vocabulary of things that happen in a run.

Every consumer (the CLI printer, the GUI bridge, the store writer, benchmarks) subscribes to the
same stream of these frozen events. Each carries its run id, a sequence number that orders the
run's events without gaps, and a wall-clock timestamp.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Event:
    run_id: str
    seq: int
    timestamp: float


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    team: str
    task: str


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


Subscriber = Callable[[Event], None]
E = TypeVar("E", bound=Event)


class EventStream:
    """Numbers the events of one run and hands each, in order, to every subscriber.

    Subscribers are called on the loop and must return quickly (buffer, then render later). One
    that raises is logged and skipped, so a broken view never stops the run.
    """

    def __init__(self, run_id: str, subscribers: list[Subscriber] | None = None) -> None:
        self.run_id = run_id
        self._subscribers = list(subscribers or [])
        self._seq = 0

    def emit(self, event_type: type[E], **fields: Any) -> E:
        self._seq += 1
        event = event_type(run_id=self.run_id, seq=self._seq, timestamp=time.time(), **fields)
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("Event subscriber %r failed on %s", subscriber, event)
        return event
