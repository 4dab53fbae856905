"""Streaming throughput through the model layer, against raw llama-cpp-python.

Both sides load the same GGUF file with the same context, batch and thread settings, get the
same greedy prompt, and are timed from their first token to their last, so prompt processing
and process start-up are left out. Each raw round runs in a process of its own that has ended
before the app's round starts: llama.cpp's threads spin for a while after they compute, and a
raw model idling in this process would slow the worker being timed. Runs alternate between the
two sides and the medians are compared. The schema-constrained ratio compares the model layer
with and without a JSON schema (llama.cpp grammar) on the same prompt.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from purpose_desktop.models.base import ChatModel
from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamDone,
    TokenDelta,
)

PROMPT = [
    ChatMessage("system", "You are a helpful assistant."),
    ChatMessage("user", "Write a long, detailed story about a lighthouse keeper and the sea."),
]
# A free-text field large enough that the grammar, not the limit, shapes the answer.
STORY_SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "story": {"type": "string"}},
    "required": ["title", "story"],
}


@dataclass(frozen=True)
class StreamBenchmark:
    model: str
    tokens: int
    runs: int
    n_threads: int
    raw_tokens_per_s: float
    app_tokens_per_s: float
    ratio: float
    constrained_tokens_per_s: float
    constrained_ratio: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# The raw side sets llama.cpp up as the app's worker does (models/llama_cpu.py): the CPU code
# chosen for this CPU, and weights out of AMX buffers, where llama.cpp would otherwise crash.
RAW_SCRIPT = """
import json, sys, time
from llama_cpp import Llama
from purpose_desktop.models.llama_cpu import prepare_llama_cpp
prepare_llama_cpp()
path, n_ctx, n_threads, tokens, messages = json.loads(sys.stdin.read())
llm = Llama(path, n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads, n_batch=512,
            verbose=True)
first, count = None, 0
for chunk in llm.create_chat_completion(messages=messages, max_tokens=tokens, temperature=0.0,
                                        stream=True):
    if chunk["choices"][0]["delta"].get("content"):
        count += 1
        first = first or time.perf_counter()
print(json.dumps((count - 1) / (time.perf_counter() - first)))
"""


def _raw_rate(path: Path, n_ctx: int, n_threads: int, tokens: int) -> float:
    """Tokens/s of raw llama-cpp-python, in a process of its own."""
    messages = [{"role": m.role, "content": m.content} for m in PROMPT]
    result = subprocess.run(
        [sys.executable, "-c", RAW_SCRIPT],
        input=json.dumps([str(path), n_ctx, n_threads, tokens, messages]),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"raw llama-cpp-python failed: {result.stderr[-1000:]}")
    return float(result.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class Answer:
    """What a model wrote, how many tokens, and the seconds from its first token to its
    last."""

    text: str
    tokens: int
    generating_s: float


async def timed_answer(
    model: ChatModel, messages: Sequence[ChatMessage], options: GenerationOptions
) -> Answer:
    """``model``'s answer to ``messages``, its token count (as the model reports it at the
    end) and the time from its first token to its last (0 with no token)."""
    parts: list[str] = []
    first: float | None = None
    last = 0.0
    tokens = 0
    async for item in model.stream_chat(messages, options):
        if isinstance(item, TokenDelta):
            last = time.perf_counter()
            first = first or last
            parts.append(item.text)
        elif isinstance(item, StreamDone):
            tokens = item.usage.completion_tokens
    return Answer("".join(parts), tokens, last - first if first is not None else 0.0)


async def answer_rate(
    model: ChatModel, options: GenerationOptions, messages: Sequence[ChatMessage] = PROMPT
) -> float:
    """Tokens/s of ``model`` answering ``messages``, from its first token to its last."""
    # The worker sends its first token alone and batches the rest, so the tokens after the
    # first come from the count it reports at the end, like the raw side's chunk count.
    answer = await timed_answer(model, messages, options)
    assert answer.tokens > 1 and answer.generating_s > 0, "the model layer produced too few tokens"
    return (answer.tokens - 1) / answer.generating_s


async def measure_stream(
    name: str, path: Path, *, tokens: int, runs: int, n_threads: int, n_ctx: int = 1024
) -> StreamBenchmark:
    """Measure ``runs`` alternating rounds; see the module docstring for the method."""
    model = await LlamaProcessModel.start(
        name, LocalModelConfig(path, n_ctx=n_ctx, n_threads=n_threads)
    )
    plain = GenerationOptions(max_tokens=tokens, temperature=0.0)
    constrained = GenerationOptions(max_tokens=tokens, temperature=0.0, json_schema=STORY_SCHEMA)
    raw_rates, app_rates, constrained_rates = [], [], []
    try:
        for _ in range(runs):
            raw_rates.append(await asyncio.to_thread(_raw_rate, path, n_ctx, n_threads, tokens))
            app_rates.append(await answer_rate(model, plain))
            constrained_rates.append(await answer_rate(model, constrained))
    finally:
        await model.aclose()
    raw_rate = statistics.median(raw_rates)
    app_rate = statistics.median(app_rates)
    constrained_rate = statistics.median(constrained_rates)
    return StreamBenchmark(
        model=name,
        tokens=tokens,
        runs=runs,
        n_threads=n_threads,
        raw_tokens_per_s=raw_rate,
        app_tokens_per_s=app_rate,
        ratio=app_rate / raw_rate,
        constrained_tokens_per_s=constrained_rate,
        constrained_ratio=constrained_rate / app_rate,
    )
