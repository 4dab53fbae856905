"""The record of a run as the agents see it: actions, observations, steps and the state.

The state is the task plus what the tools observed. The actors' thoughts and claims are not
part of it, so the critic can only score what was actually seen.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FINISH = "finish"
DELEGATE = "delegate"
SET_BY_PERSON = "set by a person"
"""How the evidence of a score a person gave starts."""
CRITIC_UNANSWERED = "(the critic could not answer)"
"""The evidence of the stand-in score given when the critic's model gave no usable score."""


def person_evidence(reason: str) -> str:
    """The evidence of a score a person gave, for ``reason`` (which may be empty)."""
    return f"{SET_BY_PERSON}: {reason}".rstrip(": ")


@dataclass(frozen=True)
class Action:
    """What an agent chose to do: call ``tool`` with ``arguments``, finish, or delegate.

    ``finish`` takes ``{"answer": ...}``; ``delegate`` takes ``{"agent": ..., "task": ...}``.
    """

    tool: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    thought: str = ""

    def to_json(self, *, with_thought: bool = True) -> str:
        """The action as the compact JSON an agent is asked to write."""
        value: dict[str, Any] = {"tool": self.tool, **dict(self.arguments)}
        if with_thought:
            value["thought"] = self.thought
        return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Observation:
    """What came back from acting: a tool's output, a refusal, or a person's rejection."""

    text: str
    ok: bool = True


@dataclass(frozen=True)
class Exchange:
    """One action and the observation it produced: never split when history is compacted."""

    action: Action
    observation: Observation
    agent: str = ""


ANSWER_LINE = "Proposed final answer: "


@dataclass(frozen=True)
class State:
    """The task and the observations so far; what the critic scores."""

    task: str
    observations: tuple[str, ...] = ()
    answer: str | None = None

    def text(self) -> str:
        lines = [f"Task: {self.task}"]
        lines += [f"Observation {i}: {text}" for i, text in enumerate(self.observations, 1)]
        if self.answer is not None:
            lines.append(f"{ANSWER_LINE}{self.answer}")
        return "\n".join(lines)

    def digest(self) -> str:
        """A hash of the state's content: the same state always gets the same score."""
        return hashlib.sha256(self.text().encode("utf-8")).hexdigest()


def answer_in(state_text: str) -> str | None:
    """The proposed final answer in a state's :meth:`State.text`, ``None`` if it has none."""
    _, found, answer = state_text.rpartition("\n" + ANSWER_LINE)
    return answer if found else None


@dataclass(frozen=True)
class Step:
    """One completed step of a run, with the score before and after it."""

    index: int
    agent: str
    action: Action
    observation: Observation
    phi_before: float
    phi_after: float
    evidence: str = ""
    heuristic_ids: tuple[int, ...] = ()
    thinking: str = ""
    """The reasoning the agent's model wrote apart from its answers while proposing the action:
    kept for a person to read, never part of the state the critic scores nor of the history
    the agent's later prompts are built from."""

    @property
    def reward(self) -> float:
        """The step's reward: how much it moved the score Φ."""
        return self.phi_after - self.phi_before

    @property
    def scored_by_person(self) -> bool:
        """Whether ``phi_after`` is a person's score rather than the critic's."""
        return self.evidence.startswith(SET_BY_PERSON)

    @property
    def judged(self) -> bool:
        """Whether ``phi_after`` is a judgement (the critic's or a person's), not the stand-in
        given when the critic could not answer: nothing is learned from a stand-in."""
        return self.evidence != CRITIC_UNANSWERED
