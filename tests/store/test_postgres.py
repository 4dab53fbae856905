"""The whole store on a real PostgreSQL server (``tests/support/postgres.py`` starts one): the
schema, the team memory and its full-text search, runs recorded by the journal and read back,
and two engines sharing one database as two machines would."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.costs import Price, PriceTable
from purpose_desktop.engine.learning.memory import Experience, Tier
from purpose_desktop.engine.learning.memory_queries import ExperienceQuery, HeuristicQuery
from purpose_desktop.engine.loop.run import RunOutcome, TeamRunner
from purpose_desktop.engine.recording.run_records import CostGrouping, CostTotalRecord
from purpose_desktop.errors import UserError
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.store.database import open_database, reading
from purpose_desktop.store.full_text import FullTextIndex, text_search
from purpose_desktop.store.memory_store import DatabaseMemoryStore, tsquery
from purpose_desktop.store.memory_tables import FULL_TEXT_INDEXES
from purpose_desktop.store.migrations import LATEST, migrate, schema_version
from purpose_desktop.store.opening import Store, open_store
from purpose_desktop.store.run_journal import SqlRunJournal
from sqlalchemy import URL, Engine, select, text
from sqlmodel import SQLModel
from tests.store.test_improvement_store import (  # noqa: F401
    test_a_deleted_result_is_gone_and_the_others_stay,
    test_a_result_comes_back_whole_and_the_list_is_newest_first,
    test_a_result_keeps_its_time_zone_and_lists_its_moment,
)
from tests.store.test_memory_edits import (  # noqa: F401
    test_a_person_edits_what_a_heuristic_says_and_keeps_what_it_learned,
    test_an_edit_that_would_double_a_heuristic_is_refused_and_changes_nothing,
    test_many_memories_are_deleted_at_once,
    test_memories_by_id_come_in_the_order_asked_without_those_deleted,
    test_the_teams_that_have_memory,
)

# Besides helpers, the memory store's tests that hold for any database: pytest collects them
# here too, where ``database`` below makes them (and conftest.py's fixtures) use PostgreSQL.
from tests.store.test_memory_store import (  # noqa: F401
    NASTY_QUERIES,
    test_a_heuristic_comes_back_as_it_was_stored,
    test_a_query_without_words_returns_the_best_by_q_value,
    test_an_experience_and_an_anchor_come_back_as_they_were_stored,
    test_anchors_most_similar_first,
    test_browsing_thousands_of_memories_page_by_page,
    test_common_words_do_not_crowd_out_rare_ones,
    test_concurrent_writers_in_many_threads_do_not_lock_each_other_out,
    test_experience_q_values_move_towards_the_reward,
    test_experiences_by_similarity_then_q_value,
    test_experiences_in_bulk_and_counted,
    test_listing_pinning_and_deleting_heuristics,
    test_many_ids_are_bound_a_slice_at_a_time,
    test_operators_in_a_query_are_searched_as_words,
    test_q_value_decides_among_similar_candidates_and_unrelated_ones_stay_out,
    test_q_value_orders_only_the_most_similar_candidates,
    test_q_values_move_towards_the_reward,
    test_results_are_plain_frozen_data,
    test_teams_do_not_see_each_others_memory,
    test_the_browser_refuses_what_it_does_not_know,
    test_the_same_heuristic_is_stored_once,
    test_the_store_satisfies_the_protocol,
    test_tiers_filter_heuristics,
    test_two_stores_on_one_database_see_each_others_writes,
    test_words_are_stemmed,
)
from tests.store.test_run_queries import (  # noqa: F401
    test_a_run_is_found_by_a_unique_prefix_of_its_id,
    test_a_run_with_nothing_recorded_reads_as_empty,
    test_cost_totals_group_and_put_the_most_costly_first,
    test_runs_come_newest_first_with_ties_by_id,
)
from tests.store.test_tool_permissions import (  # noqa: F401
    test_a_revoked_approval_is_gone_for_its_team_only,
    test_an_approval_of_something_else_is_refused,
    test_approvals_are_kept_once_per_team_and_listed_servers_first,
    test_the_async_forms_and_names_that_are_not_sql,
)
from tests.support.memories import experience, heuristic
from tests.support.scripted_team import act, one_agent_team, team_model

# The session's PostgreSQL server is a process of its own (see tests/support/postgres.py).
pytestmark = pytest.mark.process


@pytest.fixture
def database(postgres_url: URL) -> URL:
    """The test's database: an empty one on the server (see conftest.py)."""
    return postgres_url


# --- the schema and the full-text search ---------------------------------------------


def test_migrating_creates_the_schema_once(postgres_url: URL) -> None:
    engine = open_database(postgres_url)
    try:
        assert engine.dialect.name == "postgresql"
        assert engine.url.drivername == "postgresql+psycopg"
        assert schema_version(engine) == 0
        assert migrate(engine) == [1, 2, 3, 4]
        assert migrate(engine) == []
        assert schema_version(engine) == LATEST
        with reading(engine) as connection:
            indexes = (
                connection.execute(
                    text("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING gin%'")
                )
                .scalars()
                .all()
            )
        assert sorted(indexes) == ["experiences_fts", "heuristics_fts", "score_anchors_fts"]
    finally:
        engine.dispose()


@pytest.mark.parametrize("fts", FULL_TEXT_INDEXES, ids=lambda fts: fts.table)
def test_the_gin_index_serves_every_search(engine: Engine, fts: FullTextIndex) -> None:
    table = SQLModel.metadata.tables[fts.table]
    with reading(engine) as connection:
        # With sequential scans priced out, a plan without the index means the query's
        # tsvector is not the very expression the index holds.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        search = text_search(connection, fts, table)
        query = search.query(["csv", "files"])
        statements = (
            search.documents(query),
            select(table.c.id).select_from(search.rows()).where(search.matches(query)),
            select(table.c.id).where(search.condition(query)),
        )
        for statement in statements:
            compiled = statement.compile(connection)
            plan = connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars()
            assert f"Bitmap Index Scan on {fts.name}" in "\n".join(plan)


def test_a_tsquery_is_the_words_quoted_and_or_ed(engine: Engine) -> None:
    assert tsquery("Reading CSV files!") == "'reading' | 'csv' | 'files'"
    assert tsquery("? the") == ""
    # Whatever the terms, they are quoted lexemes: none acts as an operator.
    terms = ["it's", "a\\b", "x' | !'y", "&", "(", "<->", "'", "\\", "zebra"]
    with reading(engine) as connection:
        parsed = connection.execute(
            text("SELECT to_tsquery('english', :q)::text"), {"q": tsquery(terms)}
        ).scalar_one()
    assert "!" not in parsed
    assert "zebra" in parsed


@pytest.mark.parametrize("query", NASTY_QUERIES)
def test_searching_for_punctuation_and_operators_never_raises(
    store: DatabaseMemoryStore, query: str
) -> None:
    async def scenario() -> None:
        await store.add_heuristic(heuristic("reading csv files", "strategy: use csv module"))
        await store.add_experience(experience("reading csv files"))
        await asyncio.gather(
            store.find_heuristics("lab", query, tiers=[Tier.TOOL]),
            store.find_experiences("lab", query),
            store.find_anchors("lab", query),
            store.search_heuristics(HeuristicQuery("lab", query)),
            store.search_experiences(ExperienceQuery("lab", query, outcome="failed")),
            store.count_heuristics(HeuristicQuery("lab", query)),
        )

    asyncio.run(scenario())


# --- runs -------------------------------------------------------------------------------


@pytest.fixture
def opened(postgres_url: URL) -> Iterator[Store]:
    store = open_store(postgres_url)
    yield store
    store.engine.dispose()


def _runner(folder: Path, store: Store, journal: SqlRunJournal, actions: list[str]) -> TeamRunner:
    model = team_model(actions, score=5)
    return TeamRunner(
        ScriptedProvider({"m": model}),
        store.memory,
        workspaces_dir=folder / "workspaces",
        journal=journal,
        prices=PriceTable({"*": Price(1.5, 3.0)}),
    )


def _totals(seen: list[ev.Event], by: CostGrouping) -> list[CostTotalRecord]:
    """The cost totals the events a subscriber saw add up to, by agent, model or day."""
    groups: dict[str, list[ev.CostRecorded]] = defaultdict(list)
    for event in seen:
        if isinstance(event, ev.CostRecorded):
            key = {
                "agent": event.agent,
                "model": event.model,
                "day": date.fromtimestamp(event.timestamp).isoformat(),
            }[by]
            groups[key].append(event)
    return [
        CostTotalRecord(
            key=key,
            calls=len(calls),
            prompt_tokens=sum(c.prompt_tokens for c in calls),
            completion_tokens=sum(c.completion_tokens for c in calls),
            seconds=sum(c.seconds for c in calls),
            cost=sum(c.cost for c in calls),
        )
        for key, calls in groups.items()
    ]


def test_a_run_is_recorded_and_read_back(opened: Store, tmp_path: Path) -> None:
    journal = SqlRunJournal(lambda: opened.engine)
    seen: list[ev.Event] = []
    runner = _runner(
        tmp_path,
        opened,
        journal,
        # Not the task's expression as written, so the model (not a rule) gives the finish.
        [act("calculator", expression="23*17"), act("finish", answer="391")],
    )

    async def scenario() -> RunOutcome:
        outcome = await runner.run(one_agent_team(tmp_path), "What is 17 * 23?", [seen.append])
        assert (outcome.status, outcome.answer, outcome.record_error) == ("completed", "391", None)
        [summary] = await opened.runs.list_runs()
        assert (summary.id, summary.status, summary.answer, summary.agent) == (
            outcome.run_id,
            "completed",
            "391",
            "solver",
        )
        assert summary.events == len(seen)
        assert summary.cost == pytest.approx(
            sum(e.cost for e in seen if isinstance(e, ev.CostRecorded))
        )
        assert summary.cost > 0
        assert await opened.runs.count_runs() == 1
        assert await opened.runs.list_runs(status="failed") == []

        detail = await opened.runs.run(outcome.run_id[:8])
        assert detail.summary == summary
        assert [(s.index, s.action.tool) for s in detail.steps] == [
            (1, "calculator"),
            (2, "finish"),
        ]
        assert detail.steps == tuple(outcome.steps)
        assert await opened.runs.events(outcome.run_id) == seen
        assert list(opened.runs.all_events_now(outcome.run_id, page=7)) == seen
        for by in ("agent", "model", "day"):
            totals = await opened.runs.cost_totals(by)
            expected = _totals(seen, by)
            assert [(t.key, t.calls, t.prompt_tokens, t.completion_tokens) for t in totals] == [
                (t.key, t.calls, t.prompt_tokens, t.completion_tokens) for t in expected
            ]
            assert [t.cost for t in totals] == pytest.approx([t.cost for t in expected])
            assert [t.seconds for t in totals] == pytest.approx([t.seconds for t in expected])

        point = await journal.resume_point(outcome.run_id)
        assert (point.header.run_id, point.header.task, point.status) == (
            outcome.run_id,
            "What is 17 * 23?",
            "completed",
        )
        assert point.checkpoint.step == 2
        assert point.last_seq == len(seen)
        assert (await journal.resume_point(outcome.run_id, 1)).checkpoint.step == 1
        with pytest.raises(UserError, match="no run"):
            await journal.resume_point("f" * 32)
        return outcome

    try:
        outcome = asyncio.run(scenario())
        forked_seen: list[ev.Event] = []
        fork_runner = _runner(tmp_path, opened, journal, [act("finish", answer="392")])
        forked = asyncio.run(fork_runner.fork(outcome.run_id, 1, [forked_seen.append]))
        assert (forked.status, forked.answer) == ("completed", "392")
        # The fork holds a copy of its parent's events up to the step it was forked after,
        # then its own.
        stored = opened.runs.events_now(forked.run_id)
        inherited, own = stored[: -len(forked_seen)], stored[-len(forked_seen) :]
        assert own == forked_seen
        parent = opened.runs.events_now(outcome.run_id)[: len(inherited)]
        assert [(e.seq, type(e), e.timestamp) for e in inherited] == [
            (e.seq, type(e), e.timestamp) for e in parent
        ]
        assert isinstance(parent[-1], ev.Scored)
        assert opened.runs.run_now(forked.run_id).summary.forked_from_step == 1
    finally:
        journal.close()


# --- sharing ----------------------------------------------------------------------------


def test_runs_recorded_through_one_engine_are_read_through_another(
    opened: Store, postgres_url: URL, tmp_path: Path
) -> None:
    """As on two machines sharing the database."""
    other = open_store(postgres_url)
    journal = SqlRunJournal(lambda: opened.engine)
    runner = _runner(tmp_path, opened, journal, [act("finish", answer="42")])

    async def scenario() -> None:
        outcome = await runner.run(one_agent_team(tmp_path), "The answer?")
        assert [r.id for r in await other.runs.list_runs()] == [outcome.run_id]
        assert (await other.runs.run(outcome.run_id)).summary.answer == "42"
        assert await other.runs.events(outcome.run_id) == await opened.runs.events(outcome.run_id)

    try:
        asyncio.run(scenario())
    finally:
        journal.close()
        other.engine.dispose()


def test_a_nul_character_is_stored_as_a_replacement_character(
    store: DatabaseMemoryStore,
) -> None:
    # PostgreSQL refuses NUL in text, which a model's output may hold; SQLite keeps it.
    added = asyncio.run(
        store.add_experience(
            Experience(
                "lab", "catalogue the herbarium", "wrote\x00sheets", "completed", 7.0, 2, "r1"
            )
        )
    )
    (found,) = asyncio.run(store.find_experiences("lab", "herbarium"))
    assert found.id == added.id
    assert found.summary == "wrote\ufffdsheets"
