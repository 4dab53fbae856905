"""A memory store opened on first use, off the event loop.

Opening the database imports SQLAlchemy and may create tables: a few hundred milliseconds the
window should not wait for. The first run pays it instead, on a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from purpose_desktop.engine.learning.memory import (
        Experience,
        Heuristic,
        MemoryStore,
        ScoreAnchor,
        Tier,
    )


class DeferredMemoryStore:
    """Implements :class:`~purpose_desktop.engine.learning.memory.MemoryStore` by opening the real
    store
    (with ``open_store``, called once on a thread) when it is first needed. An error opening
    it is raised to each caller, and the next call tries again."""

    def __init__(self, open_store: Callable[[], MemoryStore]) -> None:
        self._open_store = open_store
        self._store: MemoryStore | None = None
        self._lock = asyncio.Lock()

    async def opened(self) -> MemoryStore:
        async with self._lock:
            if self._store is None:
                self._store = await asyncio.to_thread(self._open_store)
            return self._store

    async def find_heuristics(
        self, team: str, query: str, *, tiers: Sequence[Tier] = (), limit: int = 5
    ) -> list[Heuristic]:
        return await (await self.opened()).find_heuristics(team, query, tiers=tiers, limit=limit)

    async def add_heuristic(self, heuristic: Heuristic) -> Heuristic:
        return await (await self.opened()).add_heuristic(heuristic)

    async def update_heuristics(
        self, ids: Sequence[int], *, reward: float, success: bool, alpha: float, run_id: str
    ) -> None:
        await (await self.opened()).update_heuristics(
            ids, reward=reward, success=success, alpha=alpha, run_id=run_id
        )

    async def find_experiences(self, team: str, query: str, *, limit: int = 3) -> list[Experience]:
        return await (await self.opened()).find_experiences(team, query, limit=limit)

    async def add_experience(self, experience: Experience) -> Experience:
        return await (await self.opened()).add_experience(experience)

    async def update_experiences(self, ids: Sequence[int], *, reward: float, alpha: float) -> None:
        await (await self.opened()).update_experiences(ids, reward=reward, alpha=alpha)

    async def find_anchors(self, team: str, query: str, *, limit: int = 5) -> list[ScoreAnchor]:
        return await (await self.opened()).find_anchors(team, query, limit=limit)

    async def add_anchor(self, anchor: ScoreAnchor) -> ScoreAnchor:
        return await (await self.opened()).add_anchor(anchor)
