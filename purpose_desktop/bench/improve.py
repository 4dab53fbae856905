"""``purpose-desktop bench improve``: what it prints while a benchmark runs and after.

The benchmark itself (:func:`~purpose_desktop.store.improvement_arms.measure_improvement`) is
shared with the Benchmarks pane, as is saving its result
(:func:`~purpose_desktop.store.improvement_store.keep_result`).
"""

from __future__ import annotations

import sys

from purpose_desktop.engine.evaluation.runner import Progress
from purpose_desktop.engine.learning.improvement import ImprovementResult


def print_progress(progress: Progress) -> None:
    """One line on stderr per task run."""
    print(f"[{progress.done}/{progress.total}] {progress.last.line}", file=sys.stderr, flush=True)


def format_table(result: ImprovementResult) -> str:
    """The curves as a table: one row per arm and iteration, the columns lined up."""
    width = max([len("arm"), *(len(series.name) for series in result.series)]) + 2
    lines = [
        f"{result.suite} by {result.team} on {result.model}",
        f"{'arm':<{width}}{'iter':>4}{'success':>9}{'avg Φ':>7}{'steps':>7}{'reward':>8}"
        f"{'tokens':>9}{'seconds':>9}",
    ]
    for series in result.series:
        for m in series.iterations:
            lines.append(
                f"{series.name:<{width}}{m.iteration:>4}{m.success_rate:>9.0%}"
                f"{m.average_phi:>7.2f}{m.average_steps:>7.2f}{m.average_reward:>8.2f}"
                f"{m.tokens:>9}{m.seconds:>9.1f}"
            )
    return "\n".join(lines)
