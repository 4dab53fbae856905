"""The worker's prompt cache: a prompt that starts as an earlier one did is evaluated only from
where they differ, the same answer comes out, and the cache stays within its capacity, which
counts in the model's memory estimate."""

from __future__ import annotations

import asyncio
import ctypes
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.gguf_metadata import read_gguf_metadata
from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig
from purpose_desktop.models.memory import MIB, PROMPT_CACHE_BYTES, estimate_memory
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamDone,
    TokenDelta,
    Usage,
)
from purpose_desktop.models.pool import LocalModelPool
from purpose_desktop.models.prompt_cache import PrefixStore

ACTOR = ChatMessage("system", "You are a calculator agent. " + "Answer with the number only. " * 30)
CRITIC = ChatMessage("system", "You are a strict critic. " + "Score the state from 0 to 10. " * 30)
GREEDY = GenerationOptions(max_tokens=8, temperature=0.0)


async def ask(model: LlamaProcessModel, messages: Sequence[ChatMessage]) -> tuple[str, Usage]:
    text: list[str] = []
    async for event in model.stream_chat(messages, GREEDY):
        if isinstance(event, TokenDelta):
            text.append(event.text)
        elif isinstance(event, StreamDone):
            return "".join(text), event.usage
    raise AssertionError("the stream ended without StreamDone")


def alternate(prompt_cache_bytes: int) -> list[tuple[str, Usage]]:
    """An actor and a critic taking turns on one model, as a run's steps do."""
    conversations = [
        [ACTOR, ChatMessage("user", "What is 2 + 2?")],
        [CRITIC, ChatMessage("user", "Observation: 4")],
        [ACTOR, ChatMessage("user", "What is 17 * 23?")],
        [CRITIC, ChatMessage("user", "Observation: 391")],
    ]

    async def scenario() -> list[tuple[str, Usage]]:
        config = LocalModelConfig(
            smollm2_path(), n_ctx=1024, n_threads=2, prompt_cache_bytes=prompt_cache_bytes
        )
        model = await LlamaProcessModel.start("smollm2", config)
        try:
            return [await ask(model, messages) for messages in conversations]
        finally:
            await model.aclose()

    return asyncio.run(scenario())


@pytest.mark.model
def test_a_recurring_system_prompt_is_evaluated_once_per_model() -> None:
    cached = alternate(PROMPT_CACHE_BYTES)
    uncached = alternate(0)
    first_actor, first_critic, second_actor, second_critic = (usage for _, usage in cached)
    assert first_actor.prompt_evaluated == first_actor.prompt_tokens  # nothing to reuse yet
    # The critic's prompt shares only its first few tokens ("<|im_start|>system ...").
    assert first_critic.prompt_evaluated is not None
    assert first_critic.prompt_evaluated > 0.9 * first_critic.prompt_tokens
    # Each prompt's system part was kept while the other one ran: only the user turn is new.
    for second in (second_actor, second_critic):
        assert second.prompt_evaluated is not None
        assert second.prompt_evaluated < 0.2 * second.prompt_tokens, second
    # Without a cache every switch evaluates the prompt again, all but those first tokens.
    for _, usage in uncached:
        assert usage.prompt_evaluated is not None
        assert usage.prompt_evaluated > 0.9 * usage.prompt_tokens, usage
    # A restored prefix gives the answer a full evaluation gives.
    assert [text for text, _ in cached] == [text for text, _ in uncached]


def state(size: int) -> ctypes.Array[ctypes.c_uint8]:
    return (ctypes.c_uint8 * size)()


def tokens(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.intc)


def test_the_store_keeps_within_its_capacity_dropping_the_least_recently_used() -> None:
    store = PrefixStore(capacity_bytes=1000)
    store.add(tokens(1, 2, 3), state(400))
    store.add(tokens(7, 8), state(400))
    assert store.longest(tokens(1, 2, 3, 4))[0] == 3  # now the most recently used
    store.add(tokens(9, 9), state(400))
    assert store.size_bytes <= 1000
    assert store.longest(tokens(7, 8))[1] is None  # the least recently used went
    assert store.longest(tokens(1, 2, 5))[0] == 2
    store.add(tokens(5), state(2000))  # larger than the whole cache: not kept
    assert len(store) == 2 and store.size_bytes <= 1000


def test_a_continued_context_replaces_the_one_it_continues() -> None:
    store = PrefixStore(capacity_bytes=10_000)
    store.add(tokens(1, 2, 3), state(100))
    store.add(tokens(1, 2, 3, 4, 5), state(100))
    assert len(store) == 1
    assert store.longest(tokens(1, 2, 3, 9))[0] == 3


def test_an_empty_cache_keeps_nothing() -> None:
    store = PrefixStore(capacity_bytes=0)
    store.add(tokens(1, 2), state(1))
    assert (len(store), store.size_bytes, store.longest(tokens(1, 2))) == (0, 0, (0, None))


def test_the_prompt_cache_counts_in_the_memory_estimate_at_its_capacity() -> None:
    metadata = read_gguf_metadata(smollm2_path())
    without = estimate_memory(metadata, 1024, prompt_cache=0)
    default = estimate_memory(metadata, 1024)
    larger = estimate_memory(metadata, 1024, prompt_cache=256 * MIB)
    assert default.total - without.total == PROMPT_CACHE_BYTES
    assert larger.total - without.total == 256 * MIB
    assert "prompt cache 64" in default.describe()


@pytest.mark.model
def test_the_pool_counts_the_prompt_cache_in_a_loaded_model(tmp_path: Path) -> None:
    async def scenario() -> int:
        pool = LocalModelPool(tmp_path, n_ctx=1024, n_threads=2)
        try:
            loaded = await pool.load("bundled:smollm2-135m", tmp_path, lambda _: None)
            assert pool.memory_in_use == loaded.memory_bytes
            return loaded.memory_bytes
        finally:
            await pool.aclose()

    metadata = read_gguf_metadata(smollm2_path())
    assert asyncio.run(scenario()) == estimate_memory(metadata, 1024).total
    assert estimate_memory(metadata, 1024).prompt_cache == PROMPT_CACHE_BYTES
