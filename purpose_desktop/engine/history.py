"""An agent's history as chat messages, compacted to fit its context.

Each exchange is two messages: the action as the assistant wrote it (its compact JSON) and
what came of it as the user's ``Observation: ...``. When they do not all fit, the middle of
the history is summarised in code, without asking a model: the summary is deterministic, cheap
and cannot invent anything. The most recent exchanges stay verbatim, and an action is never
kept without its observation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from purpose_desktop.engine.text import shorten
from purpose_desktop.engine.trajectory import Action, Exchange, Observation
from purpose_desktop.errors import ModelError
from purpose_desktop.models.compression import TEMPLATE_TOKENS_PER_MESSAGE, TokenCounter
from purpose_desktop.models.messages import ChatMessage

SUMMARY_PREFIX = "Earlier steps (summarised"
SUMMARY_CHARS = (80, 40, 20)
"""The characters an observation keeps in the summary, tried in turn until it fits; the
arguments of a call keep half as many each."""
_MIN_ARGUMENT_CHARS = 8


class HistoryBudgetError(ModelError):
    """The messages that are always kept (the system prompt and memories) do not fit the
    budget on their own. A :class:`ModelError`: the remedy is a larger context or less
    memory, and the message says so."""


def observation_text(observation: Observation) -> str:
    """The user message that reports an observation: ``Observation: ...``, and
    ``Observation: failed: ...`` when the action failed or was refused."""
    if observation.ok:
        return f"Observation: {observation.text}"
    return f"Observation: failed: {observation.text}"


def exchange_messages(exchange: Exchange) -> tuple[ChatMessage, ChatMessage]:
    """An exchange as the chat sees it: the assistant's action, then the user's observation."""
    return (
        ChatMessage("assistant", exchange.action.to_json()),
        ChatMessage("user", observation_text(exchange.observation)),
    )


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def call_text(action: Action, chars: int) -> str:
    """``calculator(expression=17*23)``: an action in short, each argument cut to about half
    of ``chars``."""
    each = max(chars // 2, _MIN_ARGUMENT_CHARS)
    arguments = ", ".join(
        f"{key}={shorten(value if isinstance(value, str) else _json(value), each)}"
        for key, value in action.arguments.items()
    )
    return f"{action.tool}({arguments})"


def summarise_exchanges(
    exchanges: Sequence[Exchange], *, chars: int = SUMMARY_CHARS[0], left_out: int = 0
) -> str:
    """The exchanges (steps 1, 2, ...) as one line, each observation cut to ``chars``, the
    first ``left_out`` of them only counted::

        Earlier steps (summarised): 1. calculator(expression=17*23) -> 391; 2. rea…
        Earlier steps (summarised; steps 1-3 left out): 4. read_file(path=a.txt) -> failed: …
    """
    left_out = max(0, min(left_out, len(exchanges)))
    items = []
    for number, exchange in enumerate(exchanges[left_out:], left_out + 1):
        outcome = shorten(exchange.observation.text, chars)
        if not exchange.observation.ok:
            outcome = f"failed: {outcome}"
        items.append(f"{number}. {call_text(exchange.action, chars)} -> {outcome}")
    if left_out:
        dropped = "step 1" if left_out == 1 else f"steps 1-{left_out}"
        heading = f"{SUMMARY_PREFIX}; {dropped} left out)"
    else:
        heading = f"{SUMMARY_PREFIX})"
    return f"{heading}: {'; '.join(items)}" if items else f"{heading}."


class _Tokens:
    """Counts messages as :mod:`purpose_desktop.models.compression` does (each with the chat
    template's share), counting each distinct text once."""

    def __init__(self, counter: TokenCounter) -> None:
        self._counter = counter
        self._known: dict[str, int] = {}

    async def __call__(self, messages: Sequence[ChatMessage]) -> int:
        total = 0
        for message in messages:
            if message.content not in self._known:
                self._known[message.content] = await self._counter.count_tokens(message.content)
            total += self._known[message.content] + TEMPLATE_TOKENS_PER_MESSAGE
        return total


async def compact_history(
    head: Sequence[ChatMessage],
    exchanges: Sequence[Exchange],
    budget: int,
    counter: TokenCounter,
    *,
    keep_last: int = 2,
) -> list[ChatMessage]:
    """``head`` and the exchanges as messages that fit ``budget`` tokens.

    ``head`` (the system prompt and memories) is always kept as it is. Tokens are counted as
    :func:`~purpose_desktop.models.compression.compress_to_budget` counts them: ``counter``
    for each message's text, plus the chat template's share per message. When everything
    fits, nothing changes. Otherwise, in turn until it fits:

    1. the last ``keep_last`` exchanges stay verbatim and the ones before become one user
       message summarising them (:func:`summarise_exchanges`), each observation cut to 80,
       then 40, then 20 characters;
    2. the oldest steps are left out of the summary, which says how many;
    3. the oldest verbatim exchange moves into the summary, as a whole pair, and 1-2 repeat;
    4. with no verbatim exchange left and not even the summary's heading fitting, only
       ``head`` is returned.

    Raises :class:`HistoryBudgetError` when ``head`` alone takes more than ``budget``.
    """
    if keep_last < 0:
        raise ValueError(f"keep_last must not be negative, got {keep_last}.")
    tokens = _Tokens(counter)
    kept_head = list(head)
    head_tokens = await tokens(kept_head)
    if head_tokens > budget:
        raise HistoryBudgetError(
            f"The system prompt and memories alone take {head_tokens} tokens, more than the "
            f"{budget} the context leaves for them. Use a larger context size, or fewer or "
            "shorter memories."
        )
    pairs = [exchange_messages(exchange) for exchange in exchanges]
    everything = kept_head + [message for pair in pairs for message in pair]
    if await tokens(everything) <= budget:
        return everything
    count = len(exchanges)
    for kept in range(min(keep_last, count), -1, -1):
        recent = [message for pair in pairs[count - kept :] for message in pair]
        room = budget - head_tokens - await tokens(recent)
        older = exchanges[: count - kept]
        if room < 0 or not older:
            continue
        summary = await _fitting_summary(older, room, tokens)
        if summary is not None:
            return [*kept_head, summary, *recent]
    return kept_head


async def _fitting_summary(
    exchanges: Sequence[Exchange], room: int, tokens: _Tokens
) -> ChatMessage | None:
    """The fullest summary of ``exchanges`` that takes at most ``room`` tokens, if any does."""

    async def fitting(chars: int, left_out: int) -> ChatMessage | None:
        text = summarise_exchanges(exchanges, chars=chars, left_out=left_out)
        message = ChatMessage("user", text)
        return message if await tokens([message]) <= room else None

    for chars in SUMMARY_CHARS:
        message = await fitting(chars, 0)
        if message is not None:
            return message
    shortest = SUMMARY_CHARS[-1]
    if await fitting(shortest, len(exchanges)) is None:
        return None
    # The fewest steps left out that fit: a binary search, as every count of a local model
    # is a round trip to its worker. Leaving out more never makes the summary longer.
    low, high = 1, len(exchanges)
    while low < high:
        middle = (low + high) // 2
        if await fitting(shortest, middle) is not None:
            high = middle
        else:
            low = middle + 1
    return await fitting(shortest, low)
