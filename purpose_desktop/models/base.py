"""The interface every chat model backend offers the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from purpose_desktop.models.messages import ChatMessage, GenerationOptions, StreamEvent


class ChatModel(Protocol):
    """A model that streams a chat answer token by token."""

    name: str

    def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncIterator[StreamEvent]:
        """Yield the answer as it is generated, ending with one ``StreamDone``."""
        ...


@dataclass(frozen=True)
class ModelStatus:
    """A change in a model's availability, for progress shown to the user."""

    model: str
    state: Literal["loading", "ready", "unavailable"]
    detail: str = ""


StatusCallback = Callable[[ModelStatus], None]


class ModelProvider(Protocol):
    """Finds and loads the model a team file names."""

    async def get(
        self, reference: str, base_dir: Path, on_status: StatusCallback
    ) -> ChatModel:
        """The loaded model for ``reference``; raises ``ModelError`` if it cannot be had."""
        ...
