"""What the Costs pane shows of a :class:`~purpose_desktop.services.costs.CostReport`: the
groupings and periods to choose from, and the report as CSV. The words and numbers a person
reads are made in :mod:`purpose_desktop.engine.cost_text`, which the run report uses too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from purpose_desktop.services.costs import CostReport, Grouping

GROUPINGS: Final[tuple[tuple[Grouping, str], ...]] = (
    ("agent", "Agent"),
    ("model", "Model"),
    ("run", "Run"),
    ("day", "Day"),
)


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
