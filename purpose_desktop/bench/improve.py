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
    print(progress.line, file=sys.stderr, flush=True)


def format_table(result: ImprovementResult) -> str:
    """The curves as a table: one row per series and iteration, the columns lined up; with
    repeats, the success rate's range among them."""
    width = max([len("arm"), *(len(series.name) for series in result.series)]) + 2
    spread = result.repeats > 1
    lines = [
        f"{result.suite} by {result.team} on {result.model}" + _plan_text(result),
        f"{'arm':<{width}}{'iter':>4}{'success':>9}"
        + (f"{'range':>11}" if spread else "")
        + f"{'avg Φ':>7}{'steps':>7}{'reward':>8}{'tokens':>9}{'seconds':>9}",
    ]
    for series in result.series:
        for m in series.iterations:
            low, high = m.success_range
            lines.append(
                f"{series.name:<{width}}{m.iteration:>4}{m.success_rate:>9.0%}"
                + (f"{f'{low:.0%}-{high:.0%}':>11}" if spread else "")
                + f"{m.average_phi:>7.2f}{m.average_steps:>7.2f}{m.average_reward:>8.2f}"
                f"{m.tokens:>9}{m.seconds:>9.1f}"
            )
    return "\n".join(lines)


def _plan_text(result: ImprovementResult) -> str:
    """``, 30% held out, mean of 3 repeats``, or nothing for one run of the whole suite."""
    held = f", {result.holdout:.0%} held out" if result.holdout else ""
    repeats = f", mean of {result.repeats} repeats" if result.repeats > 1 else ""
    return held + repeats
