"""What a team remembers: heuristics in three tiers, past experiences and human score anchors.

The engine depends only on the :class:`MemoryStore` protocol; the implementation (on SQLite or
PostgreSQL) lives in :mod:`purpose_desktop.store`. Memory belongs to a team: every agent of the
team reads and writes the same heuristics, so what one learns the others use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol

HeuristicSource = Literal["distilled", "human"]


class Tier(StrEnum):
    """How general a heuristic is.

    Strategic: how to approach a kind of task. Procedural: which steps work, in which order.
    Tool: how to call one tool well.
    """

    STRATEGIC = "strategic"
    PROCEDURAL = "procedural"
    TOOL = "tool"


@dataclass(frozen=True)
class Heuristic:
    """A rule of thumb: when ``pattern`` fits the situation, follow ``strategy``.

    ``q_value`` (0 to 1) estimates how much following it helps; it moves towards the reward of
    each run that used it. ``id`` is ``None`` until stored.
    """

    team: str
    tier: Tier
    pattern: str
    strategy: str
    q_value: float = 0.5
    uses: int = 0
    successes: int = 0
    source: HeuristicSource = "distilled"
    run_ids: tuple[str, ...] = ()
    pinned: bool = False
    id: int | None = None

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.uses if self.uses else None


@dataclass(frozen=True)
class Experience:
    """One past run in short: the task, what was done, and how it ended."""

    team: str
    task: str
    summary: str
    outcome: Literal["completed", "failed", "cancelled"]
    final_phi: float
    steps: int
    run_id: str
    q_value: float = 0.5
    id: int | None = None


@dataclass(frozen=True)
class ScoreAnchor:
    """A person's correction of the critic: the state, the critic's score and theirs."""

    team: str
    task: str
    state: str
    critic_score: float
    human_score: float
    reason: str
    run_id: str
    id: int | None = None


class MemoryStore(Protocol):
    """Where a team's memory is kept. Searches are two-phase: text similarity finds the
    candidates (BM25), then Q-value orders them; pinned heuristics come first."""

    async def find_heuristics(
        self, team: str, query: str, *, tiers: Sequence[Tier] = (), limit: int = 5
    ) -> list[Heuristic]: ...

    async def add_heuristic(self, heuristic: Heuristic) -> Heuristic:
        """Store ``heuristic``; one with the same team, tier, pattern and strategy is
        returned as it is stored instead of being added twice."""
        ...

    async def update_heuristics(
        self, ids: Sequence[int], *, reward: float, success: bool, alpha: float, run_id: str
    ) -> None:
        """Move each heuristic's Q-value towards ``reward`` (0 to 1) by ``alpha``, count the use
        (and the success), and note the run."""
        ...

    async def find_experiences(
        self, team: str, query: str, *, limit: int = 3
    ) -> list[Experience]: ...

    async def add_experience(self, experience: Experience) -> Experience: ...

    async def update_experiences(self, ids: Sequence[int], *, reward: float, alpha: float) -> None:
        """Move each experience's Q-value towards ``reward`` (0 to 1) by ``alpha``: how a run
        went that was shown it."""
        ...

    async def find_anchors(self, team: str, query: str, *, limit: int = 5) -> list[ScoreAnchor]:
        """Anchors whose task or state resembles ``query``, most similar first."""
        ...

    async def add_anchor(self, anchor: ScoreAnchor) -> ScoreAnchor: ...
