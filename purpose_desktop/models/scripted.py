"""Models that reply with fixed text: for tests that need one exact output.

Like pydantic-ai's TestModel and FunctionModel they ship in the package, so tests of code built
on the model interface can drive exact control flows (bad JSON, a rejected action) without a
real model. :class:`ScriptedProvider` hands them out by reference, as the router does.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ChatModel, ModelStatus, ModelTraits, StatusCallback
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamDone,
    StreamEvent,
    TokenDelta,
    Usage,
)

Reply = Callable[[Sequence[ChatMessage], GenerationOptions], str]


async def _stream(reply: str, messages: Sequence[ChatMessage]) -> AsyncGenerator[StreamEvent, None]:
    pieces = re.findall(r"\S+\s*|\s+", reply)
    for piece in pieces:
        yield TokenDelta(piece)
    prompt = sum(len(m.content.split()) for m in messages)
    yield StreamDone("stop", Usage(prompt, len(pieces), 0.001))


@dataclass
class ScriptedModel:
    """Answers each call with the next of ``replies``, streamed word by word.

    The calls it received are kept in :attr:`calls` for assertions. With
    ``keeps_to_schemas`` it stands for a backend that keeps to schemas, so the engine asks
    it for answers in parts (its replies must then be those parts).
    """

    replies: list[str]
    name: str = "scripted"
    keeps_to_schemas: bool = False
    calls: list[tuple[list[ChatMessage], GenerationOptions]] = field(default_factory=list)

    async def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        self.calls.append((list(messages), options))
        if not self.replies:
            raise AssertionError("ScriptedModel has no reply left")
        async for item in _stream(self.replies.pop(0), messages):
            yield item


@dataclass
class FunctionModel:
    """Answers each call with what ``function`` returns for the messages and options."""

    function: Reply
    name: str = "function"
    keeps_to_schemas: bool = False
    calls: list[tuple[list[ChatMessage], GenerationOptions]] = field(default_factory=list)

    async def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        self.calls.append((list(messages), options))
        async for item in _stream(self.function(messages, options), messages):
            yield item


@dataclass
class ScriptedProvider:
    """Hands out the models in ``models`` by reference, with sizes for routing decisions;
    references in ``base_models`` are described as not instruction-tuned."""

    models: Mapping[str, ChatModel]
    sizes: Mapping[str, int] = field(default_factory=dict)
    base_models: frozenset[str] = frozenset()

    @contextlib.asynccontextmanager
    async def use(
        self, reference: str, base_dir: Path, on_status: StatusCallback
    ) -> AsyncIterator[ChatModel]:
        model = self.models.get(reference)
        if model is None:
            on_status(ModelStatus(reference, "unavailable", "not scripted"))
            raise ModelError(f"Model not found: {reference!r}")
        on_status(ModelStatus(reference, "ready", "scripted"))
        yield model

    async def traits(self, reference: str, base_dir: Path) -> ModelTraits:
        if reference not in self.models:
            raise ModelError(f"Model not found: {reference!r}")
        remote = reference.startswith(("ollama:", "server:"))
        return ModelTraits(
            reference,
            remote,
            None if remote else self.sizes.get(reference, 1),
            instruction_tuned=reference not in self.base_models,
        )
