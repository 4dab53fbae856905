"""Summaries the benchmarks share."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class MedianRange:
    """The median of some samples, with their least and greatest."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> MedianRange:
        finite = [value for value in values if math.isfinite(value)] or [float("nan")]
        return cls(
            round(statistics.median(finite), 3), round(min(finite), 3), round(max(finite), 3)
        )
