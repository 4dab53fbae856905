"""What a team learns from a finished run: new heuristics, Q-value updates and an experience.

Distillation is rule-based, not a model call: a 135M model cannot be trusted to summarise its
own run, while the trajectory holds the facts (which calls raised Φ, which failed, what a
person rejected). Each heuristic's pattern is the task, so retrieval by text finds it again
for similar tasks; its strategy is short and concrete, often the very action that worked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from purpose_desktop.engine.events import RunStatus
from purpose_desktop.engine.history import call_text
from purpose_desktop.engine.learning import dead_ends
from purpose_desktop.engine.learning.memory import Experience, Heuristic, Tier
from purpose_desktop.engine.text import shorten
from purpose_desktop.engine.trajectory import DELEGATE, FINISH, Step

REJECTED_PREFIX = "Rejected by a person"
MAX_TEXT = 160
PROGRESS_PHI = 5.0
"""Φ from which a state counts as real progress: a run ending there succeeded, and a call
that raised Φ to it worked. A rise from 0 to 1 taught small models to repeat useless calls."""


@dataclass(frozen=True)
class RunResult:
    """A run as learning sees it."""

    team: str
    run_id: str
    task: str
    status: RunStatus
    answer: str
    steps: tuple[Step, ...]
    has_tools: bool = True
    """Whether any agent of the team had a tool: advice to use one is no use otherwise."""

    @property
    def final_phi(self) -> float:
        return self.steps[-1].phi_after if self.steps else 0.0

    @property
    def succeeded(self) -> bool:
        return self.status == "completed" and self.final_phi >= PROGRESS_PHI

    @property
    def judged(self) -> bool:
        """Whether the final score is a judgement: not the stand-in given when the critic
        could not answer, which nothing is learned from."""
        return not self.steps or self.steps[-1].judged

    @property
    def reward(self) -> float:
        """The run's reward for the heuristics it used, 0 to 1: its final Φ, halved if it
        did not complete."""
        scale = 10.0 if self.status == "completed" else 20.0
        return min(1.0, self.final_phi / scale)


def distil(result: RunResult) -> list[Heuristic]:
    """The heuristics worth keeping from ``result``."""
    learned: list[Heuristic] = []

    pattern = shorten(result.task, MAX_TEXT)

    def keep(tier: Tier, strategy: str, q_value: float = 0.5) -> None:
        strategy = shorten(strategy, MAX_TEXT)
        if any(h.tier == tier and h.strategy == strategy for h in learned):
            return  # the same lesson from two steps of one run is one lesson
        learned.append(
            Heuristic(
                team=result.team,
                tier=tier,
                pattern=pattern,
                strategy=strategy,
                q_value=q_value,
                run_ids=(result.run_id,),
            )
        )

    for index, step in enumerate(result.steps):
        action = step.action
        if action.tool in (FINISH, DELEGATE) or _worked_before(step, result.steps[:index]):
            # A call that worked earlier in the run is not a dead end when it is made again
            # (and not run again): it is the right call, whose answer was already there.
            continue
        if step.observation.text.startswith(REJECTED_PREFIX):
            keep(dead_ends.TIER, dead_ends.lesson(action, step.observation.text), 0.6)
        elif not step.observation.ok:
            keep(
                dead_ends.TIER, dead_ends.lesson(action, f"it failed: {step.observation.text}"), 0.4
            )
        elif step.judged and step.reward > 0 and step.phi_after >= PROGRESS_PHI:
            keep(
                Tier.TOOL,
                f"{action.to_json(with_thought=False)} worked: it gave "
                f"{shorten(step.observation.text, 60)}",
            )
    if not result.judged:
        return learned  # what the run's end says about the task is unknown
    calls = [call_text(step.action, MAX_TEXT) for step in result.steps]
    if result.succeeded and calls:
        keep(Tier.PROCEDURAL, "Steps that worked: " + " → ".join(calls), 0.6)
    if result.status == "failed" and len(result.steps) > 1 and not result.succeeded:
        keep(
            Tier.STRATEGIC,
            "This kind of task ran out of steps before: finish as soon as "
            "an observation gives the answer.",
            0.5,
        )
    if result.status == "completed" and not result.succeeded:
        lesson = _low_scored_answer(result)
        if lesson is not None:
            keep(Tier.STRATEGIC, lesson, 0.5)
        # Only a person's low score makes an answer a dead end: the critic alone scores right
        # answers low too, and a dead end takes the answer away for good.
        last = result.steps[-1]
        if (
            last.action.tool == FINISH
            and last.scored_by_person
            and result.final_phi <= dead_ends.WRONG_ANSWER_PHI
        ):
            keep(
                dead_ends.TIER,
                dead_ends.lesson(
                    last.action, f"a person scored the answer Φ {result.final_phi:.0f} of 10"
                ),
                0.4,
            )
    return learned


def _worked_before(step: Step, earlier: Sequence[Step]) -> bool:
    """Whether one of the ``earlier`` steps made the same call as ``step``, and it worked."""
    return any(
        before.observation.ok
        and before.action.tool == step.action.tool
        and before.action.arguments == step.action.arguments
        for before in earlier
    )


def _low_scored_answer(result: RunResult) -> str | None:
    """The lesson of an answer that scored low (by the critic or a person): a small model
    otherwise gives the same answer again, all the more as its past run shows it that one.
    None for an answer the critic alone scored low although it is what a tool gave (the
    lesson would advise what was done), and for a team without tools (it would advise what
    cannot be done)."""
    answer = shorten(result.answer.strip() or "(empty)", 40)
    scored = f"The answer {answer!r} scored Φ {result.final_phi:.0f} of 10"
    tool_steps = [step for step in result.steps if step.action.tool not in (FINISH, DELEGATE)]
    if not tool_steps:
        if not result.has_tools:
            return None
        return f"{scored}: work the answer out with a tool first, then finish with its result."
    given = result.answer.strip()
    if (
        given
        and not result.steps[-1].scored_by_person
        and any(step.observation.ok and given in step.observation.text for step in tool_steps)
    ):
        return None
    return f"{scored}: finish with what the tools gave, not with another number."


def experience(result: RunResult) -> Experience:
    summary = " → ".join(
        f"{call_text(step.action, MAX_TEXT)} ⇒ {shorten(step.observation.text, 40)}"
        for step in result.steps
    )
    return Experience(
        team=result.team,
        task=result.task,
        summary=summary or "(no steps)",
        outcome=result.status,
        final_phi=result.final_phi,
        steps=len(result.steps),
        run_id=result.run_id,
        q_value=result.reward,
    )


def used_heuristics(steps: Sequence[Step]) -> list[int]:
    """The ids of the heuristics shown to the agents during the run, each once."""
    return list(dict.fromkeys(i for step in steps for i in step.heuristic_ids))
