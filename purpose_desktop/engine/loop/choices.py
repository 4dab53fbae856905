"""What an agent may choose at a step, and which proposals the loop refuses, by rule.

A small model reads "a person rejected this" or "this failed" in its prompt and proposes the
same thing again. So the rules are kept in code: a proposal that a rule refuses is taken out
of the choices (its tool, finishing, or handing over leaves the schema for that ask) and the
model is asked again. The rules:

- a turn's first step, when its task clearly points at one of the agent's tools, calls that
  tool; when it points at one or two of the offered tools more than at the others, only those
  are offered, beside finishing, or alone when the task needs one of them (see
  :func:`first_step_choices`). If the rule's choice is refused, every other choice is
  offered. At a first step finishing is listed before the tools
  (:attr:`Choices.finish_first`);

- a call a person rejected, or that failed, earlier in the run (same tool, same arguments,
  whichever agent made it) is not made again: its observation says what came of it;
- the agent's latest call that worked, proposed again (at the next step, or after calls
  that failed), is not made again: the agent is asked to answer, its tools out of the
  choices (see :func:`repeated_success`);
- a hand-over of work that the agent's own tools or expertise fit better than the teammate's
  is not made: routing already chose this agent for such work, and a small model otherwise
  hands the whole task on instead of using its tools.

Lessons learned on earlier runs of the same task are kept the same way (see
:mod:`~purpose_desktop.engine.learning.dead_ends`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from purpose_desktop.engine.history import call_text
from purpose_desktop.engine.loop.routing import expertise_score, needs_tools
from purpose_desktop.engine.specs import AgentSpec
from purpose_desktop.engine.text import shorten
from purpose_desktop.engine.tools.base import Tool
from purpose_desktop.engine.tools.selection import clear_choice, likely_tools
from purpose_desktop.engine.trajectory import DELEGATE, FINISH, Action, Exchange, Step
from purpose_desktop.models.base import ChatModel, KeepsToSchemas

REASON_CHARS = 160
SUBTASK_CHARS = 60
CALL_CHARS = 80


@dataclass(frozen=True)
class Choices:
    """The actions one ask offers: ``tools``, finishing, and handing over to ``teammates``.
    ``finish_first`` lists finishing before the tools in the prompt, as at a turn's first
    step: a small model leans to the choice listed last, and the work is still to be done."""

    tools: tuple[Tool, ...]
    can_finish: bool = True
    teammates: tuple[str, ...] = ()
    finish_first: bool = False

    @property
    def answer_only(self) -> bool:
        """Whether finishing is the only choice, so that the answer is all there is to ask."""
        return self.can_finish and not self.tools and not self.teammates

    def without(self, action: Action) -> Choices | None:
        """These choices less ``action``'s kind (its tool, finishing, or handing over);
        ``None`` when that would take nothing out or leave nothing."""
        if action.tool == DELEGATE:
            narrower = replace(self, teammates=())
        elif action.tool == FINISH:
            narrower = replace(self, can_finish=False)
        else:
            narrower = replace(self, tools=tuple(t for t in self.tools if t.name != action.tool))
        if narrower == self or not (narrower.tools or narrower.can_finish or narrower.teammates):
            return None
        return narrower


def first_step_choices(
    model: ChatModel, task: str, tools: Sequence[Tool], offered: Choices
) -> Choices | None:
    """The choices of a turn's first step, narrower than ``offered`` (the few of the agent's
    ``tools`` most relevant to ``task``), or ``None`` when the rule leaves them as they are:

    - when ``task`` clearly points at one of ``tools``
      (:func:`~purpose_desktop.engine.tools.selection.clear_choice`) and ``offered`` holds it:
      that tool alone, to be called, for a ``model`` that keeps to schemas
      (:class:`KeepsToSchemas`), as nothing else would hold it to the one choice;
    - otherwise, when ``task`` points at some of ``offered``'s tools more than at the others
      (:func:`~purpose_desktop.engine.tools.selection.likely_tools`): those, beside finishing
      and the teammates, so the model still decides whether a tool is needed; or those
      alone, to call one of them, when one of them is a tool the task needs
      (:func:`~purpose_desktop.engine.loop.routing.needs_tools`), again for a ``model`` that
      keeps to schemas.

    A small model offered three tools and finishing picks the wrong tool far more often than
    these rules are wrong (docs/benchmarks.md, Tool calls).
    """
    held = isinstance(model, KeepsToSchemas) and model.keeps_to_schemas
    if held:
        tool = clear_choice(task, tools)
        if tool is not None and tool in offered.tools:
            return Choices((tool,), can_finish=False)
    likely = likely_tools(task, offered.tools)
    if not (likely and offered.can_finish):
        return None
    if held and needs_tools(task, likely):
        return Choices(likely, can_finish=False)
    return replace(offered, tools=likely)


@dataclass(frozen=True)
class Refusal:
    """Why a rule refuses a proposal, as a sentence that names the call. ``learned`` when the
    rule is a lesson from an earlier run rather than what happened in this one;
    ``other_arguments`` when the same choice with other arguments may do (a person's reason
    often says which), so the agent is asked for another sample before the choice is taken
    away; ``answered``, the exchange that already gave what the proposal asks for, when
    the agent is to answer with it instead."""

    why: str
    learned: bool = False
    other_arguments: bool = False
    answered: Exchange | None = None


def same_call(first: Action, second: Action) -> bool:
    """Whether two actions are the same call: the same tool with the same arguments (text
    compared without the spaces around it)."""
    return first.tool == second.tool and _arguments(first) == _arguments(second)


def _arguments(action: Action) -> str:
    def plain(value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    return json.dumps(
        {key: plain(value) for key, value in action.arguments.items()},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )


def failed_before(action: Action, steps: Sequence[Step]) -> Refusal | None:
    """Why ``action`` is not made again: the latest same call among the run's ``steps``
    (any agent's) that a person rejected or that failed, and what it gave; ``None`` if there
    is none."""
    for step in reversed(steps):
        if not step.observation.ok and same_call(step.action, action):
            return Refusal(
                f"{call_text(action, CALL_CHARS)} gave before: "
                f"{shorten(step.observation.text, REASON_CHARS)}",
                other_arguments=True,
            )
    return None


def repeated_success(action: Action, exchanges: Sequence[Exchange]) -> Refusal | None:
    """Why ``action`` is not made: the latest of ``exchanges`` (the turn's so far) that
    worked is the same call, so it would give the same again, as no call that worked since
    could have changed it (one that reads a clock would give a later time, which a turn of
    a few steps does not wait for). A small model shown a tool's result often proposes the
    call again rather than answer with it, right away or after calls that failed; ``None``
    otherwise."""
    worked = next((e for e in reversed(exchanges) if e.observation.ok), None)
    if worked is None or action.tool in (FINISH, DELEGATE) or not same_call(worked.action, action):
        return None
    return Refusal(
        f"{call_text(action, CALL_CHARS)} gave already: "
        f"{shorten(worked.observation.text, REASON_CHARS)}",
        answered=worked,
    )


def misfit_handover(
    agent: AgentSpec, teammate: AgentSpec, subtask: str, tools: Mapping[str, Sequence[Tool]]
) -> Refusal | None:
    """Why ``agent`` should do ``subtask`` itself rather than hand it to ``teammate``: its
    tools fit the subtask and the teammate's do not, or, when the teammate's tools fit it no
    better, its expertise fits it better. ``tools`` holds each agent's tools by its name.
    ``None`` when the hand-over is sound."""
    handing = f"handing {shorten(subtask, SUBTASK_CHARS)!r} to {teammate.name}"
    mine_fit = needs_tools(subtask, tools.get(agent.name, ()))
    theirs_fit = needs_tools(subtask, tools.get(teammate.name, ()))
    if mine_fit and not theirs_fit:
        return Refusal(
            f"{handing} is not done: {agent.name}'s own tools fit it, {teammate.name}'s do not"
        )
    if theirs_fit and not mine_fit:
        return None  # the teammate has the tools for it: the very reason to hand it over
    mine, _ = expertise_score(agent, subtask)
    theirs, _ = expertise_score(teammate, subtask)
    if mine > theirs:
        return Refusal(f"{handing} is not done: {agent.name}'s expertise fits it better")
    return None
