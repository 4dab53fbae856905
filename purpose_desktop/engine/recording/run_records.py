"""A recorded run as lists and details show it, and cost totals: the plain frozen data the
store's run queries return and the front ends read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from purpose_desktop.engine.costs import CostTotal
from purpose_desktop.engine.recording.journal import StoredStatus
from purpose_desktop.engine.trajectory import Step

CostGrouping = Literal["agent", "model", "day", "run"]
"""What cost totals are grouped by."""


@dataclass(frozen=True)
class RunSummary:
    """A run as a list shows it."""

    id: str
    team: str
    task: str
    status: StoredStatus
    agent: str
    answer: str
    error: str | None
    steps: int
    phi: float
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cost: float
    events: int
    started_at: float
    finished_at: float | None
    parent_run_id: str | None
    forked_from_step: int | None


@dataclass(frozen=True)
class ScoreOverrideRecord:
    step: int
    agent: str
    critic_phi: float
    phi: float
    reason: str


@dataclass(frozen=True)
class RunDetail:
    """A run with its steps (as checkpointed) and the person's score overrides."""

    summary: RunSummary
    steps: tuple[Step, ...]
    overrides: tuple[ScoreOverrideRecord, ...]


@dataclass(frozen=True, kw_only=True)
class CostTotalRecord(CostTotal):
    """The totals of one agent, model, day or run (``key``)."""

    key: str
