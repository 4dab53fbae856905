"""The memory store on real SQLite database files.

The fixtures are in ``conftest.py``. The tests that hold for any database run on PostgreSQL
too: ``test_postgres.py`` imports them by name and gives them a database on its server.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.engine.learning.memory import (
    Experience,
    Heuristic,
    MemoryStore,
    ScoreAnchor,
    Tier,
)
from purpose_desktop.engine.learning.memory_queries import ExperienceQuery, HeuristicQuery
from purpose_desktop.store import memory_store
from purpose_desktop.store.database import open_database, reading, writing
from purpose_desktop.store.full_text import create_full_text_index
from purpose_desktop.store.memory_store import DatabaseMemoryStore, fts_query, query_terms
from purpose_desktop.store.memory_tables import EXPERIENCES_FTS
from purpose_desktop.store.migrations import migrate
from sqlalchemy import Engine, create_engine, text
from tests.support.memories import INSERT_HEURISTIC, TOPICS, experience, heuristic


def anchor(task: str, state: str = "half done", **kw: object) -> ScoreAnchor:
    fields: dict[str, object] = {
        "team": "lab",
        "critic_score": 0.2,
        "human_score": 0.7,
        "reason": "the table is right",
        "run_id": "run-1",
        **kw,
    }
    return ScoreAnchor(task=task, state=state, **fields)  # type: ignore[arg-type]


def test_the_store_satisfies_the_protocol(store: DatabaseMemoryStore) -> None:
    protocol_store: MemoryStore = store
    assert protocol_store is store


# --- round trips --------------------------------------------------------------


def test_a_heuristic_comes_back_as_it_was_stored(store: DatabaseMemoryStore) -> None:
    original = heuristic(
        "reading a CSV file with a header",
        "use csv.DictReader and check the delimiter",
        tier=Tier.TOOL,
        q_value=0.7,
        uses=3,
        successes=2,
        source="human",
        run_ids=("run-a", "run-b", "run-a"),
        pinned=True,
    )
    stored = asyncio.run(store.add_heuristic(original))
    assert stored.id is not None
    assert stored.run_ids == ("run-a", "run-b")
    assert stored == Heuristic(**{**vars(original), "run_ids": ("run-a", "run-b"), "id": stored.id})

    found = asyncio.run(store.find_heuristics("lab", "How do I read this csv?"))
    assert found == [stored]
    assert isinstance(found[0].tier, Tier)
    assert found[0].success_rate == pytest.approx(2 / 3)


def test_an_experience_and_an_anchor_come_back_as_they_were_stored(
    store: DatabaseMemoryStore,
) -> None:
    async def scenario() -> None:
        added = await store.add_experience(
            experience(
                "Summarise the quarterly report",
                "read it, wrote five bullets",
                outcome="failed",
                final_phi=0.25,
                steps=9,
                run_id="run-9",
                q_value=0.3,
            )
        )
        assert added.id is not None
        assert await store.find_experiences("lab", "quarterly report summary") == [added]

        pinned = await store.add_anchor(
            anchor("Translate the contract", "two clauses left", critic_score=0.1, human_score=0.9)
        )
        assert pinned.id is not None
        assert await store.find_anchors("lab", "contract translation") == [pinned]

    asyncio.run(scenario())


def test_results_are_plain_frozen_data(store: DatabaseMemoryStore) -> None:
    asyncio.run(store.add_heuristic(heuristic("plan the budget")))
    [found] = asyncio.run(store.find_heuristics("lab", "budget"))
    with pytest.raises(AttributeError):
        found.q_value = 1.0  # type: ignore[misc]


# --- heuristics -----------------------------------------------------------------


def test_the_same_heuristic_is_stored_once(store: DatabaseMemoryStore) -> None:
    async def scenario() -> None:
        first = await store.add_heuristic(heuristic("long tables", "page through them"))
        await store.update_heuristics(
            [first.id or 0], reward=1.0, success=True, alpha=0.5, run_id="r1"
        )
        again = await store.add_heuristic(heuristic("long tables", "page through them"))
        assert again.id == first.id
        assert again.uses == 1  # as stored, not as given
        other_tier = await store.add_heuristic(
            heuristic("long tables", "page through them", tier=Tier.TOOL)
        )
        other_team = await store.add_heuristic(
            heuristic("long tables", "page through them", team="ops")
        )
        assert len({first.id, other_tier.id, other_team.id}) == 3
        assert len(await store.list_heuristics("lab")) == 2

    asyncio.run(scenario())


def test_q_value_decides_among_similar_candidates_and_unrelated_ones_stay_out(
    store: DatabaseMemoryStore,
) -> None:
    async def scenario() -> None:
        very_similar = await store.add_heuristic(
            heuristic(
                "parsing invoices from a PDF export",
                "parse the invoice PDF page by page",
                q_value=0.25,
            )
        )
        less_similar = await store.add_heuristic(
            heuristic("anything with a PDF", "convert it to text first", q_value=0.75)
        )
        await store.add_heuristic(heuristic("writing a poem", "rhyme sparingly", q_value=1.0))

        query = "Parse the invoices in this PDF export"
        assert await store.find_heuristics("lab", query) == [less_similar, very_similar]
        # Among equal Q-values the more similar comes first.
        await store.update_heuristics(
            [less_similar.id or 0], reward=0.25, success=False, alpha=1.0, run_id="r"
        )
        found = await store.find_heuristics("lab", query)
        assert [h.id for h in found] == [very_similar.id, less_similar.id]
        # Pinned first, whatever its Q-value.
        assert await store.set_pinned(less_similar.id or 0, True)
        found = await store.find_heuristics("lab", query)
        assert [h.id for h in found] == [less_similar.id, very_similar.id]
        assert found[0].pinned
        assert await store.find_heuristics("lab", query, limit=1) == found[:1]

    asyncio.run(scenario())


def test_q_value_orders_only_the_most_similar_candidates(store: DatabaseMemoryStore) -> None:
    async def scenario() -> None:
        close = [
            await store.add_heuristic(
                heuristic(
                    f"kubernetes pods report {i}",
                    "kubectl describe the kubernetes pods",
                    q_value=0.3,
                )
            )
            for i in range(30)
        ]
        distant = await store.add_heuristic(
            heuristic(
                "report",
                "a long and mostly unrelated procedure about archiving, "
                "indexing, labelling, filing and shelving paper",
                q_value=0.99,
            )
        )
        query = "kubernetes pods report"
        # limit 1: 20 candidates, all close ones; the distant one is not among them.
        [found] = await store.find_heuristics("lab", query, limit=1)
        assert found.id in {h.id for h in close}
        # limit 10: 40 candidates take in the distant one too, and its Q-value wins.
        found_ten = await store.find_heuristics("lab", query, limit=10)
        assert found_ten[0] == distant
        assert memory_store.candidate_count(1) == 20
        assert memory_store.candidate_count(10) == 40

    asyncio.run(scenario())


def test_tiers_filter_heuristics(store: DatabaseMemoryStore) -> None:
    async def scenario() -> None:
        tool = await store.add_heuristic(heuristic("search the web", tier=Tier.TOOL))
        plan = await store.add_heuristic(heuristic("search the web", tier=Tier.STRATEGIC))
        assert await store.find_heuristics("lab", "web search", tiers=[Tier.TOOL]) == [tool]
        both = await store.find_heuristics("lab", "web search", tiers=[Tier.TOOL, Tier.STRATEGIC])
        assert {h.id for h in both} == {tool.id, plan.id}
        assert await store.find_heuristics("lab", "", tiers=[Tier.STRATEGIC]) == [plan]

    asyncio.run(scenario())


def test_a_query_without_words_returns_the_best_by_q_value(store: DatabaseMemoryStore) -> None:
    async def scenario() -> None:
        low = await store.add_heuristic(heuristic("one", q_value=0.1))
        high = await store.add_heuristic(heuristic("two", q_value=0.8))
        pinned = await store.add_heuristic(heuristic("three", q_value=0.0, pinned=True))
        for query in ("", "   ", "?!", "the of and"):
            assert await store.find_heuristics("lab", query) == [pinned, high, low]
        assert await store.find_heuristics("lab", "", limit=2) == [pinned, high]
        assert await store.find_heuristics("lab", "", limit=0) == []

        worse = await store.add_experience(experience("a", q_value=0.2))
        better = await store.add_experience(experience("b", q_value=0.6))
        assert await store.find_experiences("lab", "") == [better, worse]
        first = await store.add_anchor(anchor("x"))
        second = await store.add_anchor(anchor("y"))
        assert await store.find_anchors("lab", "") == [second, first]

    asyncio.run(scenario())


def test_q_values_move_towards_the_reward(store: DatabaseMemoryStore) -> None:
    async def scenario() -> None:
        a = await store.add_heuristic(heuristic("a", q_value=0.5, run_ids=("r0",)))
        b = await store.add_heuristic(heuristic("b", q_value=0.2))
        ids = [a.id or 0, b.id or 0]
        await store.update_heuristics(ids, reward=1.0, success=True, alpha=0.1, run_id="r1")
        await store.update_heuristics(
            [*ids, a.id or 0, 12345], reward=0.0, success=False, alpha=0.5, run_id="r2"
        )
        await store.update_heuristics(
            [a.id or 0], reward=0.6, success=True, alpha=0.25, run_id="r1"
        )
        await store.update_heuristics([], reward=0.6, success=True, alpha=0.25, run_id="r3")
        by_id = {h.id: h for h in await store.list_heuristics("lab")}
        q_a = 0.5 + 0.1 * (1.0 - 0.5)
        q_a = q_a + 0.5 * (0.0 - q_a)
        q_a = q_a + 0.25 * (0.6 - q_a)
        assert by_id[a.id].q_value == pytest.approx(q_a)
        assert (by_id[a.id].uses, by_id[a.id].successes) == (3, 2)
        assert by_id[a.id].run_ids == ("r0", "r1", "r2")
        q_b = 0.2 + 0.1 * (1.0 - 0.2)
        q_b = q_b + 0.5 * (0.0 - q_b)
        assert by_id[b.id].q_value == pytest.approx(q_b)
        assert (by_id[b.id].uses, by_id[b.id].successes) == (2, 1)
        assert by_id[b.id].run_ids == ("r1", "r2")

        with pytest.raises(ValueError, match="alpha"):
            await store.update_heuristics(ids, reward=0.5, success=True, alpha=1.5, run_id="x")
        with pytest.raises(ValueError, match="reward"):
            await store.update_heuristics(ids, reward=-0.1, success=True, alpha=0.5, run_id="x")

    asyncio.run(scenario())


def test_listing_pinning_and_deleting_heuristics(store: DatabaseMemoryStore) -> None:
    async def scenario() -> None:
        added = [
            await store.add_heuristic(heuristic(f"pattern {i} about gardening", q_value=i / 10))
            for i in range(7)
        ]
        await store.update_heuristics(
            [added[0].id or 0], reward=0.0, success=False, alpha=0.5, run_id="r"
        )
        page = await store.list_heuristics("lab", offset=0, limit=3)
        assert [h.pattern for h in page] == [
            "pattern 6 about gardening",
            "pattern 5 about gardening",
            "pattern 4 about gardening",
        ]
        rest = await store.list_heuristics("lab", offset=3, limit=10)
        assert len(rest) == 4
        assert await store.list_heuristics("elsewhere") == []

        assert await store.set_pinned(added[0].id or 0, True)
        assert (await store.list_heuristics("lab", limit=1))[0].id == added[0].id
        assert not await store.set_pinned(999_999, True)

        assert await store.delete_heuristic(added[0].id or 0)
        assert not await store.delete_heuristic(added[0].id or 0)
        found = await store.find_heuristics("lab", "gardening", limit=10)
        assert added[0].id not in {h.id for h in found}
        assert len(found) == 6

    asyncio.run(scenario())
    with reading(store._engine) as connection:
        # The runs that used the deleted heuristic went with it.
        assert connection.execute(text("SELECT count(*) FROM heuristic_runs")).scalar_one() == 0


# --- experiences and anchors --------------------------------------------------------


def test_experiences_by_similarity_then_q_value(store: DatabaseMemoryStore) -> None:
    async def scenario() -> None:
        close = await store.add_experience(experience("Fix the flaky login test", q_value=0.3))
        vague = await store.add_experience(experience("Fix a typo", "in the test", q_value=0.9))
        await store.add_experience(experience("Bake bread", "sourdough", q_value=1.0))
        found = await store.find_experiences("lab", "flaky login test keeps failing", limit=5)
        assert found == [vague, close]

    asyncio.run(scenario())


def test_experience_q_values_move_towards_the_reward(store: DatabaseMemoryStore) -> None:
    async def scenario() -> None:
        a = await store.add_experience(experience("Sum the invoices", q_value=0.5))
        b = await store.add_experience(experience("Sum the receipts", q_value=0.2))
        ids = [a.id or 0, b.id or 0]
        await store.update_experiences([*ids, a.id or 0, 999], reward=1.0, alpha=0.5)
        await store.update_experiences([a.id or 0], reward=0.0, alpha=0.25)
        await store.update_experiences([], reward=0.0, alpha=0.25)
        by_id = {e.id: e for e in await store.search_experiences("lab", limit=10)}
        assert by_id[a.id].q_value == pytest.approx(0.75 - 0.25 * 0.75)
        assert by_id[b.id].q_value == pytest.approx(0.6)
        with pytest.raises(ValueError, match="alpha"):
            await store.update_experiences(ids, reward=0.5, alpha=2.0)
        with pytest.raises(ValueError, match="reward"):
            await store.update_experiences(ids, reward=1.5, alpha=0.5)

    asyncio.run(scenario())


def test_experiences_in_bulk_and_counted(store: DatabaseMemoryStore) -> None:
    async def scenario() -> None:
        many = [experience(f"task {i} about spreadsheets", run_id=f"r{i}") for i in range(250)]
        assert await store.add_experiences(many) == 250
        assert await store.add_experiences([]) == 0
        await store.add_experience(experience("one more", team="ops"))
        assert await store.count_experiences("lab") == 250
        assert await store.count_experiences("ops") == 1
        assert await store.count_experiences("nobody") == 0
        found = await store.find_experiences("lab", "spreadsheets", limit=3)
        assert len(found) == 3

    asyncio.run(scenario())


def test_anchors_most_similar_first(store: DatabaseMemoryStore) -> None:
    async def scenario() -> None:
        near = await store.add_anchor(
            anchor(
                "Translate the contract",
                "clause four of the contract translated, contract terms checked",
            )
        )
        far = await store.add_anchor(anchor("Review a contract", "nothing yet"))
        await store.add_anchor(anchor("Draw a chart", "axes labelled"))
        assert await store.find_anchors("lab", "contract translated") == [near, far]
        assert await store.find_anchors("lab", "contract translated", limit=1) == [near]

    asyncio.run(scenario())


def test_teams_do_not_see_each_others_memory(store: DatabaseMemoryStore) -> None:
    async def scenario() -> None:
        mine = await store.add_heuristic(heuristic("deploy on fridays", team="lab"))
        theirs = await store.add_heuristic(heuristic("deploy on fridays", team="ops"))
        assert mine.id != theirs.id
        assert await store.find_heuristics("lab", "deploy fridays") == [mine]
        assert await store.find_heuristics("ops", "deploy fridays") == [theirs]
        assert await store.find_heuristics("nobody", "deploy fridays") == []
        assert await store.find_heuristics("nobody", "") == []

        await store.add_experience(experience("deploy the site", team="ops"))
        assert await store.find_experiences("lab", "deploy site") == []
        assert await store.find_experiences("lab", "") == []
        await store.add_anchor(anchor("deploy the site", team="ops"))
        assert await store.find_anchors("lab", "deploy site") == []
        assert await store.find_anchors("lab", "") == []

    asyncio.run(scenario())


# --- queries ------------------------------------------------------------------------

NASTY_QUERIES = [
    '"a" OR NOT (b* AND c)',
    "-",
    ":",
    "pattern: strategy:",
    "-csv -file",
    "NEAR(reading csv, 2)",
    "reading AND OR NOT",
    '"unbalanced',
    "^start *",
    "col:{pattern} + csv",
    "x_y-z.w/v\\u",
    "'; DROP TABLE heuristics; --",
    "naïve café 日本語 🙂",
    "\x00\t\n",
    "a" * 5000,
    " ".join(f"word{i}" for i in range(500)),
]


@pytest.mark.parametrize("query", NASTY_QUERIES)
def test_queries_with_punctuation_and_operators_never_raise(
    store: DatabaseMemoryStore, query: str
) -> None:
    async def scenario() -> None:
        await store.add_heuristic(heuristic("reading csv files", "strategy: use csv module"))
        await store.add_experience(experience("reading csv files"))
        await store.add_anchor(anchor("reading csv files"))
        await store.find_heuristics("lab", query)
        await store.find_heuristics("lab", query, tiers=[Tier.TOOL])
        await store.find_experiences("lab", query)
        await store.find_anchors("lab", query)

    asyncio.run(scenario())
    with reading(store._engine) as connection:
        match = fts_query(query)
        if match:
            connection.execute(
                text("SELECT count(*) FROM heuristics_fts WHERE heuristics_fts MATCH :m"),
                {"m": match},
            ).scalar_one()


def test_operators_in_a_query_are_searched_as_words(store: DatabaseMemoryStore) -> None:
    async def scenario() -> None:
        found = await store.add_heuristic(heuristic("when NEAR the limit", "say NOT yet"))
        assert await store.find_heuristics("lab", "NEAR: limit*") == [found]
        assert await store.find_heuristics("lab", '"limit" -yet') == [found]

    asyncio.run(scenario())


def test_query_terms() -> None:
    assert query_terms('"a" OR NOT (b* AND c)') == []
    # Casefolded, each word once, "_" splits words as FTS5 does, stop words dropped.
    assert query_terms("Parse the CSV: csv-files, parse_rows!") == ["parse", "csv", "files", "rows"]
    assert fts_query("Reading CSV files") == '"reading" OR "csv" OR "files"'
    assert fts_query("") == ""
    assert len(query_terms(" ".join(f"w{i}" for i in range(100)))) == memory_store.MAX_QUERY_TERMS


def test_words_are_stemmed(store: DatabaseMemoryStore) -> None:
    async def scenario() -> None:
        found = await store.add_experience(experience("Testing the parsers"))
        assert await store.find_experiences("lab", "parser tests") == [found]

    asyncio.run(scenario())


def test_common_words_do_not_crowd_out_rare_ones(
    store: DatabaseMemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_store, "COMMON_DOCUMENTS", 20)
    monkeypatch.setattr(memory_store, "BM25_BUDGET", 30)

    async def scenario() -> None:
        await store.add_experiences(
            experience(f"weekly report {i}", "report sent", q_value=0.5) for i in range(40)
        )
        rare = await store.add_experience(
            experience("report on the zeppelin", "zeppelin report", q_value=0.5)
        )
        # "report" is common: the candidates come from "zeppelin", ranked by BM25, then the
        # newest of the common-word rows fill the room left.
        found = await store.find_experiences("lab", "zeppelin report", limit=3)
        assert found[0] == rare
        assert [e.task for e in found[1:]] == ["weekly report 39", "weekly report 38"]
        assert await store.find_experiences("lab", "zeppelin", limit=3) == [rare]
        # Only common words: the newest matching rows are the candidates.
        newest = await store.find_experiences("lab", "weekly reports", limit=2)
        assert [e.task for e in newest] == ["report on the zeppelin", "weekly report 39"]
        assert await store.find_experiences("lab", "unheard of", limit=3) == []

    asyncio.run(scenario())


# --- the database ---------------------------------------------------------------


def test_connections_use_wal_busy_timeout_and_foreign_keys(engine: Engine, database: Path) -> None:
    with reading(engine) as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    assert database.with_name(database.name + "-wal").exists()


def test_migrating_is_idempotent_and_a_new_full_text_index_is_filled(
    engine: Engine, store: DatabaseMemoryStore
) -> None:
    added = asyncio.run(store.add_experience(experience("catalogue the herbarium")))
    assert migrate(engine) == []
    with writing(engine) as connection:
        connection.exec_driver_sql("DROP TABLE experiences_fts")
        create_full_text_index(connection, EXPERIENCES_FTS)
    assert asyncio.run(store.find_experiences("lab", "herbarium")) == [added]
    # The index follows edits of the text, not only inserts and deletes.
    with writing(engine) as connection:
        connection.execute(
            text("UPDATE experiences SET task = 'sort the seed bank' WHERE id = :id"),
            {"id": added.id},
        )
    assert asyncio.run(store.find_experiences("lab", "herbarium")) == []
    assert [e.id for e in asyncio.run(store.find_experiences("lab", "seed bank"))] == [added.id]


def test_urls_and_paths_open_the_same_database(tmp_path: Path) -> None:
    odd = tmp_path / "sub folder" / "mem?#%.sqlite3"
    by_path = open_database(odd)
    migrate(by_path)
    asyncio.run(DatabaseMemoryStore(by_path).add_experience(experience("hello world")))
    by_url = open_database(f"sqlite:///{tmp_path / 'plain.sqlite3'}")
    migrate(by_url)
    by_str = open_database(str(odd))
    try:
        assert asyncio.run(DatabaseMemoryStore(by_str).count_experiences("lab")) == 1
        assert asyncio.run(DatabaseMemoryStore(by_url).count_experiences("lab")) == 0
    finally:
        for engine in (by_path, by_url, by_str):
            engine.dispose()


def test_what_is_refused(tmp_path: Path) -> None:
    for target in ("sqlite://", "sqlite:///:memory:", "sqlite:///file:m?mode=memory&uri=true"):
        with pytest.raises(ValueError, match="in-memory"):
            open_database(target)
    with pytest.raises(ValueError, match="only SQLite and PostgreSQL"):
        open_database("mysql://localhost/db")
    plain = create_engine(f"sqlite:///{tmp_path / 'plain.sqlite3'}")
    try:
        with pytest.raises(ValueError, match="open_database"):
            DatabaseMemoryStore(plain)
    finally:
        plain.dispose()
    engine = open_database(tmp_path / "m.sqlite3")
    try:
        store = DatabaseMemoryStore(engine)
        migrate(engine)
        with pytest.raises(ValueError, match="outcome"):
            asyncio.run(store.add_experience(experience("x", outcome="exploded")))
    finally:
        engine.dispose()


# --- sharing ----------------------------------------------------------------------


def test_two_stores_on_one_database_see_each_others_writes(
    store: DatabaseMemoryStore, other_engine: Engine
) -> None:
    other = DatabaseMemoryStore(other_engine)

    async def scenario() -> None:
        added = await store.add_heuristic(heuristic("share what you learn"))
        [seen] = await other.find_heuristics("lab", "learn")
        assert seen == added
        await other.update_heuristics(
            [seen.id or 0], reward=1.0, success=True, alpha=1.0, run_id="r"
        )
        [updated] = await store.find_heuristics("lab", "learn")
        assert (updated.q_value, updated.uses, updated.run_ids) == (1.0, 1, ("r",))
        await other.add_experience(experience("from the other side"))
        assert await store.count_experiences("lab") == 1

    asyncio.run(scenario())


def test_concurrent_writers_in_many_threads_do_not_lock_each_other_out(
    store: DatabaseMemoryStore, other_engine: Engine
) -> None:
    stores = [store, DatabaseMemoryStore(other_engine)]
    shared = [
        asyncio.run(store.add_heuristic(heuristic(f"shared by every thread {i}", q_value=0.0)))
        for i in range(2)
    ]
    shared_ids = [h.id or 0 for h in shared]
    threads_count, rounds = 8, 25
    added_by_all: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads_count)

    def work(worker: int) -> None:
        mine = stores[worker % 2]
        # Half the threads name the shared heuristics the other way round: on PostgreSQL,
        # locking rows in the order given would deadlock.
        ids = shared_ids if worker % 2 else shared_ids[::-1]

        async def writes() -> None:
            added = await mine.add_heuristic(heuristic("added by every thread at once"))
            added_by_all.append(added.id or 0)
            for i in range(rounds):
                await mine.add_experience(experience(f"worker {worker} task {i}"))
                await mine.add_heuristic(heuristic(f"worker {worker} pattern {i}"))
                await mine.update_heuristics(
                    ids, reward=1.0, success=True, alpha=0.01, run_id=f"w{worker}-{i}"
                )
                await mine.find_experiences("lab", f"worker {worker} task")

        try:
            start.wait()
            asyncio.run(writes())
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(set(added_by_all)) == 1  # stored once
    total = threads_count * rounds
    assert asyncio.run(store.count_experiences("lab")) == total
    listed = asyncio.run(store.list_heuristics("lab", limit=10_000))
    assert len(listed) == total + 3
    for updated in (h for h in listed if h.id in shared_ids):
        # Every read-modify-write of the shared heuristics landed: none was lost to a race.
        assert updated.uses == updated.successes == total
        assert len(updated.run_ids) == total
        assert updated.q_value == pytest.approx(1 - 0.99**total)


# --- the memory browser -------------------------------------------------------------

BROWSED = 3000


def fill_for_browsing(engine: Engine) -> tuple[list[Heuristic], list[Experience]]:
    """:data:`BROWSED` heuristics and as many experiences of the team "lab" (and a few of
    "ops"), written straight into the tables in one go; returned with their ids, as the store
    should give them back. Q-values repeat, so the orders must break ties."""
    tiers = list(Tier)
    heuristics = [
        Heuristic(
            team="lab" if i % 100 else "ops",
            tier=tiers[i % 3],
            pattern=f"{TOPICS[i % 4]} case {i}",
            strategy=f"step {i}",
            q_value=(i * 37 % 101) / 100,
            uses=i % 7,
            successes=i % 3,
            source="human" if i % 5 == 0 else "distilled",
            pinned=i % 250 == 1,
            run_ids=(f"run-{i}",) if i % 40 == 3 else (),
        )
        for i in range(BROWSED)
    ]
    experiences = [
        experience(
            f"{TOPICS[i % 4]} task {i}",
            f"summary {i}",
            team="lab" if i % 100 else "ops",
            outcome=("completed", "failed", "cancelled")[i % 3],
            q_value=(i * 53 % 97) / 96,
        )
        for i in range(BROWSED)
    ]
    with writing(engine) as connection:
        connection.execute(
            INSERT_HEURISTIC,
            [
                {**vars(h), "tier": h.tier.value, "created_at": float(i)}
                for i, h in enumerate(heuristics)
            ],
        )
        ids = connection.execute(text("SELECT id FROM heuristics ORDER BY id")).scalars().all()
        heuristics = [replace(h, id=i) for h, i in zip(heuristics, ids, strict=True)]
        connection.execute(
            text("INSERT INTO heuristic_runs (heuristic_id, run_id) VALUES (:id, :run)"),
            [{"id": h.id, "run": run} for h in heuristics for run in h.run_ids],
        )
    asyncio.run(DatabaseMemoryStore(engine).add_experiences(experiences))
    with reading(engine) as connection:
        ids = connection.execute(text("SELECT id FROM experiences ORDER BY id")).scalars().all()
    return heuristics, [replace(e, id=i) for e, i in zip(experiences, ids, strict=True)]


HEURISTIC_ORDERS: dict[str, Callable[[Heuristic], tuple[float, ...]]] = {
    "q_value": lambda h: (-h.q_value, h.id or 0),
    "uses": lambda h: (-h.uses, -h.q_value, h.id or 0),
    "newest": lambda h: (-(h.id or 0),),
}
HEURISTIC_FILTERS: list[tuple[dict[str, Any], Callable[[Heuristic], bool]]] = [
    ({}, lambda h: True),
    ({"text": "?! the"}, lambda h: True),  # no searchable words: no filter
    ({"text": "invoice"}, lambda h: "invoices" in h.pattern),  # stemmed
    (
        {"text": "deployed reporting"},  # any word
        lambda h: "deploying" in h.pattern or "reports" in h.pattern,
    ),
    ({"tiers": [Tier.TOOL, Tier.STRATEGIC]}, lambda h: h.tier != Tier.PROCEDURAL),
    (
        {"min_q": 0.25, "max_q": 0.5, "source": "human"},
        lambda h: 0.25 <= h.q_value <= 0.5 and h.source == "human",
    ),
    (
        {"text": "datasets", "tiers": [Tier.PROCEDURAL], "min_q": 0.5},
        lambda h: "datasets" in h.pattern and h.tier == Tier.PROCEDURAL and h.q_value >= 0.5,
    ),
    ({"text": "zeppelin"}, lambda h: False),
]
EXPERIENCE_ORDERS: dict[str, Callable[[Experience], tuple[float, ...]]] = {
    "q_value": lambda e: (-e.q_value, -(e.id or 0)),
    "newest": lambda e: (-(e.id or 0),),
}
EXPERIENCE_FILTERS: list[tuple[dict[str, Any], Callable[[Experience], bool]]] = [
    ({}, lambda e: True),
    ({"text": "invoice cleaned"}, lambda e: "invoices" in e.task or "cleaning" in e.task),
    ({"outcome": "failed"}, lambda e: e.outcome == "failed"),
    (
        {"text": "reports", "outcome": "cancelled", "min_q": 0.5},
        lambda e: "reports" in e.task and e.outcome == "cancelled" and e.q_value >= 0.5,
    ),
]
# (offset, limit) of the pages compared: the first, one further on, none, one past the end.
PAGES = ((0, 50), (700, 30), (0, 0), (BROWSED, 10))
# For each kind of memory: its query, count and search methods, filters and orders.
BROWSERS: dict[str, tuple[type, str, str, list[Any], dict[str, Any]]] = {
    "heuristics": (
        HeuristicQuery,
        "count_heuristics",
        "search_heuristics",
        HEURISTIC_FILTERS,
        HEURISTIC_ORDERS,
    ),
    "experiences": (
        ExperienceQuery,
        "count_experiences",
        "search_experiences",
        EXPERIENCE_FILTERS,
        EXPERIENCE_ORDERS,
    ),
}


@pytest.mark.parametrize("kind", list(BROWSERS))
def test_browsing_thousands_of_memories_page_by_page(
    engine: Engine, store: DatabaseMemoryStore, kind: str
) -> None:
    """Every filter and order pages through the memories as the same filter and order do in
    Python, and counts them alike."""
    heuristics, experiences = fill_for_browsing(engine)
    query_type, count_name, search_name, filters, orders = BROWSERS[kind]
    count, search = getattr(store, count_name), getattr(store, search_name)
    lab = [m for m in (heuristics if kind == "heuristics" else experiences) if m.team == "lab"]

    async def scenario() -> None:
        for given, wanted in filters:
            matching = [memory for memory in lab if wanted(memory)]
            query = query_type("lab", **given)
            assert await count(query) == len(matching), given
            for order, key in orders.items():
                expected = sorted(matching, key=key)
                for offset, limit in PAGES:
                    page = await search(query, order=order, offset=offset, limit=limit)
                    assert page == expected[offset : offset + limit], (given, order, offset)

    asyncio.run(scenario())


def test_the_browser_refuses_what_it_does_not_know(store: DatabaseMemoryStore) -> None:
    refused: list[tuple[Callable[..., Awaitable[object]], dict[str, Any], str]] = [
        (store.search_heuristics, {"order": "size"}, "unknown order"),
        (store.search_experiences, {"order": "uses"}, "unknown order"),
    ]
    for method, given, message in refused:
        with pytest.raises(ValueError, match=message):
            asyncio.run(method("lab", **given))
    with pytest.raises(ValueError, match="unknown heuristic source"):
        HeuristicQuery("lab", source="guessed")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a valid Tier"):
        HeuristicQuery("lab", tiers=["cosmic"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="unknown outcome"):
        ExperienceQuery("lab", outcome="exploded")  # type: ignore[arg-type]


def test_many_ids_are_bound_a_slice_at_a_time(
    store: DatabaseMemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_store, "IDS_PER_STATEMENT", 7)

    async def scenario() -> None:
        added = [
            await store.add_heuristic(heuristic(f"rule {i} for tables", run_ids=(f"r{i}",)))
            for i in range(30)
        ]
        found = await store.find_heuristics("lab", "tables", limit=30)
        assert sorted(found, key=lambda h: h.id or 0) == added
        assert await store.search_heuristics("lab", order="newest") == added[::-1]

    asyncio.run(scenario())
