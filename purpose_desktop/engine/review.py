"""The review gate: how a person approves, edits or rejects actions and corrects scores.

The engine awaits a :class:`ReviewGate`; the GUI answers from dialogs, the CLI at the terminal,
and :class:`AutoApprove` for unattended runs. Whether to ask at all follows the agent's policy.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol

from purpose_desktop.engine.specs import ReviewPolicy
from purpose_desktop.engine.tools.base import Tool
from purpose_desktop.engine.tools.names import MCP_SEPARATOR, is_mcp_tool_name
from purpose_desktop.engine.trajectory import Action, Observation, State

ApprovalKind = Literal["tool", "server"]
"""What a remembered approval covers: one tool, or every tool of one MCP server."""
APPROVAL_KINDS: Final[tuple[ApprovalKind, ...]] = ("tool", "server")
#: Ends the key that stands for every tool of a server among the tools allowed: ``time.*``.
EVERY_TOOL: Final = "*"


@dataclass(frozen=True)
class ActionReviewRequest:
    """An action waiting for approval; ``tool`` is ``None`` for finish and delegate.
    ``team`` is the name of the run's team (what a remembered approval is kept for)."""

    run_id: str
    agent: str
    step: int
    action: Action
    tool: Tool | None
    team: str = ""


@dataclass(frozen=True)
class ActionDecision:
    """Approve as proposed, approve an edited ``action``, or reject with a ``reason``.

    ``always_allow`` approves this tool for the rest of the run without asking again.
    ``remember`` also keeps an approval for the team, for its later runs too: of this
    ``"tool"``, or of every tool of its MCP ``"server"``; it allows for the rest of the run
    as ``always_allow`` does.
    """

    verdict: Literal["approve", "edit", "reject"]
    action: Action | None = None
    reason: str = ""
    always_allow: bool = False
    remember: ApprovalKind | None = None


@dataclass(frozen=True)
class RememberedApproval:
    """A team's standing approval: of the tool called ``name``, or (``kind`` ``"server"``)
    of every tool of the MCP server called ``name``; ``created_at`` in seconds since the
    epoch."""

    team: str
    kind: ApprovalKind
    name: str
    created_at: float

    @property
    def key(self) -> str:
        """The approval as a run's allowed tools hold it (:func:`allowed_key`)."""
        return allowed_key(self.kind, self.name)


class ApprovalMemory(Protocol):
    """Keeps each team's standing approvals, for the runs of that team to skip asking."""

    async def allowed_keys(self, team: str) -> frozenset[str]:
        """The approvals kept for ``team``, as :func:`allowed_key` gives them."""
        ...

    async def remember(self, team: str, kind: ApprovalKind, name: str) -> RememberedApproval:
        """Keep an approval for ``team``; raises ``UserError`` when it cannot be kept."""
        ...


def server_of(tool_name: str) -> str | None:
    """The MCP server of the tool called ``tool_name`` (``time`` for
    ``time.get_current_time``), or ``None`` for a tool of no server."""
    if not is_mcp_tool_name(tool_name):
        return None
    return tool_name.partition(MCP_SEPARATOR)[0]


def allowed_key(kind: ApprovalKind, name: str) -> str:
    """How an approval is held among a run's allowed tools: a tool by its name, a server as
    ``SERVER.*``, which no tool's name can be."""
    return f"{name}{MCP_SEPARATOR}{EVERY_TOOL}" if kind == "server" else name


def approval_name(kind: ApprovalKind, tool_name: str) -> str:
    """What an approval of ``kind`` for the tool ``tool_name`` names: the tool, or its
    server. Raises :class:`ValueError` for a server approval of a tool of no server."""
    if kind == "tool":
        return tool_name
    server = server_of(tool_name)
    if server is None:
        raise ValueError(f"The tool {tool_name!r} belongs to no MCP server.")
    return server


def is_allowed(tool_name: str, allowed: Collection[str]) -> bool:
    """Whether ``allowed`` (tool names and ``SERVER.*`` keys) covers the tool."""
    if tool_name in allowed:
        return True
    server = server_of(tool_name)
    return server is not None and allowed_key("server", server) in allowed


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

    Finishing and delegating are never risky; a tool the person allowed (for the run, or for
    the team: by its name, or its server's ``SERVER.*``) is not asked about again.
    """
    if policy is ReviewPolicy.NEVER or (tool is not None and is_allowed(tool.name, always_allowed)):
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
