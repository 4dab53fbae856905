"""What a team learns from a finished run: new heuristics, Q-value updates and an experience.

Distillation is rule-based, not a model call: a 135M model cannot be trusted to summarise its
own run, while the trajectory holds the facts (which calls raised Φ, which failed, what a
person rejected, whether a check passed).

What worked is learned for the kind of task: the pattern is the task with its numbers taken
out (``A crate holds # apples…``) and the strategy names the tools and the shape of their
calls (``calculator(expression=#*#)``), so a lesson applies to a task of the same kind with
other numbers, and retrieval compares tasks without their numbers
(:func:`~purpose_desktop.engine.text.kind_similarity`). What failed stays specific: a dead end
names the very call, on the very task.

Dead ends come only from evidence: a tool's error, a person's rejection or low score, or a
failed check. The critic's Φ alone never makes one: it scores right answers low too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from purpose_desktop.engine.events import RunStatus
from purpose_desktop.engine.history import call_text
from purpose_desktop.engine.learning import dead_ends, plans
from purpose_desktop.engine.learning.memory import Experience, Heuristic, Tier
from purpose_desktop.engine.text import shorten, without_numbers
from purpose_desktop.engine.tools.calculator import result_of
from purpose_desktop.engine.trajectory import DELEGATE, FINISH, Action, Step

REJECTED_PREFIX = "Rejected by a person"
MAX_TEXT = 160
PROGRESS_PHI = 5.0
"""Φ from which a state counts as real progress: a run ending there succeeded, and a call
that raised Φ to it worked. A rise from 0 to 1 taught small models to repeat useless calls."""


@dataclass(frozen=True)
class Verdict:
    """What a check that knows the task said of a run: whether it ``passed``, and whether it
    judged the final answer (``answer_checked``) or something else, such as a file the run
    had to write (then a wrong answer is no evidence, nor are the calls that gave it)."""

    passed: bool
    answer_checked: bool = True


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
    verdict: Verdict | None = None
    """What a check that knows the task said (``None``: no check, Φ decides)."""

    @property
    def final_phi(self) -> float:
        return self.steps[-1].phi_after if self.steps else 0.0

    @property
    def succeeded(self) -> bool:
        """Whether the run did its task: as its check says, else by its final Φ."""
        if self.verdict is not None:
            return self.verdict.passed
        return self.status == "completed" and self.final_phi >= PROGRESS_PHI

    @property
    def judged(self) -> bool:
        """Whether the outcome is known: checked, or a final score that is a judgement and not
        the stand-in given when the critic could not answer, which nothing is learned from."""
        return self.verdict is not None or not self.steps or self.steps[-1].judged

    @property
    def evidenced(self) -> bool:
        """Whether the outcome is known from more than the critic: a check, or a person's
        score of the final state."""
        return self.verdict is not None or (bool(self.steps) and self.steps[-1].scored_by_person)

    @property
    def wrong_answer(self) -> bool:
        """Whether a check found the final answer wrong (not merely the run failed)."""
        return self.verdict is not None and self.verdict.answer_checked and not self.verdict.passed

    @property
    def tool_steps(self) -> list[Step]:
        """The steps that called a tool (not finishing, nor handing work over)."""
        return [step for step in self.steps if step.action.tool not in (FINISH, DELEGATE)]

    def plan_calls(self) -> list[Action]:
        """The calls a plan of this run needs (see :func:`~.plans.plan_calls`)."""
        checked_answer = self.verdict is None or self.verdict.answer_checked
        return plans.plan_calls(self.tool_steps, self.answer if checked_answer else None)

    @property
    def reward(self) -> float:
        """The run's reward for the heuristics and experiences it used, 0 to 1: 1 or 0 as its
        check says; without one its final Φ, halved if it did not complete."""
        if self.verdict is not None:
            return 1.0 if self.verdict.passed else 0.0
        scale = 10.0 if self.status == "completed" else 20.0
        return min(1.0, self.final_phi / scale)


def distil(result: RunResult) -> list[Heuristic]:
    """The heuristics worth keeping from ``result``."""
    learned: list[Heuristic] = []
    task = shorten(result.task, MAX_TEXT)
    kind = without_numbers(task)

    def keep(tier: Tier, strategy: str, q_value: float = 0.5, *, pattern: str = task) -> None:
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

    needed = result.plan_calls() if result.succeeded else []
    for index, step in enumerate(result.steps):
        action = step.action
        earlier = result.steps[:index]
        if (
            action.tool in (FINISH, DELEGATE)
            or _worked_before(step, earlier)
            or plans.gives_again(step, earlier)
        ):
            # A call that worked earlier in the run is not a dead end when it is made again
            # (and not run again): it is the right call, whose answer was already there. Nor
            # is one that worked a result out once more worth teaching.
            continue
        if step.observation.text.startswith(REJECTED_PREFIX):
            keep(dead_ends.TIER, dead_ends.lesson(action, step.observation.text), 0.6)
        elif not step.observation.ok:
            keep(
                dead_ends.TIER, dead_ends.lesson(action, f"it failed: {step.observation.text}"), 0.4
            )
        elif _worked(step, result, needed):
            # Numbers out of what it gave, too: a sibling task shown "408" copies it. The call
            # as it should be made: a claimed result shown is a claimed result copied, and
            # a wrong one takes the run on a detour.
            call = plans.without_claim(action).to_json(with_thought=False)
            gave = shorten(result_of(step.observation.text), 60)
            keep(
                Tier.TOOL,
                f"{without_numbers(call)} worked: it gave {without_numbers(gave)}",
                pattern=kind,
            )
    if result.judged:  # otherwise what the run's end says about the task is unknown
        for tier, strategy, q_value, pattern in _outcome_lessons(result, task, kind):
            keep(tier, strategy, q_value, pattern=pattern)
    return learned


def _outcome_lessons(result: RunResult, task: str, kind: str) -> list[tuple[Tier, str, float, str]]:
    """What the run's outcome teaches: (tier, strategy, Q-value, pattern) of each lesson."""
    found: list[tuple[Tier, str, float, str]] = []
    tool_steps = result.tool_steps
    if result.succeeded and tool_steps:
        # A plan the loop can follow on a task of this kind, where every number of its calls
        # is one of the task's; otherwise the calls' shape, for the model to read.
        needed = result.plan_calls() or [step.action for step in tool_steps]
        calls = " → ".join(without_numbers(call_text(call, 60)) for call in needed)
        strategy = plans.plan_strategy(result.task, needed)
        if strategy is None or len(strategy) > MAX_TEXT:  # a plan cut short is none
            strategy = f"{plans.PREFIX}{calls} → {plans.FINISHING}"
        found.append((Tier.PROCEDURAL, strategy, 0.6, kind))
    if result.status == "failed" and len(result.steps) > 1 and not result.succeeded:
        found.append(
            (
                Tier.STRATEGIC,
                "This kind of task ran out of steps before: finish as soon as "
                "an observation gives the answer.",
                0.5,
                kind,
            )
        )
    if result.status != "completed" or result.succeeded:
        return found
    lesson = _low_scored_answer(result)
    if lesson is not None:
        found.append((Tier.STRATEGIC, lesson, 0.5, task))
    wrong = _wrong_answer(result)
    if wrong is not None:
        found.append((dead_ends.TIER, dead_ends.lesson(result.steps[-1].action, wrong), 0.4, task))
    if result.wrong_answer:
        why = "its result was the answer the task's check found wrong"
        found.extend(
            (dead_ends.TIER, dead_ends.lesson(step.action, why), 0.4, task)
            for step in tool_steps
            if _from_a_tool(result, (step,))
        )
    return found


def _worked(step: Step, result: RunResult, needed: Sequence[Action]) -> bool:
    """Whether ``step``'s call is worth learning as one that works: one of the calls its run
    ``needed`` when its check passed, or (without a check) one the critic scored as real
    progress."""
    if result.verdict is not None:
        call = plans.without_claim(step.action)
        return any((call.tool, call.arguments) == (n.tool, n.arguments) for n in needed)
    return step.judged and step.reward > 0 and step.phi_after >= PROGRESS_PHI


def _wrong_answer(result: RunResult) -> str | None:
    """Why the run's final answer is a dead end, if there is evidence that it is wrong: its
    check failed, or a person scored it low. The critic alone scores right answers low too,
    and a dead end takes the answer away for good."""
    last = result.steps[-1] if result.steps else None
    if last is None or last.action.tool != FINISH:
        return None
    if result.wrong_answer:
        return "the task's check found the answer wrong"
    if last.scored_by_person and result.final_phi <= dead_ends.WRONG_ANSWER_PHI:
        return f"a person scored the answer Φ {result.final_phi:.0f} of 10"
    return None


def _worked_before(step: Step, earlier: Sequence[Step]) -> bool:
    """Whether one of the ``earlier`` steps made the same call as ``step``, and it worked."""
    return any(
        before.observation.ok
        and before.action.tool == step.action.tool
        and before.action.arguments == step.action.arguments
        for before in earlier
    )


def _low_scored_answer(result: RunResult) -> str | None:
    """The lesson of an answer that scored low (by the critic or a person) or that its check
    found wrong: a small model otherwise gives the same answer again, all the more as its past
    run shows it that one. None for an answer the critic alone scored low although it is what
    a tool gave (the lesson would advise what was done), and for a team without tools (it
    would advise what cannot be done)."""
    answer = shorten(result.answer.strip() or "(empty)", 40)
    scored = (
        f"The answer {answer!r} was wrong"
        if result.wrong_answer
        else f"The answer {answer!r} scored Φ {result.final_phi:.0f} of 10"
    )
    tool_steps = result.tool_steps
    if not tool_steps:
        if not result.has_tools:
            return None
        return f"{scored}: work the answer out with a tool first, then finish with its result."
    if _from_a_tool(result, tool_steps) and (
        result.wrong_answer or not result.steps[-1].scored_by_person
    ):
        # The answer is what a tool gave: finishing with it was right, the call was not (a
        # checked run learns that call as a dead end instead).
        return None
    # "Another number" where the answer was one, as on the arithmetic tasks this was
    # measured on; a text answer is told the same in its own words.
    answer_words = result.answer.split()
    number = len(answer_words) <= 3 and any(c.isdigit() for c in result.answer)  # "408 apples"
    other = "another number" if number else "another answer"
    return f"{scored}: finish with what the tools gave, not with {other}."


def _from_a_tool(result: RunResult, tool_steps: Sequence[Step]) -> bool:
    return any(
        step.observation.ok and plans.holds_answer(step.observation.text, result.answer)
        for step in tool_steps
    )


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
