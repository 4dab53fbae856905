"""Administering a team's memory: the teams that have one, pages of their heuristics and
experiences (searched, filtered, sorted and counted by the database), heuristics edited,
written by hand, pinned and deleted, experiences deleted, the run an experience came from,
and the memories each step of a recorded run was given.

Every method runs its database work off the event loop and returns plain frozen data; a
database that cannot be opened or fails raises :class:`UserError` with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from purpose_desktop.errors import UserError

if TYPE_CHECKING:
    from purpose_desktop.engine.events import MemoryRetrieved
    from purpose_desktop.engine.learning.memory import Experience, Heuristic, Tier
    from purpose_desktop.engine.learning.memory_queries import ExperienceQuery, HeuristicQuery
    from purpose_desktop.engine.recording.run_records import RunDetail, RunSummary
    from purpose_desktop.services.store import StoreService
    from purpose_desktop.store.opening import Store

HeuristicOrder = Literal["q_value", "uses", "newest"]
"""How a page of heuristics is ordered: by Q-value or by uses (highest first), or newest
first."""
ExperienceOrder = Literal["q_value", "newest"]
"""How a page of experiences is ordered: by Q-value (highest first) or newest first."""

Memory = TypeVar("Memory", "Heuristic", "Experience")

NO_LONGER_STORED = (
    "This heuristic is no longer stored: it was deleted meanwhile. Copy what you wrote and "
    "inject it as a new one."
)


@dataclass(frozen=True)
class MemoryPage(Generic[Memory]):
    """One page of what a query finds: its rows, how many the query finds in all, and which
    page this is (the last one when the page asked for is past the end, after deletions)."""

    rows: tuple[Memory, ...]
    total: int
    page: int


@dataclass(frozen=True)
class Injection:
    """A heuristic written by hand, as stored. ``as_written`` is false when the team already
    had the same one, learned from runs or used in them, which is kept as it was."""

    heuristic: Heuristic
    as_written: bool


@dataclass(frozen=True)
class StepMemories:
    """The memories a step was given that are still stored, by id (those deleted since are
    missing)."""

    heuristics: Mapping[int, Heuristic]
    experiences: Mapping[int, Experience]


class MemoryService:
    """A team's memory in the app's database."""

    def __init__(self, store: StoreService) -> None:
        self._store = store

    async def teams(self) -> tuple[str, ...]:
        """The teams that have heuristics or experiences, by name."""
        return tuple(await self._store.run(lambda store: store.memory.memory_teams()))

    async def heuristics(
        self,
        query: HeuristicQuery,
        order: HeuristicOrder,
        page: int,
        page_size: int,
        total: int | None = None,
    ) -> MemoryPage[Heuristic]:
        """Page ``page`` (from 0) of the heuristics ``query`` finds, in ``order``. ``total``,
        when the caller knows it already (turning pages of one query), saves counting."""
        return await self._store.run(
            lambda store: _page(
                lambda: store.memory.count_heuristics(query),
                lambda offset: store.memory.search_heuristics(
                    query, order=order, offset=offset, limit=page_size
                ),
                page,
                page_size,
                total,
            )
        )

    async def experiences(
        self,
        query: ExperienceQuery,
        order: ExperienceOrder,
        page: int,
        page_size: int,
        total: int | None = None,
    ) -> MemoryPage[Experience]:
        """Page ``page`` (from 0) of the experiences ``query`` finds, in ``order``; as
        :meth:`heuristics`."""
        return await self._store.run(
            lambda store: _page(
                lambda: store.memory.count_experiences(query),
                lambda offset: store.memory.search_experiences(
                    query, order=order, offset=offset, limit=page_size
                ),
                page,
                page_size,
                total,
            )
        )

    async def edit_heuristic(
        self, heuristic_id: int, *, tier: Tier, pattern: str, strategy: str, pinned: bool
    ) -> Heuristic:
        """Change a heuristic's tier, pattern, strategy and pin (its Q-value, counts, source
        and runs stay); returns it as now stored. Raises :class:`UserError` when it was
        deleted meanwhile, or the team already has a heuristic with that tier, pattern and
        strategy."""

        async def edit(store: Store) -> Heuristic | None:
            return await store.memory.edit_heuristic(
                heuristic_id, tier=tier, pattern=pattern, strategy=strategy, pinned=pinned
            )

        edited = await self._store.run(edit)
        if edited is None:
            raise UserError(NO_LONGER_STORED)
        return edited

    async def inject_heuristic(
        self, team: str, *, tier: Tier, pattern: str, strategy: str, pinned: bool
    ) -> Injection:
        """Store a heuristic a person wrote for ``team`` (source ``human``, starting at the
        usual Q-value)."""
        from purpose_desktop.engine.learning.memory import Heuristic

        written = Heuristic(
            team=team,
            tier=tier,
            pattern=pattern,
            strategy=strategy,
            source="human",
            pinned=pinned,
        )
        stored = await self._store.run(lambda store: store.memory.add_heuristic(written))
        as_written = stored.source == "human" and stored.uses == 0 and stored.run_ids == ()
        return Injection(stored, as_written)

    async def set_pinned(self, heuristic_ids: Sequence[int], pinned: bool) -> None:
        """Pin or unpin these heuristics (those no longer stored are skipped)."""

        async def pin(store: Store) -> None:
            for heuristic_id in heuristic_ids:
                await store.memory.set_pinned(heuristic_id, pinned)

        await self._store.run(pin)

    async def delete_heuristics(self, heuristic_ids: Sequence[int]) -> int:
        """Forget these heuristics (and which runs used them); how many were still stored."""
        return await self._store.run(lambda store: store.memory.delete_heuristics(heuristic_ids))

    async def delete_experiences(self, experience_ids: Sequence[int]) -> int:
        """Forget these experiences; how many were still stored."""
        return await self._store.run(lambda store: store.memory.delete_experiences(experience_ids))

    async def source_run(self, experience: Experience) -> RunDetail | None:
        """The recorded run ``experience`` came from, with its steps; ``None`` when it is not
        recorded in this database (its memory was imported, or the run was deleted)."""

        def read(store: Store) -> RunDetail | None:
            try:
                return store.runs.run_now(experience.run_id)
            except UserError:  # no such run (or a prefix of several): not recorded here
                return None

        return await self._store.run_blocking(read)

    async def recent_runs(self, limit: int) -> tuple[RunSummary, ...]:
        """The ``limit`` latest recorded runs, newest first."""
        return tuple(await self._store.run_blocking(lambda s: s.runs.list_runs_now(limit=limit)))

    async def retrievals(self, run_id: str) -> tuple[MemoryRetrieved, ...]:
        """What memory was put in front of an agent at each step of the run, in order (a step
        taken again after a resume is listed again)."""
        return tuple(await self._store.run_blocking(lambda s: s.runs.memory_retrievals_now(run_id)))

    async def step_memories(
        self, heuristic_ids: Sequence[int], experience_ids: Sequence[int]
    ) -> StepMemories:
        """The heuristics and experiences with these ids that are still stored."""

        async def read(store: Store) -> StepMemories:
            heuristics = await store.memory.heuristics_by_ids(heuristic_ids)
            experiences = await store.memory.experiences_by_ids(experience_ids)
            return StepMemories(
                {h.id: h for h in heuristics if h.id is not None},
                {e.id: e for e in experiences if e.id is not None},
            )

        return await self._store.run(read)


def pages_for(total: int, page_size: int) -> int:
    """How many pages ``total`` rows fill (one, empty, for none)."""
    return max(-(-total // page_size), 1)


async def _page(
    count: Callable[[], Awaitable[int]],
    search: Callable[[int], Awaitable[list[Memory]]],
    page: int,
    page_size: int,
    total: int | None,
) -> MemoryPage[Memory]:
    """Page ``page`` of what ``search`` finds from an offset (the last page when ``page`` is
    past the end); ``count`` counts it all unless ``total`` says."""
    found = await count() if total is None else total
    shown = max(min(page, pages_for(found, page_size) - 1), 0)
    rows = await search(shown * page_size)
    return MemoryPage(tuple(rows), found, shown)
