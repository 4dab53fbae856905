"""Which of a team's heuristics and experiences a memory browser shows: the queries a front
end builds and the store answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from purpose_desktop.engine.learning.memory import HeuristicSource, Tier

Outcome = Literal["completed", "failed", "cancelled"]
"""How the run an experience comes from ended."""

OUTCOMES = frozenset(get_args(Outcome))
"""Every outcome an experience may have."""
SOURCES = frozenset(get_args(HeuristicSource))
"""Every source a heuristic may come from."""


@dataclass(frozen=True)
class HeuristicQuery:
    """Which of a team's heuristics a memory browser shows: those whose pattern or strategy
    holds any word of ``text`` (stemmed: "tests" finds "testing"; a text without searchable
    words filters nothing), of one of ``tiers`` (any if empty), with a Q-value within
    ``min_q`` .. ``max_q`` and from ``source``, where given.

    Raises :class:`ValueError` for an unknown tier or source.
    """

    team: str
    text: str = ""
    tiers: Sequence[Tier] = ()
    min_q: float | None = None
    max_q: float | None = None
    source: HeuristicSource | None = None

    def __post_init__(self) -> None:
        if self.source is not None and self.source not in SOURCES:
            raise ValueError(f"unknown heuristic source {self.source!r}")
        # A tuple of tiers, whatever sequence was given: equal queries compare and hash equal.
        object.__setattr__(self, "tiers", tuple(Tier(t) for t in self.tiers))


@dataclass(frozen=True)
class ExperienceQuery:
    """Which of a team's experiences a memory browser shows: those whose task or summary holds
    any word of ``text`` (stemmed; a text without searchable words filters nothing), that
    ended with ``outcome`` and have a Q-value of at least ``min_q``, where given.

    Raises :class:`ValueError` for an unknown outcome.
    """

    team: str
    text: str = ""
    outcome: Outcome | None = None
    min_q: float | None = None

    def __post_init__(self) -> None:
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")
