"""Plans: the calls that solved a task, written with the task's own numbers as placeholders, so
that they can be followed on a task of the same kind with other numbers.

A run that checked out with ``calculator(expression=24*17)`` on "A crate holds 24 apples. How
many apples are in 17 crates?" teaches the plan ``{"tool": "calculator", "expression":
"#1*#2"}`` (``#1`` is the task's first number, ``#2`` its second) and then "finish with its
result". On "A box holds 36 eggs. How many eggs are in 13 boxes?" the plan reads
``calculator(expression=36*13)``. A small model shown such a lesson rarely follows it, so the
agent loop does (as it keeps to dead ends): a plan is an approach, tried first and put to review
like any action; a plan that leads to a wrong answer loses its Q-value and the call becomes a
dead end on that task.

A call whose numbers are not all the task's (one copied from an earlier observation), or
that uses a number the task gives twice, cannot be replayed and makes no plan. A plan is
followed only on a task with as many numbers as its own, and whose words hold every word of
its calls (a plan that wrote hello.txt is no plan for a task about greeting.txt).

A task whose own way was shown wrong (it has a dead end: a failed check, a tool's error, a
person's rejection or low score) and on which no plan of its kind is followed borrows one: the
trusted plan of the nearest other kind that fits it (:func:`borrowable`). A train covering 85
km an hour for 6 hours is not a crate of apples, but the plan "#1*#2" learned on crates fits
it. If the run succeeds, it teaches a plan of the task's own kind, which its siblings then
follow; if a check finds its answer wrong, its call becomes a dead end on that task and the
next plan is borrowed the next time. A borrowed plan's own Q-value is left alone either way:
how it does on another kind of task says nothing of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from purpose_desktop.engine.learning.memory import Heuristic, Tier
from purpose_desktop.engine.text import ARITHMETIC, NUMBER, kind_similarity, one_line
from purpose_desktop.engine.tools.calculator import CALCULATOR, result_of
from purpose_desktop.engine.trajectory import FINISH, Action, Exchange, Step

PREFIX = "Steps that worked: "
FINISHING = "finish with its result"
PLAN_THOUGHT = "following the steps that worked on tasks of this kind"
BORROWED_THOUGHT = (
    "this task's own way was wrong before: trying the steps that worked on another kind of task"
)
TRUSTED = 0.5
"""The Q-value a plan must have to be followed: a new one starts above it, and one that led
to a wrong answer falls below it at once."""
CLAIMED = "expression"
"""The argument whose trailing ``= n`` is a claimed result rather than part of the call (the
calculator's: ``17 * 24 = 400`` is worked out as 17 * 24, and the claim is often wrong)."""
_PLACEHOLDER = re.compile(r"#(\d+)")
_CLAIM = re.compile(r"\s*=\s*-?\d+(?:[.,]\d+)*\s*$")
_LETTERS = re.compile(r"[^\W\d_]+")
_JSON = json.JSONDecoder()


def task_numbers(task: str) -> list[str]:
    """The numbers of ``task`` in order, thousands separators dropped (``1,250`` is 1250)."""
    return [found.replace(",", "") for found in NUMBER.findall(task)]


def without_claim(call: Action) -> Action:
    """``call`` without the result its :data:`CLAIMED` argument claims at its end."""
    value = call.arguments.get(CLAIMED)
    if not isinstance(value, str):
        return call
    return Action(call.tool, {**call.arguments, CLAIMED: _CLAIM.sub("", value)}, call.thought)


def plan_calls(steps: Sequence[Step], answer: str | None) -> list[Action]:
    """The calls of ``steps`` (tool steps of a run that did its task) a plan needs: those that
    worked, each once and without a claimed result; where ``answer`` is what the task was
    checked by, up to the one whose output gave it (later calls were detours). A calculator
    call that only gave again what an earlier one gave (see :func:`gives_again`) is a detour
    too, and where its output held the answer, the plan ends with the call that gave it
    first: a plan finishes with its last call's result."""
    calls: list[Action] = []
    results: list[str] = []  # what each of the calls gave
    for index, step in enumerate(steps):
        if not step.observation.ok:
            continue
        call = without_claim(step.action)
        gave = result_of(step.observation.text)
        detour = gives_again(step, steps[:index])
        if not detour and all(
            (call.tool, call.arguments) != (kept.tool, kept.arguments) for kept in calls
        ):
            calls.append(call)
            results.append(gave)
        if answer is not None and holds_answer(step.observation.text, answer):
            if detour and gave in results:
                del calls[results.index(gave) + 1 :]
            break
    return calls


def gives_again(step: Step, earlier: Sequence[Step]) -> bool:
    """Whether ``step`` is a calculator call that only gave a number one of the ``earlier``
    calculator calls gave: the model working its own result out once more (``23*17`` gave
    391, then ``391``). Its number came from an observation, so it is no step of a plan nor a
    call worth teaching."""
    if step.action.tool != CALCULATOR.name or not step.observation.ok:
        return False
    gave = result_of(step.observation.text)
    return _is_number(gave) and any(
        before.action.tool == CALCULATOR.name
        and before.observation.ok
        and result_of(before.observation.text) == gave
        for before in earlier
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def holds_answer(output: str, answer: str) -> bool:
    """Whether ``answer`` is in ``output`` as a whole (``4`` is not in ``408``)."""
    given = answer.strip()
    return bool(given) and re.search(rf"(?<!\w){re.escape(given)}(?!\w)", output) is not None


def plan_strategy(task: str, calls: Sequence[Action]) -> str | None:
    """The strategy of a plan of ``calls`` (tool calls, in order) learned on ``task``; ``None``
    when there are none, or a call holds a number the task does not (it cannot be replayed)
    or one the task gives twice (which of them it is cannot be told)."""
    if not calls:
        return None
    numbers = task_numbers(task)
    written: list[str] = []
    for call in calls:
        arguments = {}
        for key, value in call.arguments.items():
            placed = _placeholders(value, numbers)
            if placed is None:
                return None
            arguments[key] = placed
        written.append(json.dumps({"tool": call.tool, **arguments}, ensure_ascii=False))
    return f"{PREFIX}{' → '.join(written)} → {FINISHING}"


@dataclass(frozen=True)
class LearnedPlan:
    """The calls of a plan (with placeholders), and the heuristic it was read from."""

    heuristic: Heuristic
    calls: tuple[Action, ...]
    thought: str = PLAN_THOUGHT
    """The reason its actions give."""

    def fits(self, task: str) -> bool:
        """Whether every call of the plan can be made on ``task``: as many numbers as the
        task it was learned on, and no word the task does not hold."""
        numbers = task_numbers(task)
        if len(numbers) != self.heuristic.pattern.count("#"):
            return False
        words = _words(task)
        return all(_filled(call, numbers, words, self.thought) for call in self.calls)

    def next_action(
        self, task: str, done: Sequence[Exchange], answering: Collection[str]
    ) -> Action | None:
        """What the plan does next on ``task`` after ``done`` (the turn's exchanges so far):
        its next call with the task's numbers, or, once all of them are done, finishing with
        the last call's result when its tool is one of ``answering`` (whose output is an
        answer as it stands, as the calculator's is). ``None`` when the plan does not fit the
        task (not as many numbers as the task it was learned on, or words in its calls that
        the task does not hold: another file's name), the turn went another way (a call that
        differs, or that failed), or what is left is the model's to say."""
        numbers = task_numbers(task)
        if len(numbers) != self.heuristic.pattern.count("#"):
            return None
        for index, call in enumerate(self.calls):
            concrete = _filled(call, numbers, _words(task), self.thought)
            if concrete is None:
                return None
            if index == len(done):
                return concrete
            made = done[index]
            if not made.observation.ok or (made.action.tool, dict(made.action.arguments)) != (
                concrete.tool,
                dict(concrete.arguments),
            ):
                return None
        if len(done) != len(self.calls) or self.calls[-1].tool not in answering:
            return None
        answer = one_line(done[-1].observation.text)
        return Action(FINISH, {"answer": answer}, self.thought) if answer else None


def borrowable(
    heuristics: Sequence[Heuristic], task: str, tools: Collection[str]
) -> list[LearnedPlan]:
    """The trusted plans among ``heuristics`` (learned on any kind of task) that fit ``task``
    (as many numbers, no word its calls hold and the task does not), work on its numbers and
    call only ``tools``: those learned on the task's nearest kind first, then by Q-value, and
    of plans that make the same calls the first only. Their calls and finishing give
    :data:`BORROWED_THOUGHT` as the reason. None for a task that writes its arithmetic out
    (``7 * 6``)."""
    if ARITHMETIC.search(task):
        return []  # "What is 7 * 6?" says how to work it out: 7 + 6 is no way to try
    found: list[tuple[float, float, LearnedPlan]] = []
    for heuristic in heuristics:
        plan = read_plan(heuristic)
        if plan is None or heuristic.id is None or heuristic.q_value < TRUSTED:
            continue
        if any(call.tool not in tools for call in plan.calls):
            continue
        if not plan.fits(task):
            continue
        if not any(_PLACEHOLDER.search(str(v)) for c in plan.calls for v in c.arguments.values()):
            continue  # it takes nothing of the task: no approach to it (list_files() fits all)
        found.append((kind_similarity(heuristic.pattern, task), heuristic.q_value, plan))
    found.sort(key=lambda item: (-item[0], -item[1]))
    chosen: dict[str, LearnedPlan] = {}
    for _, _, plan in found:
        shape = json.dumps([(call.tool, dict(call.arguments)) for call in plan.calls])
        chosen.setdefault(shape, replace(plan, thought=BORROWED_THOUGHT))
    return list(chosen.values())


def read_plan(heuristic: Heuristic) -> LearnedPlan | None:
    """The plan ``heuristic`` holds, if it is one (a procedural lesson of JSON calls)."""
    if heuristic.tier != Tier.PROCEDURAL or not heuristic.strategy.startswith(PREFIX):
        return None
    text = heuristic.strategy[len(PREFIX) :]
    if not text.endswith(f" → {FINISHING}"):
        return None
    calls: list[Action] = []
    for part in text.removesuffix(f" → {FINISHING}").split(" → "):
        try:
            value, end = _JSON.raw_decode(part)
        except ValueError:
            return None
        if end != len(part) or not _is_call(value):
            return None
        tool = value.pop("tool")
        calls.append(Action(tool, value, PLAN_THOUGHT))
    return LearnedPlan(heuristic, tuple(calls))


def _is_call(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("tool"), str)
        and value["tool"] != FINISH
        and all(isinstance(item, str) for key, item in value.items() if key != "tool")
    )


def _placeholders(value: Any, numbers: Sequence[str]) -> str | None:
    """``value`` with each number written as the placeholder of the task's number it is;
    ``None`` if it is not text or holds a number the task does not hold exactly once."""
    if not isinstance(value, str):
        return None
    unplaced = False

    def place(found: re.Match[str]) -> str:
        nonlocal unplaced
        number = found.group().replace(",", "")
        if numbers.count(number) != 1:
            unplaced = True
            return number
        return f"#{numbers.index(number) + 1}"

    placed = NUMBER.sub(place, value)
    return None if unplaced else placed


def _filled(call: Action, numbers: Sequence[str], words: set[str], thought: str) -> Action | None:
    """``call`` with its placeholders replaced by ``numbers``; ``None`` if it needs more, or
    holds a word that is not among ``words`` (the task's)."""
    arguments: dict[str, str] = {}
    for key, value in call.arguments.items():
        text = str(value)
        needed = [int(index) for index in _PLACEHOLDER.findall(text)]
        if any(index < 1 or index > len(numbers) for index in needed):
            return None
        if not _words(text) <= words:
            return None
        arguments[key] = _PLACEHOLDER.sub(lambda found: numbers[int(found.group(1)) - 1], text)
    return Action(call.tool, arguments, thought)


def _words(text: str) -> set[str]:
    return {word.lower() for word in _LETTERS.findall(text)}
