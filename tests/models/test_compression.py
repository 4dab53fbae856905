"""Prompt compression to a token budget, counted by the bundled model's own tokenizer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from purpose_desktop.errors import ModelError
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.compression import (
    ApproximateCounter,
    CompressedPrompt,
    compress_to_budget,
    cut_middle,
    rewrite_aggressively,
    squeeze_whitespace,
)
from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig
from purpose_desktop.models.messages import ChatMessage, GenerationOptions, StreamDone

SYSTEM = ChatMessage("system", "You are a careful analyst. Answer in one sentence.")
REPORT = " ".join(f"Sensor {i} read {i * 7 % 50} degrees at hour {i % 24}." for i in range(400))
T = TypeVar("T")
QUESTION = ChatMessage("user", "START OF LOG. " + REPORT + " END OF LOG. Which sensor was hottest?")


def test_whitespace_is_squeezed_without_touching_words() -> None:
    assert squeeze_whitespace("a  b\t\tc   \n\n\n\nd  ") == "a b c\n\nd"


def test_aggressive_rewrite_drops_decoration_repeats_and_filler() -> None:
    text = "# Title\n**Really** important!!!\n---\nsame line\nsame line\nIt is just fine."
    assert rewrite_aggressively(text) == "Title\nimportant!\nsame line\nIt is fine."


def test_cut_middle_keeps_start_and_end() -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    cut = cut_middle(text, 100)
    assert cut.startswith(text[:40]) and cut.endswith(text[-60:])
    assert "900 characters left out" in cut
    assert cut_middle(text, 0).strip() == "[… 1000 characters left out …]"


def run_with_smollm2(use: Callable[[LlamaProcessModel], Awaitable[T]]) -> T:
    async def scenario() -> T:
        model = await LlamaProcessModel.start("smollm2", LocalModelConfig(smollm2_path(), 2048, 2))
        try:
            return await use(model)
        finally:
            await model.aclose()

    return asyncio.run(scenario())


@pytest.mark.model
def test_a_long_prompt_is_cut_to_the_budget_by_the_models_own_count() -> None:
    async def scenario(model: LlamaProcessModel) -> tuple[CompressedPrompt, int, int]:
        original = await model.count_tokens(QUESTION.content)
        result = await compress_to_budget([SYSTEM, QUESTION], 600, model)
        answer = [
            event
            async for event in model.stream_chat(
                result.messages, GenerationOptions(max_tokens=4, temperature=0.0)
            )
        ]
        done = answer[-1]
        assert isinstance(done, StreamDone)
        return result, original, done.usage.prompt_tokens

    result, original, prompt_tokens = run_with_smollm2(scenario)
    assert original > 2000  # the question alone was far over the budget
    assert result.stage == "truncated"
    assert result.tokens <= 600
    # What the model really read, template included, is within the budget too.
    assert prompt_tokens <= 600
    system, question = result.messages
    assert system == SYSTEM  # the short system prompt is left whole
    assert question.content.startswith("START OF LOG. Sensor 0 read")
    assert question.content.endswith("END OF LOG. Which sensor was hottest?")
    assert "characters left out" in question.content


@pytest.mark.model
def test_a_prompt_that_fits_is_left_alone_and_whitespace_comes_first() -> None:
    padded = ChatMessage("user", "Hello   there.\n\n\n\n\n" + "   \n" * 200 + "How are you?")

    async def scenario(model: LlamaProcessModel) -> tuple[CompressedPrompt, CompressedPrompt]:
        unchanged = await compress_to_budget([SYSTEM], 100, model)
        squeezed = await compress_to_budget([SYSTEM, padded], 60, model)
        return unchanged, squeezed

    unchanged, squeezed = run_with_smollm2(scenario)
    assert unchanged.stage == "unchanged" and unchanged.messages == (SYSTEM,)
    assert squeezed.stage == "whitespace"
    assert squeezed.messages[1].content == "Hello there.\n\nHow are you?"


def test_a_budget_smaller_than_the_template_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="cannot be made to fit 5 tokens"):
        asyncio.run(compress_to_budget([SYSTEM, QUESTION], 5, ApproximateCounter()))


def test_below_a_few_words_the_message_whose_mark_saves_most_is_left_out() -> None:
    """Characters of three and four bytes: cut to a few words, the question still takes more
    than the budget. The short system prompt costs less than a mark would and stays."""
    brief = ChatMessage("system", "Be brief.")
    for question, budget in (("\U00010000" * 16, 35), ("\u0800" * 5000, 34)):
        result = asyncio.run(
            compress_to_budget([brief, ChatMessage("user", question)], budget, ApproximateCounter())
        )
        assert result.tokens <= budget
        assert result.messages[0] == brief
        assert "characters left out" in result.messages[1].content


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=300),
    budget=st.integers(min_value=40, max_value=400),
)
# Characters of four bytes: a few of them take as many tokens as a sentence.
@example(
    words=[
        "0\x80\x80\u0800\U00010000\U00010000",
        "\x80\x80" + "\U00010000" * 4,
        "\x80\x80" + "\U00010000" * 4,
        "0\x80\x80\x80\x80\U00010000\U00010000",
    ],
    budget=40,
)
def test_any_prompt_fits_any_workable_budget(words: list[str], budget: int) -> None:
    text = " ".join(words)
    messages = [ChatMessage("system", "Be brief."), ChatMessage("user", text)]
    result = asyncio.run(compress_to_budget(messages, budget, ApproximateCounter()))
    assert result.tokens <= budget
    kept = result.messages[1].content
    if result.stage == "unchanged":
        assert kept == text
