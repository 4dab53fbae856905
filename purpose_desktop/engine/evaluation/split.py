"""Splitting a suite into the tasks a team learns on and the tasks it is tested on.

A held-out benchmark asks whether what a team learned helps on tasks it has not seen. The split
is made per family (:attr:`~.suites.SuiteTask.family`): each family gives about ``fraction`` of
its tasks to the test part and keeps at least one for training, so every test task of a family
has a relative the team could learn from. Tasks without a family are pooled and split alike
(the pool keeps one for training). The same seed always gives the same split.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from purpose_desktop.engine.evaluation.suites import SuiteTask

MAX_HOLDOUT = 0.9
"""The largest share of a suite that may be held out: the rest must leave something to learn."""


@dataclass(frozen=True)
class Split:
    """The tasks learned on and the tasks held out, each in the suite's order."""

    training: tuple[SuiteTask, ...]
    test: tuple[SuiteTask, ...]


def split_tasks(tasks: Sequence[SuiteTask], fraction: float, seed: int) -> Split:
    """``tasks`` split with about ``fraction`` (above 0, at most :data:`MAX_HOLDOUT`) held out,
    family by family, drawn with ``seed``. ``ValueError`` when the fraction is out of range or
    the suite is too small to hold any task out."""
    if not 0.0 < fraction <= MAX_HOLDOUT:
        raise ValueError(f"the held-out share must be above 0 and at most {MAX_HOLDOUT:g}")
    rng = random.Random(seed)
    held: set[str] = set()
    for group in _groups(tasks):
        ids = [task.id for task in group]
        rng.shuffle(ids)
        # Half up, as a person rounds; one task of the group always stays to learn from.
        count = min(len(ids) - 1, math.floor(len(ids) * fraction + 0.5))
        held.update(ids[:count])
    if not held:
        raise ValueError(
            f"holding out {fraction:.0%} leaves no test task: each family (and the tasks "
            "without one) needs two tasks or more to keep one for training and test another"
        )
    return Split(
        tuple(task for task in tasks if task.id not in held),
        tuple(task for task in tasks if task.id in held),
    )


def _groups(tasks: Sequence[SuiteTask]) -> list[list[SuiteTask]]:
    """The families of ``tasks`` in the order they first appear, the tasks without one pooled
    last."""
    families: dict[str, list[SuiteTask]] = {}
    loose: list[SuiteTask] = []
    for task in tasks:
        if task.family is None:
            loose.append(task)
        else:
            families.setdefault(task.family, []).append(task)
    return [*families.values(), *([loose] if loose else [])]
