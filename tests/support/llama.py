"""The bundled models run for tests: greedy settings, a question with a known answer,
collecting a stream."""

from __future__ import annotations

from pathlib import Path

from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamEvent,
    TokenDelta,
)

QUESTION = [
    ChatMessage("system", "You are a concise assistant. Answer in one or two sentences."),
    ChatMessage("user", "What is the capital of France?"),
]


GREEDY = GenerationOptions(max_tokens=24, temperature=0.0, seed=1)


async def collect(
    model: LlamaProcessModel, options: GenerationOptions = GREEDY
) -> list[StreamEvent]:
    return [event async for event in model.stream_chat(QUESTION, options)]


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TokenDelta))


def config(path: Path, n_ctx: int = 1024) -> LocalModelConfig:
    return LocalModelConfig(path, n_ctx=n_ctx, n_threads=2)
