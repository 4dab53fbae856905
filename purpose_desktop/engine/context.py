"""Fitting prompts into a model's context window, with the words to tell the user about it."""

from __future__ import annotations

from collections.abc import Sequence

from purpose_desktop.models.base import ChatModel, CountsTokens, HasContextSize
from purpose_desktop.models.compression import (
    ApproximateCounter,
    CompressedPrompt,
    TokenCounter,
    compress_to_budget,
)
from purpose_desktop.models.messages import ChatMessage

UNLIMITED = 1 << 30
_HOW = {
    "whitespace": "its whitespace squeezed",
    "rewritten": "rewritten shorter",
    "truncated": "cut in the middle",
}


def counter_for(model: ChatModel) -> TokenCounter:
    """The model's own tokenizer when it is local; a conservative estimate for remote ones."""
    return model if isinstance(model, CountsTokens) else ApproximateCounter()


def budget_for(model: ChatModel, answer_tokens: int) -> int:
    """Prompt tokens that leave room for ``answer_tokens`` in the model's context."""
    if not isinstance(model, HasContextSize):
        return UNLIMITED
    return model.context_size - answer_tokens


async def fit(
    model: ChatModel, messages: Sequence[ChatMessage], answer_tokens: int
) -> tuple[list[ChatMessage], str | None]:
    """``messages`` fitted to the model's context, and a warning to show if they had to be
    shortened."""
    budget = budget_for(model, answer_tokens)
    if budget == UNLIMITED:
        return list(messages), None
    fitted: CompressedPrompt = await compress_to_budget(messages, budget, counter_for(model))
    if fitted.stage == "unchanged":
        return list(fitted.messages), None
    size = budget + answer_tokens
    return list(fitted.messages), (
        f"The prompt was too long for the model's context of {size} tokens and was "
        f"{_HOW[fitted.stage]} to fit ({fitted.tokens} tokens)."
    )
