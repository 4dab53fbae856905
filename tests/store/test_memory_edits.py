"""What a memory browser changes and looks up in the store: edits, deletions of many memories at
once, memories by id, the teams that have memory, and what each step of a recorded run was
given. On real SQLite files; ``test_postgres.py`` runs the memory tests on PostgreSQL too."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.learning.memory import Tier
from purpose_desktop.engine.learning.memory_queries import ExperienceQuery, HeuristicQuery
from purpose_desktop.engine.loop.run import TeamRunner
from purpose_desktop.errors import UserError
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.store.database import reading
from purpose_desktop.store.memory_store import DatabaseMemoryStore, DuplicateHeuristicError
from purpose_desktop.store.opening import open_store
from purpose_desktop.store.run_journal import SqlRunJournal
from sqlalchemy import Engine, text
from tests.support.memories import experience, heuristic
from tests.support.scripted_team import act, one_agent_team, team_model


def test_a_person_edits_what_a_heuristic_says_and_keeps_what_it_learned(
    store: DatabaseMemoryStore,
) -> None:
    async def scenario() -> None:
        added = await store.add_heuristic(
            heuristic(
                "parsing invoices",
                "read the total first",
                q_value=0.8,
                uses=5,
                successes=4,
                run_ids=("run-a", "run-b"),
            )
        )
        assert added.id is not None
        edited = await store.edit_heuristic(
            added.id,
            tier=Tier.STRATEGIC,
            pattern="reconciling ledgers",
            strategy="match the totals line by line",
            pinned=True,
        )
        assert edited == replace(
            added,
            tier=Tier.STRATEGIC,
            pattern="reconciling ledgers",
            strategy="match the totals line by line",
            pinned=True,
        )
        assert await store.heuristics_by_ids([added.id]) == [edited]
        # The full-text index follows the new words, and forgets the old ones.
        assert await store.search_heuristics(HeuristicQuery("lab", "ledger")) == [edited]
        assert await store.count_heuristics(HeuristicQuery("lab", "invoices")) == 0
        assert (
            await store.edit_heuristic(
                added.id + 1, tier=Tier.TOOL, pattern="p", strategy="s", pinned=False
            )
            is None
        )

    asyncio.run(scenario())


def test_an_edit_that_would_double_a_heuristic_is_refused_and_changes_nothing(
    store: DatabaseMemoryStore,
) -> None:
    async def scenario() -> None:
        first = await store.add_heuristic(heuristic("long tables", "page through them"))
        second = await store.add_heuristic(heuristic("wide tables", "hide columns"))
        assert first.id is not None and second.id is not None
        with pytest.raises(DuplicateHeuristicError, match="already has a procedural") as error:
            await store.edit_heuristic(
                second.id,
                tier=Tier.PROCEDURAL,
                pattern="long tables",
                strategy="page through them",
                pinned=True,
            )
        assert isinstance(error.value, UserError)  # shown to the person as it is
        assert await store.heuristics_by_ids([first.id, second.id]) == [first, second]
        # The same text in another tier is another heuristic.
        moved = await store.edit_heuristic(
            second.id,
            tier=Tier.TOOL,
            pattern="long tables",
            strategy="page through them",
            pinned=False,
        )
        assert moved is not None and moved.tier == Tier.TOOL

    asyncio.run(scenario())


def test_many_memories_are_deleted_at_once(store: DatabaseMemoryStore, engine: Engine) -> None:
    async def scenario() -> None:
        kept = await store.add_heuristic(heuristic("keep me", run_ids=("run-k",)))
        doomed = [
            await store.add_heuristic(heuristic(f"rule {i}", run_ids=(f"run-{i}",)))
            for i in range(30)
        ]
        ids = [h.id or 0 for h in doomed]
        # Twice the same id, and one that is not stored: counted once, and not at all.
        assert await store.delete_heuristics([*ids, ids[0], 999_999]) == 30
        assert await store.list_heuristics("lab") == [kept]
        assert await store.delete_heuristics(ids) == 0
        assert await store.delete_heuristics([]) == 0

        await store.add_experiences(experience(f"task {i}") for i in range(2500))
        stored = await store.search_experiences("lab", order="newest", limit=5000)
        # More ids than one statement binds: deleted a slice at a time, in one transaction.
        assert await store.delete_experiences([e.id or 0 for e in stored[:2400]]) == 2400
        assert await store.search_experiences("lab", order="newest", limit=5000) == stored[2400:]

    asyncio.run(scenario())
    with reading(engine) as connection:
        runs = connection.execute(text("SELECT run_id FROM heuristic_runs")).scalars().all()
    assert runs == ["run-k"]  # the deleted heuristics' runs went with them


def test_memories_by_id_come_in_the_order_asked_without_those_deleted(
    store: DatabaseMemoryStore,
) -> None:
    async def scenario() -> None:
        a, b, c = [
            await store.add_heuristic(heuristic(f"rule {n}", run_ids=(f"run-{n}",))) for n in "abc"
        ]
        assert await store.delete_heuristic(b.id or 0)
        assert await store.heuristics_by_ids([c.id or 0, b.id or 0, a.id or 0, c.id or 0]) == [c, a]
        first = await store.add_experience(experience("first task"))
        second = await store.add_experience(experience("second task", outcome="failed"))
        assert await store.experiences_by_ids([second.id or 0, 12345, first.id or 0]) == [
            second,
            first,
        ]
        assert await store.heuristics_by_ids([]) == []

    asyncio.run(scenario())


def test_the_teams_that_have_memory(store: DatabaseMemoryStore) -> None:
    async def scenario() -> None:
        assert await store.memory_teams() == []
        await store.add_heuristic(heuristic("rule", team="ops"))
        await store.add_heuristic(heuristic("rule", team="lab"))
        await store.add_experience(experience("task", team="zoo"))
        await store.add_experience(experience("task", team="lab"))
        assert await store.memory_teams() == ["lab", "ops", "zoo"]

    asyncio.run(scenario())


def test_queries_are_values() -> None:
    query = HeuristicQuery("lab", "tables", tiers=["tool", Tier.STRATEGIC])  # type: ignore[list-item]
    assert query.tiers == (Tier.TOOL, Tier.STRATEGIC)
    assert query == HeuristicQuery("lab", "tables", tiers=(Tier.TOOL, Tier.STRATEGIC))
    assert len({query, HeuristicQuery("lab", "tables", tiers=[Tier.TOOL, Tier.STRATEGIC])}) == 1
    assert ExperienceQuery("lab", outcome="failed") != ExperienceQuery("lab")


def test_what_memory_each_step_of_a_run_was_given(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.sqlite3")
    journal = SqlRunJournal(lambda: store.engine)
    model = team_model([act("calculator", expression="17*23"), act("finish", answer="391")])
    runner = TeamRunner(
        ScriptedProvider({"m": model}),
        store.memory,
        workspaces_dir=tmp_path / "workspaces",
        journal=journal,
    )
    seen: list[ev.Event] = []

    async def scenario() -> None:
        # Learned on a task like this one: lessons of unrelated tasks are not shown.
        rule = await store.memory.add_heuristic(
            heuristic("multiply 17 by 24", "use the calculator", team="T", tier=Tier.TOOL)
        )
        past = await store.memory.add_experience(experience("multiply 17 by 24", team="T"))
        outcome = await runner.run(one_agent_team(tmp_path), "multiply 17 by 23", [seen.append])
        assert outcome.status == "completed"
        await asyncio.to_thread(journal.close)
        given = await store.runs.memory_retrievals(outcome.run_id)
        assert given == [e for e in seen if isinstance(e, ev.MemoryRetrieved)]
        assert [(e.agent, e.step) for e in given] == [("solver", 1), ("solver", 2)]
        assert given[0].heuristics == (ev.RecalledHeuristic(rule.id, "tool", "use the calculator"),)
        assert given[0].experiences == (
            ev.RecalledExperience(past.id, "multiply 17 by 24", "completed"),
        )
        assert await store.runs.memory_retrievals("f" * 32) == []

    try:
        asyncio.run(scenario())
    finally:
        journal.close()
        store.engine.dispose()
