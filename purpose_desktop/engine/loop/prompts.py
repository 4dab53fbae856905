"""The words put in front of an agent: schema first, then its role, then what it learned.

Small models follow the first lines of a prompt best, so the answer format comes first and
everything else is short.
"""

from __future__ import annotations

from collections.abc import Sequence

from purpose_desktop.engine.learning.memory import Experience, Heuristic
from purpose_desktop.engine.loop.action_schema import describe_actions
from purpose_desktop.engine.specs import AgentSpec
from purpose_desktop.engine.tools.base import Tool
from purpose_desktop.models.messages import ChatMessage

FORMAT_LINE = "Reply with exactly one JSON object, one of:"


def system_prompt(
    agent: AgentSpec,
    tools: Sequence[Tool],
    teammates: Sequence[str],
    heuristics: Sequence[Heuristic],
    experiences: Sequence[Experience],
    *,
    can_finish: bool = True,
    finish_first: bool = False,
) -> str:
    parts = [
        FORMAT_LINE,
        describe_actions(
            tools, can_finish=can_finish, teammates=teammates, finish_first=finish_first
        ),
        "Use a tool when it helps; finish as soon as an observation gives the answer.",
        f"You are {agent.name}. {agent.role}",
        *_learned(heuristics, experiences),
    ]
    return "\n\n".join(parts)


def answer_prompt(
    agent: AgentSpec, heuristics: Sequence[Heuristic], experiences: Sequence[Experience]
) -> str:
    """The prompt of an agent whose only choice is to answer: its role and what it learned,
    no format. A small chat model answers a question better in its own words than inside a
    JSON string."""
    return "\n\n".join([f"You are {agent.name}. {agent.role}", *_learned(heuristics, experiences)])


def _learned(heuristics: Sequence[Heuristic], experiences: Sequence[Experience]) -> list[str]:
    parts = []
    if heuristics:
        parts.append(
            "Learned from earlier tasks:\n"
            + "\n".join(f'- When the task is like "{h.pattern}": {h.strategy}' for h in heuristics)
        )
    if experiences:
        parts.append(
            "Past runs:\n"
            + "\n".join(
                f'- "{e.task}" ({e.outcome}, Φ {e.final_phi:.0f} of 10): {e.summary}'
                for e in experiences
            )
        )
    return parts


def head_messages(system: str, task: str) -> list[ChatMessage]:
    return [ChatMessage("system", system), ChatMessage("user", f"Task: {task}")]


def simpler_messages(
    tools: Sequence[Tool],
    teammates: Sequence[str],
    task: str,
    last_observation: str | None,
    *,
    can_finish: bool = True,
    finish_first: bool = False,
) -> list[ChatMessage]:
    """The retry prompt after an unreadable answer: only the format, the task and the latest
    observation."""
    user = f"Task: {task}"
    if last_observation is not None:
        user += f"\nLatest observation: {last_observation}"
    actions = describe_actions(
        tools, can_finish=can_finish, teammates=teammates, finish_first=finish_first
    )
    return [
        ChatMessage("system", f"{FORMAT_LINE}\n{actions}"),
        ChatMessage("user", user),
    ]


def with_correction(messages: Sequence[ChatMessage], error: str) -> list[ChatMessage]:
    """``messages`` with what was wrong with the last answer added to the last user message
    (a message of its own would put two user turns in a row, which some chat templates
    refuse)."""
    note = f"Your last answer was not a valid action: {error} Write one valid action."
    corrected = list(messages)
    for index in range(len(corrected) - 1, -1, -1):
        if corrected[index].role == "user":
            message = corrected[index]
            corrected[index] = ChatMessage("user", f"{message.content}\n{note}")
            return corrected
    return [*corrected, ChatMessage("user", note)]
