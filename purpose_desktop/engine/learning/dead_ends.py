"""Dead ends: calls a team has learned not to make again on a task.

A call that failed on a task (a tool's error, the same call made twice in a row, a person's
rejection) and a final answer that scored low are learned as tool-tier heuristics that read
``Do not call CALL: why``. A small model reads such advice and makes the call anyway, so the
agent loop does not leave it to the prompt: when an agent proposes a call that a
near-identical earlier task learned as a dead end, it is asked again with that choice taken
out of its schema (see :class:`DeadEnds`). The lessons are not shown in the prompt, whose few
lines go to advice the model can use.

Only near-identical tasks count. The same call can be right on another task, and a tool's
result depends on its arguments and the workspace, which a repeated task sets up alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from purpose_desktop.engine.history import call_text
from purpose_desktop.engine.learning.memory import Heuristic, Tier
from purpose_desktop.engine.text import similarity
from purpose_desktop.engine.trajectory import Action

PREFIX = "Do not call "
TIER = Tier.TOOL
CALL_CHARS = 80
"""The short form of a call that names it in a lesson; each argument keeps about half. It is
kept short so that the whole call survives when the lesson's text is cut."""
SAME_TASK = 0.8
"""How alike (content words) a lesson's task and the task at hand must be for the lesson to
block a call."""
LOOKUP = 50
"""How many of the team's tool heuristics most like the task are looked through for them."""
WRONG_ANSWER_PHI = 2.0
"""A final answer scored this low (by the critic or a person) is a dead end."""


def call_key(action: Action) -> str:
    """The call as a lesson names it: ``calculator(expression=17*24)``."""
    return call_text(action, CALL_CHARS)


def lesson(action: Action, why: str) -> str:
    """The strategy of a dead-end heuristic: ``Do not call calculator(expression=x): why``."""
    return f"{PREFIX}{call_key(action)}: {why}"


def is_lesson(heuristic: Heuristic) -> bool:
    """Whether ``heuristic`` is a dead end."""
    return heuristic.tier == TIER and heuristic.strategy.startswith(PREFIX)


@dataclass(frozen=True)
class DeadEnds:
    """The dead ends that hold for one task."""

    heuristics: tuple[Heuristic, ...] = ()

    @classmethod
    def for_task(cls, heuristics: Sequence[Heuristic], task: str) -> DeadEnds:
        """Those of ``heuristics`` that are dead ends learned on a task like ``task``."""
        return cls(
            tuple(
                h for h in heuristics if is_lesson(h) and similarity(h.pattern, task) >= SAME_TASK
            )
        )

    def lesson_for(self, action: Action) -> Heuristic | None:
        """The lesson that rules ``action`` out, if any."""
        start = f"{PREFIX}{call_key(action)}: "
        return next((h for h in self.heuristics if h.strategy.startswith(start)), None)
