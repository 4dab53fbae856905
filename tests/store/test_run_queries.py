"""What the runs list, a run's look-up and the cost totals read, on rows written straight into
the tables: the order of a page (ties included), what a filter leaves out, empty columns, and
how totals group and rank."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from purpose_desktop.engine.recording.run_records import CostTotalRecord
from purpose_desktop.errors import UserError
from purpose_desktop.store.database import writing
from purpose_desktop.store.run_queries import RunQueries
from purpose_desktop.store.run_tables import COSTS, RUNS
from sqlalchemy import Engine, insert


def add_runs(engine: Engine, *runs: tuple[str, float, str]) -> None:
    """Runs (id, when it started, status) of one team, with nothing else recorded."""
    with writing(engine) as connection:
        connection.execute(
            insert(RUNS),
            [
                {
                    "id": run_id,
                    "team": "Arithmetic",
                    "team_spec": "{}",
                    "task": "add",
                    "status": status,
                    "started_at": started_at,
                }
                for run_id, started_at, status in runs
            ],
        )


def test_runs_come_newest_first_with_ties_by_id(engine: Engine) -> None:
    add_runs(
        engine,
        ("b1", 20.0, "completed"),
        ("a1", 20.0, "failed"),
        ("c1", 30.0, "running"),
        ("d1", 10.0, "failed"),
    )
    queries = RunQueries(engine)
    assert [r.id for r in queries.list_runs_now()] == ["c1", "a1", "b1", "d1"]
    assert [r.id for r in queries.list_runs_now(offset=1, limit=2)] == ["a1", "b1"]
    assert [r.id for r in queries.list_runs_now(status="failed")] == ["a1", "d1"]
    assert queries.list_runs_now(status="cancelled") == []
    assert queries.list_runs_now(limit=-1) == []
    assert asyncio.run(queries.count_runs()) == 4


def test_a_run_with_nothing_recorded_reads_as_empty(engine: Engine) -> None:
    add_runs(engine, ("e1", 5.0, "running"))
    detail = RunQueries(engine).run_now("e1")
    summary = detail.summary
    assert (summary.error, summary.finished_at, summary.parent_run_id) == (None, None, None)
    assert (summary.agent, summary.answer, summary.steps, summary.cost, summary.events) == (
        "",
        "",
        0,
        0.0,
        0,
    )
    assert (detail.steps, detail.overrides) == ((), ())


def test_a_run_is_found_by_a_unique_prefix_of_its_id(engine: Engine) -> None:
    add_runs(engine, ("abc123", 1.0, "completed"), ("abd456", 2.0, "completed"))
    queries = RunQueries(engine)
    assert queries.run_now("abc").summary.id == "abc123"
    assert queries.run_now(" ABD4 ").summary.id == "abd456"
    with pytest.raises(UserError, match="More than one run starts with ab;"):
        queries.run_now("ab")
    # LIKE's wildcards are not hex: they name no run rather than match any.
    for wildcard in ("a%", "a_c", "%"):
        with pytest.raises(UserError, match="There is no run"):
            queries.run_now(wildcard)


def cost(run_id: str, agent: str, model: str, day: str, tokens: tuple[int, int]) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "agent": agent,
        "model": model,
        "purpose": "act",
        "prompt_tokens": tokens[0],
        "completion_tokens": tokens[1],
        "seconds": 0.5,
        "cost": 0.25 if model == "paid" else 0.0,
        "day": day,
    }


def test_cost_totals_group_and_put_the_most_costly_first(engine: Engine) -> None:
    add_runs(engine, ("r1", 1.0, "completed"), ("r2", 2.0, "completed"))
    with writing(engine) as connection:
        connection.execute(
            insert(COSTS),
            [
                cost("r1", "solver", "paid", "2026-01-01", (10, 5)),
                cost("r1", "checker", "paid", "2026-01-02", (100, 0)),
                cost("r2", "solver", "local", "2026-01-02", (1, 1)),
                cost("r2", "helper", "local", "2026-01-03", (1, 1)),
            ],
        )
    queries = RunQueries(engine)

    def keys(by: Any, **only: str) -> list[str]:
        return [total.key for total in queries.cost_totals_now(by, **only)]

    # Equal cost: the most tokens first; equal in both: by name.
    assert keys("agent") == ["checker", "solver", "helper"]
    assert keys("model") == ["paid", "local"]
    assert keys("run") == ["r1", "r2"]
    assert keys("day", since_day="2026-01-02") == ["2026-01-02", "2026-01-03"]
    assert keys("agent", run_id="r2") == ["helper", "solver"]
    assert queries.cost_totals_now("agent", run_id="r3") == []
    assert queries.cost_totals_now("model")[0] == CostTotalRecord(
        key="paid", calls=2, prompt_tokens=110, completion_tokens=5, seconds=1.0, cost=0.5
    )
