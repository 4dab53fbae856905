"""One result from a benchmark repeated over several seeded splits: the mean of each metric, and
the lowest and highest success rate, so that a curve can show how much a split changes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from statistics import fmean

from purpose_desktop.engine.learning.improvement import (
    ImprovementResult,
    ImprovementSeries,
    IterationMetrics,
)


def mean_of(results: Sequence[ImprovementResult]) -> ImprovementResult:
    """``results`` (the same suite, arms and iterations, each on its own split) as one: each
    metric averaged, the success rate's spread kept. A single result is returned as it is.
    ``ValueError`` when there are none or their series differ."""
    if not results:
        raise ValueError("there are no results to combine")
    first = results[0]
    if len(results) == 1:
        return first
    names = [series.name for series in first.series]
    if any([series.name for series in result.series] != names for result in results):
        raise ValueError("the repeats do not have the same series")
    return replace(
        results[-1],
        series=tuple(
            _mean_series([result.series[index] for result in results])
            for index in range(len(names))
        ),
        holdout=fmean(result.holdout for result in results),
        repeats=sum(result.repeats for result in results),
    )


def _mean_series(repeats: Sequence[ImprovementSeries]) -> ImprovementSeries:
    count = len(repeats[0].iterations)
    if any(len(series.iterations) != count for series in repeats):
        raise ValueError("the repeats do not have the same iterations")
    return replace(
        repeats[0],
        iterations=tuple(
            _mean_iteration([series.iterations[index] for series in repeats])
            for index in range(count)
        ),
    )


def _mean_iteration(repeats: Sequence[IterationMetrics]) -> IterationMetrics:
    def mean(metric: str) -> float:
        return fmean(m.value(metric) for m in repeats)

    lows = [m.success_range[0] for m in repeats]
    highs = [m.success_range[1] for m in repeats]
    return IterationMetrics(
        iteration=repeats[0].iteration,
        success_rate=mean("success_rate"),
        average_phi=mean("average_phi"),
        average_steps=mean("average_steps"),
        average_reward=mean("average_reward"),
        tokens=round(mean("tokens")),
        seconds=mean("seconds"),
        success_low=min(lows),
        success_high=max(highs),
    )
