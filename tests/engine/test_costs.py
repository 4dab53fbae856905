"""The price table: saved and read back, checked field by field, and charged by the runner from
the run after a change."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from purpose_desktop.engine.costs import (
    CostTotal,
    Price,
    PriceTable,
    load_prices,
    price_problem,
    save_prices,
)
from purpose_desktop.errors import UserError
from purpose_desktop.models.scripted import ScriptedProvider
from tests.support.scripted_team import act, one_agent_team, runner, team_model


def test_prices_are_saved_as_the_file_they_are_read_from(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    table = PriceTable({"server:openrouter/*": Price(0.15, 0.6), "server:lab/big": Price(2.0, 8.5)})
    save_prices(table, path)
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "server:lab/big": {"input": 2.0, "output": 8.5},
        "server:openrouter/*": {"input": 0.15, "output": 0.6},
    }
    assert load_prices(path) == table
    assert load_prices(path).cost("server:openrouter/small", 1_000_000, 500_000) == 0.45
    save_prices(PriceTable({}), path)  # replaces the file whole
    assert load_prices(path) == PriceTable({})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prices.json"]


def test_a_price_table_that_cannot_be_written_says_where(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(UserError, match=r"^Cannot write .*a file/prices.json: Not a dir"):
        save_prices(PriceTable({"x": Price(1, 1)}), blocker / "prices.json")
    # The new text is written beside the file, then renamed over it: when the rename fails,
    # what was there stays and nothing is left behind.
    taken = tmp_path / "prices.json"
    (taken / "kept").mkdir(parents=True)
    with pytest.raises(UserError, match=r"^Cannot write .*prices.json: Is a directory"):
        save_prices(PriceTable({"x": Price(1, 1)}), taken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a file", "prices.json"]
    assert [p.name for p in taken.iterdir()] == ["kept"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0.15", None),
        ("0", None),
        (" 12 ", None),
        ("-1", "A price cannot be negative."),
        ("abc", "Not a number."),
        ("nan", "Not a number."),
        ("inf", "Not a number."),
        ("", "Enter a price (0 for free)."),
    ],
)
def test_a_price_field_is_checked_like_a_price(text: str, problem: str | None) -> None:
    assert price_problem(text) == problem


def test_a_negative_price_is_refused_in_the_file_too(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 0"):
        Price(-0.1, 1.0)
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"server:x/*": {"input": -1, "output": 2}}), encoding="utf-8")
    with pytest.raises(UserError, match="cannot be read"):
        load_prices(path)


def test_totals_add_up() -> None:
    total = CostTotal(1, 10, 5, 0.5, 0.25) + CostTotal(2, 20, 15, 1.5, 0.5)
    assert total == CostTotal(3, 30, 20, 2.0, 0.75)
    assert total.tokens_per_second == 10.0


def test_the_runner_charges_new_prices_from_the_next_run(tmp_path: Path) -> None:
    """The model is named like a remote one; the scripted provider answers for it."""
    model = "server:lab/small"
    team = one_agent_team(tmp_path, model=model)

    answers = team_model(lambda _messages: act("finish", answer="4"), score=8)
    runs = runner(tmp_path, ScriptedProvider({model: answers}))
    free = asyncio.run(runs.run(team, "What is 2 + 2?"))
    assert free.costs.total.cost == 0.0 and free.costs.total.calls > 0
    runs.use_prices(PriceTable({"server:lab/*": Price(1_000_000.0, 2_000_000.0)}))
    charged = asyncio.run(runs.run(team, "What is 2 + 2?"))
    usage = charged.costs.total
    assert usage.cost == usage.prompt_tokens * 1.0 + usage.completion_tokens * 2.0
    assert usage.cost > 0
