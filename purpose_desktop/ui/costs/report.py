"""What the Costs pane shows of a :class:`~purpose_desktop.services.costs.CostReport`: the
groupings and periods to choose from, the words and numbers a person reads, and the same as CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Final

from purpose_desktop.engine.costs import CostTotal

if TYPE_CHECKING:
    from purpose_desktop.services.costs import CostReport, Grouping

GROUPINGS: Final[tuple[tuple[Grouping, str], ...]] = (
    ("agent", "Agent"),
    ("model", "Model"),
    ("run", "Run"),
    ("day", "Day"),
)
#: The columns after the grouping's own, in the table and (with raw numbers) in the CSV.
NUMBER_COLUMNS: Final = ("Calls", "Tokens in", "Tokens out", "Wall time", "Tokens/s", "Money")


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
