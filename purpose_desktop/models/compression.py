"""Fit a prompt into a token budget, giving up as little of it as possible.

Three stages, each used only if the one before was not enough: squeeze whitespace; rewrite
aggressively (decoration, repeated lines, filler phrases); then cut the middle out of the
longest messages, keeping their start (usually the instructions) and their end (usually the
latest and most relevant text). Tokens are counted by the model's own tokenizer when it runs
locally, and estimated conservatively otherwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from purpose_desktop.errors import ModelError
from purpose_desktop.models.messages import ChatMessage

Stage = Literal["unchanged", "whitespace", "rewritten", "truncated"]

# The chat template wraps every message in a few tokens of its own (role markers, separators).
TEMPLATE_TOKENS_PER_MESSAGE = 6
OMISSION = "\n[… {count} characters left out …]\n"
_MIN_KEPT_CHARS = 16


class TokenCounter(Protocol):
    async def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` takes."""
        ...


class ApproximateCounter:
    """For models whose tokenizer is out of reach (a server): errs towards more tokens, about
    one for every three bytes of UTF-8, so a prompt that fits by this count fits for real."""

    async def count_tokens(self, text: str) -> int:
        return math.ceil(len(text.encode("utf-8")) / 3)


@dataclass(frozen=True)
class CompressedPrompt:
    messages: tuple[ChatMessage, ...]
    tokens: int
    """Tokens the messages take, including the chat template's share."""
    stage: Stage
    """The last stage that was needed."""


def squeeze_whitespace(text: str) -> str:
    """Trailing spaces, runs of spaces and tabs, and more than one blank line go."""
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


_FILLER = re.compile(
    r"\b(?:please note that|it is important to note that|as mentioned (?:before|above)|"
    r"basically|actually|really|very|just|in order to)\b ?",
    re.IGNORECASE,
)


def rewrite_aggressively(text: str) -> str:
    """Markdown decoration, repeated lines and filler phrases go; the words that carry meaning
    stay in their order."""
    text = re.sub(r"(\*\*|__|`{3}\w*|`)", "", text)  # emphasis and code fences
    text = re.sub(r"^[ \t]*(?:[-*_=][ \t]*){3,}(?:\n|$)", "", text, flags=re.MULTILINE)  # rules
    text = re.sub(r"^#{1,6}\s*", "", text, flags=re.MULTILINE)  # heading marks
    text = re.sub(r"([!?.,;:])\1+", r"\1", text)  # repeated punctuation
    text = _FILLER.sub("", text)
    seen: set[str] = set()
    kept: list[str] = []
    for line in text.split("\n"):
        key = line.strip().lower()
        if key and key in seen:
            continue
        seen.add(key)
        kept.append(line)
    return squeeze_whitespace("\n".join(kept))


def cut_middle(text: str, keep: int) -> str:
    """``text`` with its middle replaced by a marker, keeping ``keep`` characters in all,
    two fifths from the start and three fifths from the end."""
    if len(text) <= keep:
        return text
    head = keep * 2 // 5
    tail = keep - head
    omitted = len(text) - head - tail
    return text[:head].rstrip() + OMISSION.format(count=omitted) + text[head + omitted :].lstrip()


class _RememberingCounter:
    """Counts each distinct text once: the stages count the same messages again and again,
    and for a local model every count is a round trip to its worker."""

    def __init__(self, counter: TokenCounter) -> None:
        self._counter = counter
        self._known: dict[str, int] = {}

    async def count_tokens(self, text: str) -> int:
        if text not in self._known:
            self._known[text] = await self._counter.count_tokens(text)
        return self._known[text]


async def _count(messages: Sequence[ChatMessage], counter: TokenCounter) -> int:
    total = 0
    for message in messages:
        total += await counter.count_tokens(message.content) + TEMPLATE_TOKENS_PER_MESSAGE
    return total


async def compress_to_budget(
    messages: Sequence[ChatMessage], budget: int, counter: TokenCounter
) -> CompressedPrompt:
    """``messages`` made to fit ``budget`` tokens (the context left after room for the answer).

    Raises :class:`ModelError` when even the cut-down prompt does not fit (a budget smaller
    than the chat template's own tokens and the marks where text was left out).
    """
    counter = _RememberingCounter(counter)
    current = tuple(messages)
    tokens = await _count(current, counter)
    if tokens <= budget:
        return CompressedPrompt(current, tokens, "unchanged")
    stage: Stage
    for stage, rewrite in (("whitespace", squeeze_whitespace), ("rewritten", rewrite_aggressively)):
        current = tuple(replace(m, content=rewrite(m.content)) for m in current)
        tokens = await _count(current, counter)
        if tokens <= budget:
            return CompressedPrompt(current, tokens, stage)
    return await _truncate(current, tokens, budget, counter)


async def _truncate(
    messages: tuple[ChatMessage, ...], tokens: int, budget: int, counter: TokenCounter
) -> CompressedPrompt:
    current = list(messages)
    keep = [len(m.content) for m in messages]  # characters kept of each message's original
    while tokens > budget:
        # Cut the longest message: it has the most to give, and short ones (the system
        # prompt, a one-line question) keep their sense.
        index = max(range(len(current)), key=lambda i: keep[i])
        if keep[index] <= _MIN_KEPT_CHARS:
            # All are down to a few words and still too long (characters of several bytes
            # each, say): leave out whichever message's mark saves the most tokens.
            dropped = await _drop_most_costly(messages, current, keep, counter)
            if dropped is None:
                raise ModelError(
                    f"The prompt cannot be made to fit {budget} tokens: its messages alone "
                    f"take {tokens}. Use a larger context size."
                )
            tokens = await _count(current, counter)
            continue
        content = current[index].content
        own = await counter.count_tokens(content)
        # Keep the share of this message's characters that its share of tokens allows, aiming
        # a little under so that one or two passes are enough.
        wanted = max(0, own - (tokens - budget) - 8)
        keep[index] = max(
            _MIN_KEPT_CHARS, min(keep[index] - 1, int(len(content) * wanted / max(own, 1) * 0.95))
        )
        original = messages[index].content
        current[index] = replace(current[index], content=cut_middle(original, keep[index]))
        tokens = await _count(current, counter)
    return CompressedPrompt(tuple(current), tokens, "truncated")


async def _drop_most_costly(
    messages: tuple[ChatMessage, ...],
    current: list[ChatMessage],
    keep: list[int],
    counter: TokenCounter,
) -> int | None:
    """Replace by its mark the message of ``current`` whose mark saves the most tokens, and
    return its index; ``None`` if no mark would be shorter than what it replaces."""
    best, best_mark, saving = None, "", 0
    for index, message in enumerate(current):
        if keep[index] == 0:
            continue
        mark = cut_middle(messages[index].content, 0)
        saved = await counter.count_tokens(message.content) - await counter.count_tokens(mark)
        if saved > saving:
            best, best_mark, saving = index, mark, saved
    if best is not None:
        keep[best] = 0
        current[best] = replace(current[best], content=best_mark)
    return best
