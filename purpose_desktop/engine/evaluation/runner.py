"""Run a team on a suite for several iterations and measure how it improves.

Each arm of the benchmark is the same team under one condition:

- **learning on**: the team learns from every run, as it does in use;
- **learning off**: it never learns, the baseline;
- **with overrides**: it learns, and on the first iteration a simulated person who knows each
  task's outcome corrects Φ through the review gate, as a person in the app would.

A learning arm learns from each run's checked outcome, which the suite knows, rather than from
the critic's Φ alone (see ``judge`` of :meth:`~purpose_desktop.engine.loop.run.TeamRunner.run`).
With a held-out split (:mod:`.split`), the test tasks are run after each iteration's training
tasks with learning frozen: what they measure is what carries over to tasks not learned on.

Ablation arms tell which part of learning carries a gain: **without heuristics**, **without
dead ends** and **without experiences** learn as "learning on" does but never recall that kind
(all heuristics; only the dead ends, which the agent loop would keep the model from; past
runs); **overrides, no anchors** is "with overrides" with the person's score corrections never
shown to the critic again (see :mod:`.ablation`).

Every arm gets its own runner from the caller, with its own memory (wrapped in
:class:`.ablation.PartialRecall` for the arm's :attr:`Arm.hidden`): arms must not learn from
each other's runs. Each task runs in a fresh workspace, with the suite's setup files written
there first, and its outcome is decided by the task's check, never by the critic.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from statistics import fmean

from purpose_desktop.engine.evaluation.ablation import Recall
from purpose_desktop.engine.evaluation.checks import CheckResult, check_outcome
from purpose_desktop.engine.evaluation.split import MAX_HOLDOUT, Split, split_tasks
from purpose_desktop.engine.evaluation.suites import Check, Suite, SuiteTask
from purpose_desktop.engine.events import RunStatus
from purpose_desktop.engine.learning import lessons
from purpose_desktop.engine.learning.improvement import (
    ImprovementResult,
    ImprovementSeries,
    IterationMetrics,
    Part,
)
from purpose_desktop.engine.loop.run import RunOutcome, TeamRunner
from purpose_desktop.engine.review import (
    ActionDecision,
    ActionReviewRequest,
    AutoApprove,
    ReviewGate,
    ScoreDecision,
    ScoreReviewRequest,
)
from purpose_desktop.engine.specs import LoadedTeam, ReviewPolicy

#: The best and worst Φ: what a person who knows the outcome gives a state that settles it.
_RIGHT, _WRONG = 10.0, 0.0


class Arm(StrEnum):
    """A condition the team runs the suite under; its value names its series."""

    LEARNING_ON = "learning on"
    LEARNING_OFF = "learning off"
    WITH_OVERRIDES = "with overrides"
    # Ablations: learning on (with overrides for the last), recalling only part of what is
    # learned, to tell which part carries an improvement.
    WITHOUT_HEURISTICS = "without heuristics"
    WITHOUT_DEAD_ENDS = "without dead ends"
    WITHOUT_EXPERIENCES = "without experiences"
    OVERRIDES_WITHOUT_ANCHORS = "overrides, no anchors"

    @property
    def learns(self) -> bool:
        return self is not Arm.LEARNING_OFF

    @property
    def overrides(self) -> bool:
        """Whether a simulated person corrects Φ on the first iteration."""
        return self in (Arm.WITH_OVERRIDES, Arm.OVERRIDES_WITHOUT_ANCHORS)

    @property
    def hidden(self) -> frozenset[Recall]:
        """What the team's memory never hands back under this arm."""
        return {
            Arm.WITHOUT_HEURISTICS: frozenset({Recall.HEURISTICS}),
            Arm.WITHOUT_DEAD_ENDS: frozenset({Recall.DEAD_ENDS}),
            Arm.WITHOUT_EXPERIENCES: frozenset({Recall.EXPERIENCES}),
            Arm.OVERRIDES_WITHOUT_ANCHORS: frozenset({Recall.ANCHORS}),
        }.get(self, frozenset())


#: The arms a benchmark runs unless told otherwise.
ALL_ARMS: tuple[Arm, ...] = (Arm.LEARNING_ON, Arm.LEARNING_OFF, Arm.WITH_OVERRIDES)
ABLATION_ARMS: tuple[Arm, ...] = (
    Arm.WITHOUT_HEURISTICS,
    Arm.WITHOUT_DEAD_ENDS,
    Arm.WITHOUT_EXPERIENCES,
    Arm.OVERRIDES_WITHOUT_ANCHORS,
)


@dataclass(frozen=True)
class TaskRun:
    """How one task went in one iteration of one arm."""

    arm: Arm
    iteration: int
    task_id: str
    passed: bool
    detail: str
    reward: float
    """The run's reward by its Φ (0 to 1: its final Φ, halved if it did not complete), as the
    critic saw it; a learning arm learns from its check instead."""
    outcome: RunOutcome
    part: Part = "all"

    @property
    def line(self) -> str:
        """The run in one line: ``learning on, iteration 2, sum: passed``, with ``test`` or
        ``training`` after the iteration in a held-out benchmark."""
        mark = "passed" if self.passed else f"failed ({self.detail})"
        part = "" if self.part == "all" else f", {self.part}"
        return f"{self.arm.value}, iteration {self.iteration}{part}, {self.task_id}: {mark}"


@dataclass(frozen=True)
class Progress:
    """Reported after every task: ``done`` of ``total`` task runs are over, ``last`` the
    latest, in repeat ``repeat`` of ``repeats``."""

    done: int
    total: int
    last: TaskRun
    repeat: int = 1
    repeats: int = 1

    @property
    def line(self) -> str:
        """``[12/90] repeat 2 of 3: learning on, iteration 1, sum: passed``."""
        repeat = f"repeat {self.repeat} of {self.repeats}: " if self.repeats > 1 else ""
        return f"[{self.done}/{self.total}] {repeat}{self.last.line}"


@dataclass(frozen=True)
class Plan:
    """How a benchmark runs a suite: ``iterations`` per arm; with ``holdout`` (a share of the
    suite, 0 for none) the tasks split into a training and a test part; ``repeats`` times,
    each with fresh memories and, when tasks are held out, a split of its own drawn from
    ``seed`` and the repeat's number."""

    iterations: int
    holdout: float = 0.0
    repeats: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.iterations < 1:
            raise ValueError("iterations must be at least 1")
        if self.repeats < 1:
            raise ValueError("repeats must be at least 1")
        if not 0.0 <= self.holdout <= MAX_HOLDOUT:
            raise ValueError(f"the held-out share must be from 0 to {MAX_HOLDOUT:g}")

    def splits(self, suite: Suite) -> list[Split | None]:
        """The split of each repeat (``None``: the whole suite is learned on); ``ValueError``
        when the suite is too small for the held-out share."""
        if not self.holdout:
            return [None] * self.repeats
        return [
            split_tasks(suite.tasks, self.holdout, self.seed + repeat)
            for repeat in range(self.repeats)
        ]

    def task_runs(self, suite: Suite, arms: int) -> int:
        """How many times a task is run in all."""
        return self.repeats * self.iterations * arms * len(suite.tasks)


RunnerFor = Callable[[Arm], TeamRunner]
"""The runner of an arm: the same models, a memory of the arm's own."""


class OutcomeReview:
    """A person who knows how ``check`` decides the task: approves every action, and scores a
    state that settles the outcome as they know it (10 when the check passes, 0 for a final
    answer when it does not), keeping the critic's score otherwise. A settled state is scored
    even where the critic agrees: a person's high scores teach the critic as their low ones
    do."""

    def __init__(self, check: Check, workspace: Path) -> None:
        self._check = check
        self._workspace = workspace

    async def review_action(self, request: ActionReviewRequest) -> ActionDecision:
        return ActionDecision("approve")

    async def review_score(self, request: ScoreReviewRequest) -> ScoreDecision:
        answer = request.state.answer
        result = check_outcome(self._check, answer, self._workspace)
        if result.passed:
            phi = _RIGHT
        elif answer is not None:
            phi = _WRONG
        else:
            return ScoreDecision()  # not settled yet: the critic's judgement stands
        return ScoreDecision(phi, f"The task's known outcome: {result.detail}")


async def run_improvement(
    team: LoadedTeam,
    suite: Suite,
    iterations: int,
    runner_for: RunnerFor,
    *,
    arms: Sequence[Arm] = ALL_ARMS,
    split: Split | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> ImprovementResult:
    """Run every task of ``suite`` ``iterations`` times under each of ``arms`` and measure
    each iteration. With ``split``, each iteration runs the training tasks as above and then
    the test tasks with learning frozen (nothing is learned from them, and no person corrects
    them), each part measured on its own. Iterations go in turn across the arms, so a run
    stopped early has comparable progress in each. Cancelling the calling task stops it after
    ending the run under way as cancelled (and raises the cancellation)."""
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    if not arms:
        raise ValueError("at least one arm is needed")
    runners = {arm: runner_for(arm) for arm in arms}
    parts: tuple[tuple[Part, tuple[SuiteTask, ...]], ...] = (
        (("all", suite.tasks),)
        if split is None
        else (("training", split.training), ("test", split.test))
    )
    total = iterations * len(arms) * sum(len(tasks) for _, tasks in parts)
    done = 0
    series: dict[tuple[Arm, Part], list[IterationMetrics]] = {
        (arm, part): [] for arm in arms for part, _ in parts
    }
    for iteration in range(1, iterations + 1):
        for arm in arms:
            for part, tasks in parts:
                started = time.monotonic()
                runs: list[TaskRun] = []
                for task in tasks:
                    run = await _run_task(runners[arm], team, task, arm, iteration, part=part)
                    runs.append(run)
                    done += 1
                    if on_progress is not None:
                        on_progress(Progress(done, total, run))
                series[arm, part].append(_measure(iteration, runs, time.monotonic() - started))
    return ImprovementResult(
        suite=suite.name,
        team=team.spec.name,
        model=_model_of(team),
        created=datetime.now(UTC),
        series=tuple(
            ImprovementSeries(series_name(arm, part), tuple(series[arm, part]), arm.value, part)
            for arm in arms
            for part, _ in parts
        ),
        holdout=0.0 if split is None else len(split.test) / len(suite.tasks),
    )


def series_name(arm: Arm, part: Part) -> str:
    """The name of ``arm``'s series on ``part``: ``learning on · test``."""
    return arm.value if part == "all" else f"{arm.value} · {part}"


async def _run_task(
    runner: TeamRunner,
    team: LoadedTeam,
    task: SuiteTask,
    arm: Arm,
    iteration: int,
    *,
    part: Part,
) -> TaskRun:
    run_id = os.urandom(16).hex()
    workspace = runner.workspace_of(run_id)
    _write_setup_files(workspace, task.setup_files)
    learns = arm.learns and part != "test"
    overriding = arm.overrides and iteration == 1 and learns
    review: ReviewGate = OutcomeReview(task.check, workspace) if overriding else AutoApprove()

    async def check(status: RunStatus, answer: str) -> CheckResult:
        # Only a completed run has given an answer; a failed one may still have written files.
        given = answer if status == "completed" else None
        return await asyncio.to_thread(check_outcome, task.check, given, workspace)

    checked: dict[tuple[RunStatus, str], CheckResult] = {}

    async def judge(status: RunStatus, answer: str) -> lessons.Verdict:
        # The suite knows the outcome: learning takes it over the critic's Φ.
        result = checked[status, answer] = await check(status, answer)
        return lessons.Verdict(result.passed, answer_checked=task.check.judges_answer)

    outcome = await runner.run(
        _reviewed_always(team) if overriding else team,
        task.task,
        (),
        review,
        learn=learns,
        run_id=run_id,
        judge=judge if learns else None,
    )
    # A run that learned was checked as it ended, before it learned from the outcome.
    ended = (outcome.status, outcome.answer)
    result = checked[ended] if ended in checked else await check(*ended)
    reward = lessons.RunResult(
        team.spec.name, run_id, task.task, outcome.status, outcome.answer, outcome.steps
    ).reward
    return TaskRun(arm, iteration, task.id, result.passed, result.detail, reward, outcome, part)


def _write_setup_files(workspace: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        target = workspace / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _measure(iteration: int, runs: Sequence[TaskRun], seconds: float) -> IterationMetrics:
    outcomes = [run.outcome for run in runs]
    return IterationMetrics(
        iteration=iteration,
        success_rate=sum(run.passed for run in runs) / len(runs),
        average_phi=fmean(outcome.phi_curve[-1] for outcome in outcomes),
        average_steps=fmean(len(outcome.steps) for outcome in outcomes),
        average_reward=fmean(run.reward for run in runs),
        tokens=sum(o.usage.prompt_tokens + o.usage.completion_tokens for o in outcomes),
        seconds=seconds,
    )


def _reviewed_always(team: LoadedTeam) -> LoadedTeam:
    """``team`` with every agent's scores put to review: the only way a person's score
    override reaches the engine, so the simulated person takes the path a real one does."""
    agents = tuple(
        agent.model_copy(update={"review": ReviewPolicy.ALWAYS}) for agent in team.spec.agents
    )
    return team.model_copy(update={"spec": team.spec.model_copy(update={"agents": agents})})


def _model_of(team: LoadedTeam) -> str:
    models = sorted({agent.model for agent in team.spec.agents})
    return team.spec.default_model or ", ".join(models)
