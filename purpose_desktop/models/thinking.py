"""Split a model's reasoning from its answer in a stream of text pieces.

Reasoning models (Qwen 3, DeepSeek R1 and others) wrap their reasoning in ``<think>`` ...
``</think>``. A tag can arrive split over several pieces (``<thi`` then ``nk>``), so text that
could be the start of a tag is held back until the next piece decides it.
"""

from __future__ import annotations

from collections.abc import Iterator

from purpose_desktop.models.messages import ThinkingDelta, TokenDelta

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


class ThinkingSplitter:
    """Feed text pieces in order; get answer and reasoning pieces out, tags removed."""

    def __init__(self) -> None:
        self._thinking = False
        self._held = ""

    def feed(self, text: str) -> Iterator[TokenDelta | ThinkingDelta]:
        buffer = self._held + text
        self._held = ""
        while buffer:
            tag = CLOSE_TAG if self._thinking else OPEN_TAG
            at = buffer.find(tag)
            if at >= 0:
                yield from self._emit(buffer[:at])
                self._thinking = not self._thinking
                buffer = buffer[at + len(tag) :]
                continue
            keep = _partial_tag_length(buffer, tag)
            yield from self._emit(buffer[: len(buffer) - keep])
            self._held = buffer[len(buffer) - keep :]
            break

    def flush(self) -> Iterator[TokenDelta | ThinkingDelta]:
        """Release text held back at the end of the stream (it was not a tag after all)."""
        held, self._held = self._held, ""
        yield from self._emit(held)

    def _emit(self, text: str) -> Iterator[TokenDelta | ThinkingDelta]:
        if text:
            yield ThinkingDelta(text) if self._thinking else TokenDelta(text)


def _partial_tag_length(text: str, tag: str) -> int:
    """How many characters at the end of ``text`` could begin ``tag``."""
    for length in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-length:]):
            return length
    return 0
