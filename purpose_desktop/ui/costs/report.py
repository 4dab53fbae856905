"""What the Costs pane shows, as plain data: the recorded model calls totalled by agent, model,
run or day, with the words and numbers a person reads, and the same as CSV.

Reading it blocks (it queries the database): the pane calls :func:`read_cost_report` on a
worker thread and shows what comes back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal

from purpose_desktop.engine.costs import CostTotal, PriceTable
from purpose_desktop.engine.text import shorten

if TYPE_CHECKING:
    from purpose_desktop.engine.recording.run_records import RunSummary
    from purpose_desktop.store.run_queries import RunQueries

Grouping = Literal["agent", "model", "run", "day"]
GROUPINGS: Final[tuple[tuple[Grouping, str], ...]] = (
    ("agent", "Agent"),
    ("model", "Model"),
    ("run", "Run"),
    ("day", "Day"),
)
#: The columns after the grouping's own, in the table and (with raw numbers) in the CSV.
NUMBER_COLUMNS: Final = ("Calls", "Tokens in", "Tokens out", "Wall time", "Tokens/s", "Money")
_REMOTE_SCHEME = "server:"  # a model on a server someone may charge for; the rest run here
_RUNS_PAGE = 200


@dataclass(frozen=True)
class Period:
    """The days a report covers: the last ``days`` up to today, or all (``None``)."""

    label: str
    days: int | None

    def since_day(self, today: date) -> str | None:
        """The first day covered, as the costs table writes days, or ``None`` for all."""
        if self.days is None:
            return None
        return (today - timedelta(days=self.days - 1)).isoformat()


PERIODS: Final = (
    Period("All time", None),
    Period("Today", 1),
    Period("Last 7 days", 7),
    Period("Last 30 days", 30),
)


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
    grouping: Grouping
    lines: tuple[CostLine, ...]

    @property
    def total(self) -> CostTotal:
        return sum((line.totals for line in self.lines), CostTotal())


def read_cost_report(
    runs: RunQueries, grouping: Grouping, since_day: str | None, prices: PriceTable | None
) -> CostReport:
    """The calls recorded from ``since_day`` on (all if ``None``), totalled by ``grouping``:
    the costliest first, or for days the latest first. ``prices`` (the current price table,
    if it could be read) explains what each model is charged."""
    records = runs.cost_totals_now(grouping, since_day=since_day)
    if grouping == "day":
        records.sort(key=lambda record: record.key, reverse=True)
    summaries = _run_summaries(runs, {r.key for r in records}) if grouping == "run" else {}
    lines = []
    for record in records:
        totals = CostTotal(
            record.calls,
            record.prompt_tokens,
            record.completion_tokens,
            record.seconds,
            record.cost,
        )
        run = summaries.get(record.key)
        if run is not None:
            started = datetime.fromtimestamp(run.started_at).strftime("%Y-%m-%d %H:%M")
            lines.append(
                CostLine(
                    record.key,
                    f"{run.id[:8]}  {shorten(run.task, 60)}",
                    f"Run {run.id} of {run.team}, started {started} ({run.status}):\n{run.task}",
                    totals,
                    run.team,
                    run.task,
                )
            )
        else:
            detail = model_pricing(record.key, prices) if grouping == "model" else ""
            lines.append(CostLine(record.key, record.key, detail, totals))
    return CostReport(grouping, tuple(lines))


def _run_summaries(runs: RunQueries, wanted: set[str]) -> dict[str, RunSummary]:
    """The runs whose ids are ``wanted``, read a page at a time, newest first, until all
    are found: costs are mostly of recent runs."""
    found: dict[str, RunSummary] = {}
    offset = 0
    while len(found) < len(wanted):
        page = runs.list_runs_now(offset=offset, limit=_RUNS_PAGE)
        found.update((run.id, run) for run in page if run.id in wanted)
        if len(page) < _RUNS_PAGE:
            break
        offset += _RUNS_PAGE
    return found


def is_local(model: str) -> bool:
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
    if is_local(model):
        return f"{model} runs locally: its calls cost nothing."
    return f"{model} has no price set, so its calls are counted as free (see Prices…)."


# --- words and numbers --------------------------------------------------------------------


def tokens_text(count: int) -> str:
    return f"{count:,}"


def seconds_text(seconds: float) -> str:
    """Wall time the way a person reads it: 8.4 s, 3 min 05 s, 2 h 07 min."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def money_text(amount: float) -> str:
    # Four decimals: a small model's call costs fractions of a cent.
    return f"{amount:,.4f}"


def number_texts(totals: CostTotal) -> tuple[str, ...]:
    """The cells of :data:`NUMBER_COLUMNS` for ``totals``."""
    return (
        f"{totals.calls:,}",
        tokens_text(totals.prompt_tokens),
        tokens_text(totals.completion_tokens),
        seconds_text(totals.seconds),
        f"{totals.tokens_per_second:.1f}",
        money_text(totals.cost),
    )


def summary_text(totals: CostTotal) -> str:
    """All the calls in one line."""
    calls = f"{totals.calls:,} call" + ("" if totals.calls == 1 else "s")
    return (
        f"{calls} · {tokens_text(totals.prompt_tokens)} tokens in · "
        f"{tokens_text(totals.completion_tokens)} out · {seconds_text(totals.seconds)} · "
        f"{totals.tokens_per_second:.1f} tokens/s · money {money_text(totals.cost)}"
    )


def cost_csv(report: CostReport, grouping_title: str) -> str:
    """The report as CSV with a header row, numbers unformatted (seconds and money as
    recorded, tokens per second to two places), for a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    run_columns: Sequence[str] = ("Team", "Task") if report.grouping == "run" else ()
    writer.writerow(
        [
            grouping_title,
            *run_columns,
            "Calls",
            "Tokens in",
            "Tokens out",
            "Wall time (s)",
            "Tokens per second",
            "Money",
        ]
    )
    for line in report.lines:
        totals = line.totals
        extra = [line.team, line.task] if run_columns else []
        writer.writerow(
            [
                line.key,
                *extra,
                totals.calls,
                totals.prompt_tokens,
                totals.completion_tokens,
                round(totals.seconds, 3),
                round(totals.tokens_per_second, 2),
                round(totals.cost, 6),
            ]
        )
    return buffer.getvalue()
