"""A chat model that replies with fixed text: for tests that need one exact output.

Like pydantic-ai's TestModel it ships in the package, so tests of code built on the model
interface can drive exact control flows (bad JSON, a rejected action) without a real model.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field

from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamDone,
    StreamEvent,
    TokenDelta,
    Usage,
)


@dataclass
class ScriptedModel:
    """Answers each call with the next of ``replies``, streamed word by word.

    The calls it received are kept in :attr:`calls` for assertions.
    """

    replies: list[str]
    name: str = "scripted"
    calls: list[tuple[list[ChatMessage], GenerationOptions]] = field(default_factory=list)

    async def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        self.calls.append((list(messages), options))
        if not self.replies:
            raise AssertionError("ScriptedModel has no reply left")
        reply = self.replies.pop(0)
        pieces = re.findall(r"\S+\s*|\s+", reply)
        for piece in pieces:
            yield TokenDelta(piece)
        prompt = sum(len(m.content.split()) for m in messages)
        yield StreamDone("stop", Usage(prompt, len(pieces), 0.0))
