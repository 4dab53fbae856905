"""The actor: one ReAct step asks the agent's model for one action.

The answer is constrained to the action schema where the backend can (a llama.cpp grammar, an
Ollama ``format``, a server's ``response_format``) and always parsed with the fallback chain,
so a backend that ignores the schema still works. An unreadable answer is retried once with a
simpler prompt that says what was wrong with it; after a second failure a rule's action stands
in where the agent loop has one (see :mod:`~purpose_desktop.engine.loop.fallback`), and
otherwise the step fails with the model's text in the message.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from purpose_desktop.engine.loop.action_schema import TOOL_KEY, action_schema
from purpose_desktop.engine.loop.parsing import ActionParseError, parse_action
from purpose_desktop.engine.loop.prompts import with_correction
from purpose_desktop.engine.tools.base import Tool
from purpose_desktop.engine.trajectory import FINISH, Action
from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ChatModel
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamDone,
    ThinkingDelta,
    TokenDelta,
    Usage,
)


def _names_a_tool(text: str) -> bool:
    """Whether ``text`` is a JSON action naming a tool (finish aside)."""
    with contextlib.suppress(json.JSONDecodeError):
        value = json.loads(text.strip(), strict=False)
        return isinstance(value, dict) and str(value.get(TOOL_KEY, FINISH)) != FINISH
    return False


class StepFailed(ModelError):
    """The agent's model gave no usable action, even with the simpler prompt."""


@dataclass(frozen=True)
class Proposal:
    action: Action
    method: str
    attempts: int


UsageCallback = Callable[[Usage], None]
TokenCallback = Callable[[str], None]
RetryCallback = Callable[[str], None]


@dataclass(frozen=True)
class Actor:
    """Asks one model for actions among ``tools`` (and, for delegation, ``teammates``)."""

    model: ChatModel
    tools: Sequence[Tool]
    teammates: Sequence[str]
    options: GenerationOptions
    can_finish: bool = True

    async def propose(
        self,
        messages: Sequence[ChatMessage],
        simpler: Sequence[ChatMessage],
        on_token: TokenCallback,
        on_usage: UsageCallback,
        on_retry: RetryCallback,
        *,
        on_thinking: TokenCallback,
        fallback: Action | None = None,
    ) -> Proposal:
        """The action the model proposes, or ``fallback`` (a rule's) when even the simpler
        prompt gives none; :class:`StepFailed` if there is neither. Reasoning the model writes
        apart from its answer goes to ``on_thinking`` and is never read as the action."""
        schema = action_schema(self.tools, can_finish=self.can_finish, teammates=self.teammates)
        options = replace(self.options, json_schema=schema)
        text = await self._generate(messages, options, on_token, on_usage, on_thinking)
        try:
            parsed = parse_action(text, self.tools, self.teammates, can_finish=self.can_finish)
            return Proposal(parsed.action, parsed.method, 1)
        except ActionParseError as exc:
            on_retry(str(exc))
            simpler = with_correction(simpler, str(exc))
        text = await self._generate(simpler, options, on_token, on_usage, on_thinking)
        try:
            parsed = parse_action(text, self.tools, self.teammates, can_finish=self.can_finish)
        except ActionParseError as exc:
            if fallback is not None:
                return Proposal(fallback, "rule", 2)
            raise StepFailed(
                f"The model {self.model.name} gave no usable action after a retry with a "
                f"simpler prompt: {exc}"
            ) from None
        return Proposal(parsed.action, parsed.method, 2)

    async def answer(
        self,
        messages: Sequence[ChatMessage],
        on_token: TokenCallback,
        on_usage: UsageCallback,
        *,
        on_thinking: TokenCallback,
    ) -> Proposal:
        """The final answer, asked for in the model's own words: for an agent whose only
        choice is to finish. An answer written as a finish action anyway is read as one.
        :class:`StepFailed` if the model says nothing (reasoning, which goes to
        ``on_thinking``, is not an answer), or writes a call to a tool it does not have."""
        options = replace(self.options, json_schema=None)
        text = await self._generate(messages, options, on_token, on_usage, on_thinking)
        try:
            parsed = parse_action(text, (), (), can_finish=True)
        except ActionParseError as exc:
            if _names_a_tool(text):
                raise StepFailed(
                    f"The model {self.model.name} wrote a call it cannot make "
                    f"instead of an answer: {exc}"
                ) from None
        else:
            return Proposal(parsed.action, parsed.method, 1)
        answer = text.strip()
        if not answer:
            raise StepFailed(f"The model {self.model.name} gave an empty answer.")
        return Proposal(Action(FINISH, {"answer": answer}), "text", 1)

    async def _generate(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        on_token: TokenCallback,
        on_usage: UsageCallback,
        on_thinking: TokenCallback,
    ) -> str:
        """The answer's text; the model's reasoning is handed to ``on_thinking`` alone."""
        pieces: list[str] = []
        # aclosing: a cancelled step stops generation at once, not when garbage is collected.
        async with contextlib.aclosing(self.model.stream_chat(messages, options)) as stream:
            async for item in stream:
                if isinstance(item, TokenDelta):
                    pieces.append(item.text)
                    on_token(item.text)
                elif isinstance(item, ThinkingDelta):
                    on_thinking(item.text)
                elif isinstance(item, StreamDone):
                    on_usage(item.usage)
        return "".join(pieces)
