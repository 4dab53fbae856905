"""Improvement benchmark results made up for tests that read, chart or save them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from purpose_desktop.engine.learning.improvement import (
    ImprovementResult,
    ImprovementSeries,
    IterationMetrics,
    Part,
)


def iteration(number: int, success: float, **changes: Any) -> IterationMetrics:
    values: dict[str, Any] = {
        "iteration": number,
        "success_rate": success,
        "average_phi": 5.0,
        "average_steps": 3.0,
        "average_reward": 1.25,
        "tokens": 900,
        "seconds": 12.5,
    }
    values.update(changes)
    return IterationMetrics(**values)


def sample_result(suite: str = "arithmetic") -> ImprovementResult:
    return ImprovementResult(
        suite=suite,
        team="Calculators",
        model="bundled:smollm2-135m",
        created=datetime(2025, 6, 1, 12, 30, tzinfo=UTC),
        series=(
            ImprovementSeries(
                "learning on",
                (iteration(1, 0.4), iteration(2, 0.6), iteration(3, 0.8, average_phi=7.5)),
            ),
            ImprovementSeries(
                "learning off",
                (iteration(1, 0.4), iteration(2, 0.4), iteration(3, 0.5, average_reward=-0.5)),
            ),
        ),
    )


def heldout_result(iterations: int = 5) -> ImprovementResult:
    """30% of the suite held out, the mean of 3 repeats, for two arms. With learning on the
    success rate climbs by 10 points an iteration on the training tasks and by 5 on the test
    tasks; with learning off it stays at 40% and 30%. Across the repeats it spans 10 points
    either way, 15 for learning on's test tasks (clipped to 0 and 1)."""

    def series(arm: str, part: Part, start: float, gain: float, spread: float) -> ImprovementSeries:
        def at(number: int) -> IterationMetrics:
            success = round(min(1.0, start + gain * (number - 1)), 2)
            return iteration(
                number,
                success,
                tokens=1000 + 100 * number,
                success_low=round(max(0.0, success - spread), 2),
                success_high=round(min(1.0, success + spread), 2),
            )

        return ImprovementSeries(
            f"{arm} · {part}",
            tuple(at(number) for number in range(1, iterations + 1)),
            arm=arm,
            part=part,
        )

    return ImprovementResult(
        suite="arithmetic",
        team="Calculators",
        model="bundled:smollm2-135m",
        created=datetime(2025, 6, 2, 9, 0, tzinfo=UTC),
        series=(
            series("learning on", "training", 0.4, 0.1, 0.1),
            series("learning on", "test", 0.3, 0.05, 0.15),
            series("learning off", "training", 0.4, 0.0, 0.1),
            series("learning off", "test", 0.3, 0.0, 0.1),
        ),
        holdout=0.3,
        repeats=3,
    )
