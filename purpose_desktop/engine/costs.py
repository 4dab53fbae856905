"""What model calls cost: tokens, time, speed and money, totalled per agent, model and run."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from purpose_desktop.config import write_file_atomically
from purpose_desktop.errors import UserError


@dataclass(frozen=True)
class Price:
    """Money per million tokens, in the user's currency. ``ValueError`` for a negative or
    non-finite amount: a price table must never turn a call into income, or into NaN."""

    input_per_million: float
    output_per_million: float

    def __post_init__(self) -> None:
        for amount in (self.input_per_million, self.output_per_million):
            if not math.isfinite(amount) or amount < 0:
                raise ValueError(f"a price must be a number of at least 0, not {amount!r}")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_per_million + completion_tokens * self.output_per_million
        ) / 1_000_000


@dataclass(frozen=True)
class PriceTable:
    """Prices by model reference. A key ending in ``*`` covers every reference it starts
    (``server:openrouter/*``). Models without a price (all local ones) cost nothing."""

    prices: Mapping[str, Price]

    def price(self, model: str) -> Price | None:
        if model in self.prices:
            return self.prices[model]
        prefixes = [key for key in self.prices if key.endswith("*") and model.startswith(key[:-1])]
        return self.prices[max(prefixes, key=len)] if prefixes else None

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        price = self.price(model)
        return price.cost(prompt_tokens, completion_tokens) if price else 0.0


def price_problem(text: str) -> str | None:
    """What is wrong with ``text`` as an amount per million tokens, or ``None``: how a form
    checks a field with the same rule as :class:`Price`."""
    try:
        amount = float(text.strip())
    except ValueError:
        return "Not a number." if text.strip() else "Enter a price (0 for free)."
    if not math.isfinite(amount):
        return "Not a number."
    return "A price cannot be negative." if amount < 0 else None


def load_prices(path: Path) -> PriceTable:
    """The price table in ``path`` (JSON: ``{"model": {"input": 0.15, "output": 0.6}}``, per
    million tokens); an empty table when the file does not exist."""
    if not path.exists():
        return PriceTable({})
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return PriceTable(
            {
                str(model): Price(float(entry["input"]), float(entry["output"]))
                for model, entry in data.items()
            }
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UserError(
            f"The price table {path} cannot be read ({exc!r}). Each entry should look like "
            '"server:name/model": {"input": 0.15, "output": 0.6} (money per million tokens).'
        ) from None


def save_prices(prices: PriceTable, path: Path) -> None:
    """Write ``prices`` to ``path`` as :func:`load_prices` reads them, atomically: a crash
    midway leaves the old table. ``UserError`` if the file cannot be written."""
    data = {
        model: {"input": price.input_per_million, "output": price.output_per_million}
        for model, price in sorted(prices.prices.items())
    }
    write_file_atomically(path, json.dumps(data, indent=2) + "\n")


@dataclass(frozen=True)
class CallCost:
    agent: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cost: float


@dataclass(frozen=True)
class CostTotal:
    """Totals over some calls: ``tokens_per_second`` is output tokens over generation time."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cost: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0

    def __add__(self, other: CostTotal) -> CostTotal:
        return CostTotal(
            self.calls + other.calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.seconds + other.seconds,
            self.cost + other.cost,
        )

    def plus(self, call: CallCost) -> CostTotal:
        return self + CostTotal(
            1, call.prompt_tokens, call.completion_tokens, call.seconds, call.cost
        )


@dataclass(frozen=True)
class CostSummary:
    total: CostTotal
    by_agent: Mapping[str, CostTotal]
    by_model: Mapping[str, CostTotal]


def summarise(calls: Iterable[CallCost]) -> CostSummary:
    total = CostTotal()
    by_agent: dict[str, CostTotal] = {}
    by_model: dict[str, CostTotal] = {}
    for call in calls:
        total = total.plus(call)
        by_agent[call.agent] = by_agent.get(call.agent, CostTotal()).plus(call)
        by_model[call.model] = by_model.get(call.model, CostTotal()).plus(call)
    return CostSummary(total, by_agent, by_model)
