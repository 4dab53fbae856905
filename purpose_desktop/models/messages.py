"""Typed messages exchanged with every chat model backend."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class GenerationOptions:
    """Settings for one call. ``None`` leaves the model family's default.

    With ``json_schema`` the backend constrains the answer to JSON of that schema (llama.cpp
    through a grammar). Backends may ignore schema features they cannot enforce, so the answer
    is still validated: use :func:`purpose_desktop.models.structured.generate_json`.
    """

    max_tokens: int = 256
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    json_schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Usage:
    """What one call cost: tokens in and out, and the wall time of generation."""

    prompt_tokens: int
    completion_tokens: int
    seconds: float
    prompt_evaluated: int | None = None
    """Prompt tokens the model evaluated; the others came from a cache of earlier prompts.
    ``None`` when the backend does not say."""


@dataclass(frozen=True)
class TokenDelta:
    """A piece of the answer as it is generated; always whole UTF-8 characters."""

    text: str


@dataclass(frozen=True)
class ThinkingDelta:
    """A piece of the model's reasoning (a ``<think>`` section), kept apart from its answer."""

    text: str


@dataclass(frozen=True)
class StreamDone:
    """The end of a stream, with why it stopped and what it cost."""

    finish_reason: str
    usage: Usage


StreamEvent = TokenDelta | ThinkingDelta | StreamDone
