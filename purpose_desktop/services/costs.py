"""What model calls cost: the recorded calls totalled by agent, model, run or day, and the
prices of remote models in the prices file.

Every method runs off the event loop and returns plain frozen data; a database or a prices
file that cannot be read or written raises :class:`UserError` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from purpose_desktop.errors import UserError
from purpose_desktop.services.background import off_loop

if TYPE_CHECKING:
    from purpose_desktop.engine.costs import CostTotal, PriceTable
    from purpose_desktop.engine.recording.run_records import CostTotalRecord, RunSummary
    from purpose_desktop.services.store import StoreService
    from purpose_desktop.store.opening import Store

Grouping = Literal["agent", "model", "run", "day"]
"""What a report totals the calls by."""

_REMOTE_SCHEME = "server:"  # a model on a server someone may charge for; the rest run here
_RUNS_PAGE = 200


@dataclass(frozen=True)
class CostLine:
    """The totals of one agent, model, run or day (``key``), with its name as shown and what
    hovering it tells; a run's line also has its team and task."""

    key: str
    label: str
    detail: str
    totals: CostTotal
    team: str = ""
    task: str = ""


@dataclass(frozen=True)
class CostReport:
    """The calls of a period totalled by ``grouping``: the costliest first, days the latest
    first."""

    grouping: Grouping
    lines: tuple[CostLine, ...]

    @property
    def total(self) -> CostTotal:
        from purpose_desktop.engine.costs import CostTotal

        return sum((line.totals for line in self.lines), CostTotal())


class CostsService:
    """The costs recorded in the app's database, and the prices in ``prices_file``."""

    def __init__(self, store: StoreService, prices_file: Path) -> None:
        self._store = store
        self._prices_file = prices_file

    async def report(
        self, grouping: Grouping, since_day: str | None, *, run_id: str | None = None
    ) -> CostReport:
        """The calls recorded from ``since_day`` (``YYYY-MM-DD``) on, or all if ``None``,
        totalled by ``grouping``; only those of the run ``run_id`` (its whole id) if given.
        A model's line says what it is charged, from the prices file as it is now (nothing,
        if that cannot be read)."""
        return await self._store.run_blocking(
            lambda store: self._read_report(store, grouping, since_day, run_id)
        )

    async def prices(self) -> PriceTable:
        """The price table in the prices file (empty if there is none); raises
        :class:`UserError` when the file cannot be read or is not a price table."""
        from purpose_desktop.engine.costs import load_prices

        return await off_loop(load_prices, self._prices_file)

    async def save_prices(self, prices: PriceTable) -> None:
        """Replace the prices file with ``prices`` (atomically)."""
        from purpose_desktop.engine.costs import save_prices

        await off_loop(save_prices, prices, self._prices_file)

    def _read_report(
        self, store: Store, grouping: Grouping, since_day: str | None, run_id: str | None
    ) -> CostReport:
        from purpose_desktop.engine.costs import load_prices

        try:
            prices: PriceTable | None = load_prices(self._prices_file)
        except UserError:
            prices = None  # only the models' tooltips need it; the editor says what is wrong
        records = store.runs.cost_totals_now(grouping, run_id=run_id, since_day=since_day)
        if grouping == "day":
            records.sort(key=lambda record: record.key, reverse=True)
        runs = _run_summaries(store, {r.key for r in records}) if grouping == "run" else {}
        lines = tuple(_line(record, grouping, runs.get(record.key), prices) for record in records)
        return CostReport(grouping, lines)


def _line(
    record: CostTotalRecord, grouping: Grouping, run: RunSummary | None, prices: PriceTable | None
) -> CostLine:
    from purpose_desktop.engine.costs import CostTotal
    from purpose_desktop.engine.text import shorten

    totals = CostTotal(
        record.calls, record.prompt_tokens, record.completion_tokens, record.seconds, record.cost
    )
    if run is None:
        detail = model_pricing(record.key, prices) if grouping == "model" else ""
        return CostLine(record.key, record.key, detail, totals)
    started = datetime.fromtimestamp(run.started_at).strftime("%Y-%m-%d %H:%M")
    return CostLine(
        record.key,
        f"{run.id[:8]}  {shorten(run.task, 60)}",
        f"Run {run.id} of {run.team}, started {started} ({run.status}):\n{run.task}",
        totals,
        run.team,
        run.task,
    )


def _run_summaries(store: Store, wanted: set[str]) -> dict[str, RunSummary]:
    """The runs whose ids are ``wanted``, read a page at a time, newest first, until all
    are found: costs are mostly of recent runs."""
    found: dict[str, RunSummary] = {}
    offset = 0
    while len(found) < len(wanted):
        page = store.runs.list_runs_now(offset=offset, limit=_RUNS_PAGE)
        found.update((run.id, run) for run in page if run.id in wanted)
        if len(page) < _RUNS_PAGE:
            break
        offset += _RUNS_PAGE
    return found


def _is_local(model: str) -> bool:
    """Whether ``model`` runs on this machine (or one the user runs, like Ollama's)."""
    return not model.startswith(_REMOTE_SCHEME)


def model_pricing(model: str, prices: PriceTable | None) -> str:
    """How ``model``'s calls are charged, in a sentence."""
    price = None if prices is None else prices.price(model)
    if price is not None:
        return (
            f"{model}: {price.input_per_million:g} per million tokens in, "
            f"{price.output_per_million:g} out (calls are charged at the price of the day)"
        )
    if _is_local(model):
        return f"{model} runs locally: its calls cost nothing."
    return f"{model} has no price set, so its calls are counted as free (see Prices…)."
