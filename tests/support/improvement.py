"""Improvement benchmark results made up for tests that read, chart or save them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from purpose_desktop.engine.learning.improvement import (
    ImprovementResult,
    ImprovementSeries,
    IterationMetrics,
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
