"""The review gate: how a person approves, edits or rejects actions and corrects scores.

The engine awaits a :class:`ReviewGate`; the GUI answers from dialogs, the CLI at the terminal,
and :class:`AutoApprove` for unattended runs. Whether to ask at all follows the agent's policy.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal, Protocol

from purpose_desktop.engine.specs import ReviewPolicy
from purpose_desktop.engine.tools.base import Tool
from purpose_desktop.engine.trajectory import Action, Observation, State


@dataclass(frozen=True)
class ActionReviewRequest:
    """An action waiting for approval; ``tool`` is ``None`` for finish and delegate."""

    run_id: str
    agent: str
    step: int
    action: Action
    tool: Tool | None


@dataclass(frozen=True)
class ActionDecision:
    """Approve as proposed, approve an edited ``action``, or reject with a ``reason``.

    ``always_allow`` approves this tool for the rest of the run without asking again.
    """

    verdict: Literal["approve", "edit", "reject"]
    action: Action | None = None
    reason: str = ""
    always_allow: bool = False


@dataclass(frozen=True)
class ScoreReviewRequest:
    run_id: str
    agent: str
    step: int
    state: State
    action: Action
    observation: Observation
    phi_before: float
    phi: float
    evidence: str


@dataclass(frozen=True)
class ScoreDecision:
    """Keep the critic's score (``phi`` is ``None``) or override it (0 to 10) with a reason."""

    phi: float | None = None
    reason: str = ""


class ReviewGate(Protocol):
    async def review_action(self, request: ActionReviewRequest) -> ActionDecision: ...

    async def review_score(self, request: ScoreReviewRequest) -> ScoreDecision: ...


class AutoApprove:
    """Approves every action and keeps every score: for unattended runs."""

    async def review_action(self, request: ActionReviewRequest) -> ActionDecision:
        return ActionDecision("approve")

    async def review_score(self, request: ScoreReviewRequest) -> ScoreDecision:
        return ScoreDecision()


def asks_for_action(
    policy: ReviewPolicy, tool: Tool | None, always_allowed: Collection[str]
) -> bool:
    """Whether the person reviews an action under ``policy``.

    Finishing and delegating are never risky; a tool the person allowed for the run is not
    asked about again.
    """
    if policy is ReviewPolicy.NEVER or (tool is not None and tool.name in always_allowed):
        return False
    if policy is ReviewPolicy.ALWAYS:
        return True
    return tool is not None and tool.risky


def asks_for_score(policy: ReviewPolicy) -> bool:
    """Scores are put to the person only when they asked to see every step."""
    return policy is ReviewPolicy.ALWAYS


def half_steps(phi: float) -> float:
    """``phi`` kept within 0 to 10 and rounded to half steps, like the slider's."""
    return round(min(10.0, max(0.0, phi)) * 2) / 2


def checked_override(phi: float) -> float:
    """``phi`` as an override: within 0 to 10, in half steps like the slider."""
    if not 0.0 <= phi <= 10.0:
        raise ValueError(f"A score must be between 0 and 10, not {phi:g}.")
    return half_steps(phi)


@dataclass
class ScriptedReview:
    """Answers reviews from lists, in order, and keeps the requests: for tests and demos.

    When a list runs out, actions are approved and scores kept.
    """

    actions: list[ActionDecision] = field(default_factory=list)
    scores: list[ScoreDecision] = field(default_factory=list)
    action_requests: list[ActionReviewRequest] = field(default_factory=list)
    score_requests: list[ScoreReviewRequest] = field(default_factory=list)

    async def review_action(self, request: ActionReviewRequest) -> ActionDecision:
        self.action_requests.append(request)
        return self.actions.pop(0) if self.actions else ActionDecision("approve")

    async def review_score(self, request: ScoreReviewRequest) -> ScoreDecision:
        self.score_requests.append(request)
        return self.scores.pop(0) if self.scores else ScoreDecision()
