"""Memories that learn everything but recall only some of it, to tell which part of learning
carries an improvement.

A team recalls three kinds of things from its memory: heuristics (shown to the agents before
they act, and among them the dead ends the agent loop keeps them from), past experiences of
similar tasks (shown likewise) and score anchors (a person's corrections of Φ, shown to the
critic). An ablation arm of the benchmark runs the team on a memory that stores all of them as
usual but never hands back the kinds it hides: the difference to the full arm is what those
kinds contributed.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from purpose_desktop.engine.learning import dead_ends
from purpose_desktop.engine.learning.memory import (
    Experience,
    Heuristic,
    MemoryStore,
    ScoreAnchor,
    Tier,
)


class Recall(StrEnum):
    """A kind of thing a team recalls from its memory."""

    HEURISTICS = "heuristics"
    """All heuristics, the dead ends with them."""
    DEAD_ENDS = "dead ends"
    """Only the dead ends (:mod:`purpose_desktop.engine.learning.dead_ends`)."""
    EXPERIENCES = "experiences"
    ANCHORS = "score anchors"


class PartialRecall:
    """``memory`` with the kinds in ``hidden`` never found; everything is still stored."""

    def __init__(self, memory: MemoryStore, hidden: frozenset[Recall]) -> None:
        self._memory = memory
        self.hidden = hidden

    async def find_heuristics(
        self, team: str, query: str, *, tiers: Sequence[Tier] = (), limit: int = 5
    ) -> list[Heuristic]:
        if Recall.HEURISTICS in self.hidden:
            return []
        found = await self._memory.find_heuristics(team, query, tiers=tiers, limit=limit)
        if Recall.DEAD_ENDS in self.hidden:
            return [heuristic for heuristic in found if not dead_ends.is_lesson(heuristic)]
        return found

    async def add_heuristic(self, heuristic: Heuristic) -> Heuristic:
        return await self._memory.add_heuristic(heuristic)

    async def update_heuristics(
        self, ids: Sequence[int], *, reward: float, success: bool, alpha: float, run_id: str
    ) -> None:
        await self._memory.update_heuristics(
            ids, reward=reward, success=success, alpha=alpha, run_id=run_id
        )

    async def find_experiences(self, team: str, query: str, *, limit: int = 3) -> list[Experience]:
        if Recall.EXPERIENCES in self.hidden:
            return []
        return await self._memory.find_experiences(team, query, limit=limit)

    async def add_experience(self, experience: Experience) -> Experience:
        return await self._memory.add_experience(experience)

    async def update_experiences(self, ids: Sequence[int], *, reward: float, alpha: float) -> None:
        await self._memory.update_experiences(ids, reward=reward, alpha=alpha)

    async def find_anchors(self, team: str, query: str, *, limit: int = 5) -> list[ScoreAnchor]:
        if Recall.ANCHORS in self.hidden:
            return []
        return await self._memory.find_anchors(team, query, limit=limit)

    async def add_anchor(self, anchor: ScoreAnchor) -> ScoreAnchor:
        return await self._memory.add_anchor(anchor)
