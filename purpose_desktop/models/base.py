"""The interface every chat model backend offers the engine."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from purpose_desktop.models.messages import ChatMessage, GenerationOptions, StreamEvent


class ChatModel(Protocol):
    """A model that streams a chat answer token by token."""

    name: str

    def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        """Yield the answer as it is generated, ending with one ``StreamDone``."""
        ...


@runtime_checkable
class HasContextSize(Protocol):
    """A model whose context size is known, so prompts can be fitted to it."""

    @property
    def context_size(self) -> int: ...


@runtime_checkable
class KeepsToSchemas(Protocol):
    """A model whose answer keeps to ``GenerationOptions.json_schema`` (a llama.cpp grammar,
    Ollama's ``format``, a server's ``response_format``), so that an answer can be asked for
    in parts, each under a schema of its own."""

    keeps_to_schemas: bool


@runtime_checkable
class CountsTokens(Protocol):
    """A model whose own tokenizer is at hand (a local one), so prompts are fitted exactly."""

    async def count_tokens(self, text: str) -> int:
        """How many tokens the model makes of ``text``."""
        ...


@dataclass(frozen=True)
class ModelStatus:
    """A change in a model's availability, for progress shown to the user."""

    model: str
    state: Literal["loading", "ready", "unavailable", "unloaded"]
    detail: str = ""


StatusCallback = Callable[[ModelStatus], None]


class ModelProvider(Protocol):
    """Finds and loads the model a team file names."""

    def use(
        self, reference: str, base_dir: Path, on_status: StatusCallback
    ) -> AbstractAsyncContextManager[ChatModel]:
        """The loaded model for ``reference``, kept loaded while the ``async with`` block
        runs; raises ``ModelError`` if it cannot be had."""
        ...


@dataclass(frozen=True)
class ModelTraits:
    """What routing needs to know of a model without loading it.

    ``size_bytes`` is ``None`` for remote models (their size is out of sight; they are taken
    to be the larger choice). ``instruction_tuned`` is ``False`` for base models, which cannot
    be relied on to call tools.
    """

    reference: str
    remote: bool
    size_bytes: int | None
    instruction_tuned: bool


class DescribesModels(Protocol):
    async def traits(self, reference: str, base_dir: Path) -> ModelTraits:
        """What ``reference`` is; raises ``ModelError`` if it cannot be found."""
        ...
