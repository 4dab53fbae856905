"""The last link of the chain that reads an action: a rule, when the model gave none.

After a constrained answer and a retry with a simpler prompt both fail to give a usable
action, a step would fail. Two rules still make progress where what to do is plain:

- at the start, a task that holds an arithmetic expression goes to the calculator, if the
  agent has it;
- after the calculator or a teammate gave a result, the agent finishes with it (the loop's
  own hint says as much, and a small model that cannot write an action usually could not
  improve it). Other tools' output is not an answer as it stands.

And where the agent proposed again its latest call that worked, and then, asked to answer
with it, wrote no usable answer either, it finishes with what that call gave
(:func:`answered_by_repeat`): the call was refused because its result was already there. So
it does when the answer it wrote holds nothing of that result (:func:`answered_apart_from`).

Anything else is left to fail: a guess would be worse than a clear error.

One rule reads an answer the model did give: an answer that only repeats a thought the agent
wrote before its tools gave their results cannot hold what they found, and the agent finishes
with the last result instead (:func:`answered_by_tools`). SmolLM2, after creating a folder,
answered with its first step's thought, "This is a task that requires a tool to create a
folder in the current directory."

One rule does not wait for the model: once the calculator has worked out the very expression
the task holds, its result is the answer (:func:`answered_by_calculator`). A small model
shown that result goes on calling tools, or finishes with a number of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from purpose_desktop.engine.text import ARITHMETIC, STOP_WORDS, one_line
from purpose_desktop.engine.tools.base import NOTHING_GIVEN, Tool
from purpose_desktop.engine.tools.calculator import CALCULATOR
from purpose_desktop.engine.trajectory import DELEGATE, FINISH, Action, Exchange

RULE_THOUGHT = "chosen by rule: the model gave no usable action"
REPEAT_THOUGHT = "chosen by rule: the model proposed again a call that worked, then no answer"
ANSWERED_THOUGHT = "chosen by rule: the calculator worked out the task's expression"
APART_THOUGHT = "chosen by rule: the answer held nothing of the result it was asked to answer with"
ECHO_THOUGHT = "chosen by rule: the answer repeated a thought written before the tools' results"
_ANSWERED: Final = re.compile(r"^[\w.-]+ answered: ")
_BETWEEN_WORDS: Final = re.compile(r"[^\w./+-]+")  # "[FILE] plan.txt": "FILE", "plan.txt"
_WORDS: Final = {"times": "*", "plus": "+", "minus": "-", "x": "*"}


def rule_action(
    task: str, last: Exchange | None, tools: Sequence[Tool], *, can_finish: bool
) -> Action | None:
    """The action the rules give for ``task`` with ``last`` the latest exchange (``None``
    before the first step), among ``tools``; ``None`` when no rule applies."""
    if last is None:
        found = ARITHMETIC.search(task)
        if found is not None and any(tool.name == CALCULATOR.name for tool in tools):
            return Action(CALCULATOR.name, {"expression": _symbols(found.group())}, RULE_THOUGHT)
        return None
    if not (can_finish and last.observation.ok):
        return None
    if last.action.tool not in (CALCULATOR.name, DELEGATE):
        return None
    return _finishing(one_line(_ANSWERED.sub("", last.observation.text)), RULE_THOUGHT)


def answered_by_repeat(told: Exchange | None) -> Action | None:
    """Finishing with what ``told`` gave, whole: the agent's latest call that worked,
    proposed again, which it is shown once more while asked to answer; ``None`` without
    one, or when it gave nothing."""
    if told is None:
        return None
    return _finishing(told.observation.text.strip(), REPEAT_THOUGHT)


def answered_apart_from(
    action: Action, told: Exchange | None, task: str, exchanges: Sequence[Exchange]
) -> Action | None:
    """Finishing with the last result of ``exchanges`` (the turn's so far), whole, when
    ``action``, the agent's answer once asked to answer with what ``told`` gave, holds no
    number and none of the words of that result or of ``task`` (short ones and common ones
    aside, a plural as its singular); ``None`` otherwise. The result is ``told``'s, unless
    ``told`` gave nothing back ("done", which SmolLM2 then copies). Asked to answer with
    "[FILE] plan.txt", SmolLM2 wrote "The plan is finished with the an_a"; a number may be
    worked out from the result, and a word of the task may say what came of it ("Folder
    created")."""
    if told is None or action.tool != FINISH:
        return None
    answer = str(action.arguments.get("answer", ""))
    result = _last_result(exchanges)
    if re.search(r"\d", answer) or _words(answer) & (_words(result) | _words(task)):
        return None
    return _finishing(result, APART_THOUGHT)


def _words(text: str) -> set[str]:
    found = (word.strip(".").casefold() for word in _BETWEEN_WORDS.split(text))
    return {_singular(word) for word in found if len(word) > 1 and word not in STOP_WORDS}


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def answered_by_tools(action: Action, exchanges: Sequence[Exchange]) -> Action | None:
    """Finishing with the last result a tool or teammate gave, whole, when ``action``
    finishes with an answer that is, but for case and spaces, the thought of one of
    ``exchanges`` (the turn's so far) that came before that result; ``None`` otherwise, or
    when no result came after that thought."""
    if action.tool != FINISH:
        return None
    answer = _plain(str(action.arguments.get("answer", "")))
    if not answer:
        return None
    at = next((i for i, e in enumerate(exchanges) if _plain(e.action.thought) == answer), None)
    if at is None:
        return None
    return _finishing(_last_result(exchanges[at:]), ECHO_THOUGHT)


def _last_result(exchanges: Sequence[Exchange]) -> str:
    """The last thing a call of ``exchanges`` that worked gave back (a teammate: what it
    answered); "" when none gave anything."""
    for exchange in reversed(exchanges):
        text = _ANSWERED.sub("", exchange.observation.text).strip()
        if exchange.observation.ok and text and text != NOTHING_GIVEN:
            return text
    return ""


def _plain(text: str) -> str:
    return " ".join(text.split()).casefold().rstrip(".!")


def answered_by_calculator(task: str, last: Exchange | None) -> Action | None:
    """Finishing with the calculator's result when ``last`` (the latest exchange) worked out
    the arithmetic expression ``task`` holds, spaces aside; ``None`` otherwise."""
    if last is None or last.action.tool != CALCULATOR.name or not last.observation.ok:
        return None
    found = ARITHMETIC.search(task)
    given = last.action.arguments.get("expression")
    if (
        found is None
        or not isinstance(given, str)
        or _bare(given) != _bare(_symbols(found.group()))
    ):
        return None
    return _finishing(one_line(last.observation.text), ANSWERED_THOUGHT)


def _finishing(answer: str, thought: str) -> Action | None:
    """Finishing with ``answer``, as chosen for ``thought``; ``None`` when it is empty. A
    calculator's or a teammate's answer is given on one line (``one_line``), another tool's
    result whole (all the lines of a listing or a file)."""
    return Action(FINISH, {"answer": answer}, thought) if answer else None


def _bare(expression: str) -> str:
    return "".join(expression.split())


def _symbols(expression: str) -> str:
    return re.sub(
        r"\b(?:times|plus|minus|x)\b",
        lambda word: _WORDS[word.group().lower()],
        expression.strip(),
        flags=re.IGNORECASE,
    )
