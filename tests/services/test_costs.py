"""The costs service over a real SQLite database: the calls of runs recorded by the real journal
totalled by agent, model, run and day, and the prices file read and written."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from purpose_desktop.engine.costs import CostTotal, Price, PriceTable
from purpose_desktop.errors import UserError
from purpose_desktop.services.costs import CostsService
from purpose_desktop.services.store import StoreService
from purpose_desktop.store.opening import Store
from sqlalchemy import text
from tests.support.stores import record_run


def numbers(totals: CostTotal) -> tuple[int, int, int, float]:
    return totals.calls, totals.prompt_tokens, totals.completion_tokens, totals.cost


@pytest.fixture
def costs(store: Store, tmp_path: Path) -> CostsService:
    return CostsService(StoreService(lambda: store), tmp_path / "prices.json")


def test_the_calls_are_totalled_by_each_grouping(
    costs: CostsService, store: Store, tmp_path: Path
) -> None:
    local = record_run(store, tmp_path).run_id
    remote = record_run(store, tmp_path, model="server:lab/small").run_id
    asyncio.run(costs.save_prices(PriceTable({"server:lab/*": Price(1_000_000, 2_000_000)})))
    with store.engine.begin() as connection:  # one call made on an earlier day
        connection.execute(
            text("UPDATE costs SET day = '2024-02-29' WHERE id = (SELECT min(id) FROM costs)")
        )

    by_model = asyncio.run(costs.report("model", None))
    assert by_model.grouping == "model"
    assert {line.key: numbers(line.totals) for line in by_model.lines} == {
        record.key: numbers(record) for record in store.runs.cost_totals_now("model")
    }
    details = {line.key: line.detail for line in by_model.lines}
    assert details == {
        "m": "m runs locally: its calls cost nothing.",
        "server:lab/small": "server:lab/small: 1e+06 per million tokens in, 2e+06 out "
        "(calls are charged at the price of the day)",
    }
    assert by_model.total.calls == sum(line.totals.calls for line in by_model.lines)

    by_run = asyncio.run(costs.report("run", None))
    labels = {line.key: line.label for line in by_run.lines}
    assert labels == {
        local: f"{local[:8]}  What is 17 * 23?",
        remote: f"{remote[:8]}  What is 17 * 23?",
    }
    assert all(line.task == "What is 17 * 23?" and line.team == "T" for line in by_run.lines)

    by_day = asyncio.run(costs.report("day", None))
    assert [line.key for line in by_day.lines][-1] == "2024-02-29"  # the latest first
    recent = asyncio.run(costs.report("day", "2024-03-01"))
    assert "2024-02-29" not in {line.key for line in recent.lines}


def test_prices_are_read_back_as_saved_and_a_broken_file_is_named(
    costs: CostsService, store: Store, tmp_path: Path
) -> None:
    assert asyncio.run(costs.prices()) == PriceTable({})
    saved = PriceTable({"server:lab/*": Price(1, 2), "server:other/model": Price(0.15, 0.6)})
    asyncio.run(costs.save_prices(saved))
    assert asyncio.run(costs.prices()) == saved

    (tmp_path / "prices.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(UserError, match=r"prices\.json"):
        asyncio.run(costs.prices())
    record_run(store, tmp_path, model="server:lab/small")
    # The report still reads: the model is only said to have no price.
    [line] = asyncio.run(costs.report("model", None)).lines
    assert "has no price set" in line.detail
