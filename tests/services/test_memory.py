"""The memory service over a real SQLite database: pages of a team's memories, edits, heuristics
written by hand, pins and deletions, the run an experience came from and what each step of a
recorded run was given; and what a person reads when something cannot be done."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from purpose_desktop.engine.learning.memory import Experience, Heuristic, Tier
from purpose_desktop.engine.learning.memory_queries import ExperienceQuery, HeuristicQuery
from purpose_desktop.errors import UserError
from purpose_desktop.services.memory import (
    NO_LONGER_STORED,
    Injection,
    MemoryService,
    pages_for,
)
from purpose_desktop.services.store import StoreService
from purpose_desktop.store.opening import Store, StoreError
from tests.support.stores import record_run


@pytest.fixture
def memory(store: Store) -> MemoryService:
    return MemoryService(StoreService(lambda: store))


def fill(store: Store, team: str, heuristics: int, experiences: int) -> list[Heuristic]:
    """``heuristics`` heuristics (Q-values rising with their number) and ``experiences``
    experiences for ``team``, as stored."""

    async def add() -> list[Heuristic]:
        stored = [
            await store.memory.add_heuristic(
                Heuristic(
                    team=team,
                    tier=Tier.TOOL,
                    pattern=f"invoices of month {n}",
                    strategy=f"check total {n}",
                    q_value=n / 100,
                )
            )
            for n in range(heuristics)
        ]
        await store.memory.add_experiences(
            Experience(
                team=team,
                task=f"task {n}",
                summary="done",
                outcome="completed",
                final_phi=7,
                steps=2,
                run_id=f"imported-{n}",
            )
            for n in range(experiences)
        )
        return stored

    return asyncio.run(add())


def test_pages_are_counted_and_a_page_past_the_end_becomes_the_last(
    memory: MemoryService, store: Store
) -> None:
    fill(store, "lab", 25, 3)
    fill(store, "ops", 1, 0)
    assert asyncio.run(memory.teams()) == ("lab", "ops")

    lab = HeuristicQuery("lab")
    first = asyncio.run(memory.heuristics(lab, "q_value", 0, 10))
    assert (first.total, first.page, len(first.rows)) == (25, 0, 10)
    assert [h.q_value for h in first.rows] == sorted((h.q_value for h in first.rows), reverse=True)
    assert list(first.rows) == asyncio.run(store.memory.search_heuristics(lab, limit=10))
    # A total already known is not counted again; a page past the end shows the last one.
    last = asyncio.run(memory.heuristics(lab, "newest", 7, 10, total=25))
    assert (last.page, len(last.rows)) == (2, 5)
    assert pages_for(0, 10) == 1 and pages_for(25, 10) == 3

    found = asyncio.run(memory.experiences(ExperienceQuery("lab", "task"), "newest", 0, 2))
    assert (found.total, [e.task for e in found.rows]) == (3, ["task 2", "task 1"])


def test_a_heuristic_is_edited_and_an_edit_that_cannot_be_kept_says_why(
    memory: MemoryService, store: Store
) -> None:
    first, second = fill(store, "lab", 2, 0)
    assert first.id is not None and second.id is not None

    edited = asyncio.run(
        memory.edit_heuristic(
            first.id, tier=Tier.STRATEGIC, pattern="any invoice", strategy="read it", pinned=True
        )
    )
    assert (edited.id, edited.tier, edited.strategy, edited.pinned) == (
        first.id,
        Tier.STRATEGIC,
        "read it",
        True,
    )
    assert edited.q_value == first.q_value

    with pytest.raises(UserError, match="already has"):
        asyncio.run(
            memory.edit_heuristic(
                second.id,
                tier=Tier.STRATEGIC,
                pattern="any invoice",
                strategy="read it",
                pinned=False,
            )
        )
    asyncio.run(memory.delete_heuristics([second.id]))
    with pytest.raises(UserError) as gone:
        asyncio.run(
            memory.edit_heuristic(
                second.id, tier=Tier.TOOL, pattern="p", strategy="s", pinned=False
            )
        )
    assert str(gone.value) == NO_LONGER_STORED


def test_a_heuristic_written_by_hand_is_stored_once_then_pinned_and_deleted(
    memory: MemoryService, store: Store
) -> None:
    def inject(pattern: str) -> Injection:
        return asyncio.run(
            memory.inject_heuristic(
                "lab", tier=Tier.TOOL, pattern=pattern, strategy="check total 0", pinned=False
            )
        )

    injected = inject("a ledger")
    stored = injected.heuristic
    assert injected.as_written and (stored.source, stored.q_value) == ("human", 0.5)
    assert inject("a ledger").heuristic.id == stored.id  # stored once
    # The team learned this one from its runs already: it is kept as it was.
    [learned] = fill(store, "lab", 1, 0)
    again = inject(learned.pattern)
    assert not again.as_written and again.heuristic == learned
    assert stored.id is not None

    asyncio.run(memory.set_pinned([stored.id], True))
    [pinned] = asyncio.run(store.memory.heuristics_by_ids([stored.id]))
    assert pinned.pinned
    assert asyncio.run(memory.delete_heuristics([stored.id, 999])) == 1
    assert asyncio.run(store.memory.heuristics_by_ids([stored.id])) == []


def test_experiences_are_deleted(memory: MemoryService, store: Store) -> None:
    fill(store, "lab", 0, 3)
    page = asyncio.run(memory.experiences(ExperienceQuery("lab"), "q_value", 0, 10))
    ids = [e.id for e in page.rows[:2] if e.id is not None]
    assert asyncio.run(memory.delete_experiences(ids)) == 2
    assert asyncio.run(memory.experiences(ExperienceQuery("lab"), "q_value", 0, 10)).total == 1


def test_an_experience_shows_its_run_and_a_step_what_it_was_given(
    memory: MemoryService, store: Store, tmp_path: Path
) -> None:
    kept, doomed = (
        asyncio.run(
            store.memory.add_heuristic(
                Heuristic(team="T", tier=Tier.TOOL, pattern="what is 17 * 23", strategy=strategy)
            )
        )
        for strategy in ("multiply", "use the calculator")
    )
    run_id = record_run(store, tmp_path).run_id

    assert [run.id for run in asyncio.run(memory.recent_runs(5))] == [run_id]
    steps = asyncio.run(memory.retrievals(run_id))
    assert steps and {h.id for h in steps[0].heuristics} == {kept.id, doomed.id}
    assert doomed.id is not None and kept.id is not None
    asyncio.run(memory.delete_heuristics([doomed.id]))
    found = asyncio.run(memory.step_memories([kept.id, doomed.id], [12345]))
    assert list(found.heuristics) == [kept.id] and found.experiences == {}

    learned = Experience(
        team="T",
        task="What is 17 * 23?",
        summary="",
        outcome="completed",
        final_phi=7,
        steps=2,
        run_id=run_id,
    )
    detail = asyncio.run(memory.source_run(learned))
    assert detail is not None and [s.action.tool for s in detail.steps] == ["calculator", "finish"]
    imported = replace(learned, run_id="0123abcd")
    assert asyncio.run(memory.source_run(imported)) is None


def test_a_database_that_cannot_be_opened_is_said_in_words(tmp_path: Path) -> None:
    def refuse() -> Store:
        raise StoreError("The database x.sqlite3 is in use by another program.")

    memory = MemoryService(StoreService(refuse))
    with pytest.raises(UserError, match="in use by another program"):
        asyncio.run(memory.teams())
