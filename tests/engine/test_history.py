"""Compacting an agent's history: nothing changes when it fits; otherwise the middle is
summarised in code, the head is kept, pairs are never split and the budget holds."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from purpose_desktop.engine.history import (
    HistoryBudgetError,
    compact_history,
    exchange_messages,
    summarise_exchanges,
)
from purpose_desktop.engine.trajectory import Action, Exchange, Observation
from purpose_desktop.errors import ModelError
from purpose_desktop.models.compression import TEMPLATE_TOKENS_PER_MESSAGE, ApproximateCounter
from purpose_desktop.models.messages import ChatMessage


class WordCounter:
    """One token per word: easy to reason about, and it records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def count_tokens(self, text: str) -> int:
        self.asked.append(text)
        return len(text.split())


HEAD = [
    ChatMessage("system", "You are a careful assistant. Act with one JSON action per turn."),
    ChatMessage("user", "Remember: check results twice."),
    ChatMessage("user", "Task: what is 17 * 23, and what does notes.txt say?"),
]


def exchanges(count: int) -> list[Exchange]:
    made = []
    for i in range(1, count + 1):
        if i % 3 == 0:
            action = Action("read_file", {"path": f"file{i}.txt"}, "look")
            observation = Observation(f"not found: file{i}.txt does not exist here", ok=False)
        else:
            action = Action("calculator", {"expression": f"{i}*23"}, f"step {i}")
            observation = Observation(f"{i * 23} " + "and some long explanation " * 6)
        made.append(Exchange(action, observation))
    return made


def total(messages: Sequence[ChatMessage]) -> int:
    return sum(len(m.content.split()) + TEMPLATE_TOKENS_PER_MESSAGE for m in messages)


def compact(history: Sequence[Exchange], budget: int, *, keep_last: int = 2) -> list[ChatMessage]:
    return asyncio.run(compact_history(HEAD, history, budget, WordCounter(), keep_last=keep_last))


def test_an_exchange_is_the_action_then_its_observation() -> None:
    action = Action("calculator", {"expression": "17*23"}, "multiply")
    assert exchange_messages(Exchange(action, Observation("391"))) == (
        ChatMessage("assistant", action.to_json()),
        ChatMessage("user", "Observation: 391"),
    )
    assert exchange_messages(Exchange(action, Observation("no such file", ok=False)))[1] == (
        ChatMessage("user", "Observation: failed: no such file")
    )


def test_everything_that_fits_is_left_unchanged() -> None:
    history = exchanges(4)
    everything = HEAD + [m for e in history for m in exchange_messages(e)]
    assert compact(history, total(everything)) == everything
    assert compact([], total(HEAD)) == HEAD


def test_the_middle_is_summarised_and_the_last_exchanges_stay_verbatim() -> None:
    history = exchanges(6)
    result = compact(history, 200)
    verbatim = [m for e in history[-2:] for m in exchange_messages(e)]
    assert result[: len(HEAD)] == HEAD
    assert result[len(HEAD) + 1 :] == verbatim
    summary = result[len(HEAD)]
    assert summary.role == "user"
    assert summary.content.startswith("Earlier steps (summarised): 1. calculator(expression=1*23)")
    assert "3. read_file(path=file3.txt) -> failed: not found: file3.txt" in summary.content
    assert "4. calculator(expression=4*23) -> 92 and some" in summary.content
    assert "5." not in summary.content
    assert total(result) <= 200


def test_the_summary_is_deterministic_and_cuts_observations() -> None:
    history = exchanges(3)
    text = summarise_exchanges(history)
    assert text == summarise_exchanges(history)
    assert text == (
        "Earlier steps (summarised): "
        "1. calculator(expression=1*23) -> 23 and some long explanation and some long "
        "explanation and some long explanatio…; "  # 80 characters with the ellipsis
        "2. calculator(expression=2*23) -> 46 and some long explanation and some long "
        "explanation and some long explanatio…; "
        "3. read_file(path=file3.txt) -> failed: not found: file3.txt does not exist here"
    )
    assert summarise_exchanges(history, chars=20, left_out=2) == (
        "Earlier steps (summarised; steps 1-2 left out): "
        "3. read_file(path=file3.txt) -> failed: not found: file3.tx…"
    )
    assert summarise_exchanges(history, left_out=3) == (
        "Earlier steps (summarised; steps 1-3 left out)."
    )
    assert summarise_exchanges(history, left_out=1).startswith(
        "Earlier steps (summarised; step 1 left out): 2."
    )


def test_a_tighter_budget_shortens_the_summary_then_leaves_out_the_oldest_steps() -> None:
    history = exchanges(12)
    loose, tight, tighter = compact(history, 360), compact(history, 230), compact(history, 150)
    for result in (loose, tight, tighter):
        assert result[-4:] == [m for e in history[-2:] for m in exchange_messages(e)]
    assert len(tight[len(HEAD)].content) < len(loose[len(HEAD)].content)
    assert "left out" not in loose[len(HEAD)].content
    assert "left out): " in tighter[len(HEAD)].content
    assert tighter[len(HEAD)].content.endswith(  # the newest summarised step stays
        "; 10. calculator(expression=10*23) -> 230 and some long e…"
    )


def test_pairs_are_never_split_and_the_budget_holds_for_every_budget() -> None:
    history = exchanges(9)
    pairs = [exchange_messages(e) for e in history]
    head_tokens = total(HEAD)
    everything = total(HEAD + [m for pair in pairs for m in pair])
    shapes = set()
    for budget in range(head_tokens, everything + 20, 3):
        for keep_last in (0, 1, 2, 3):
            result = compact(history, budget, keep_last=keep_last)
            assert result[: len(HEAD)] == HEAD
            assert total(result) <= budget
            rest = result[len(HEAD) :]
            if rest and rest[0].content.startswith("Earlier steps"):
                rest = rest[1:]
            # Whatever stays verbatim is whole pairs, the newest ones, in order.
            assert len(rest) % 2 == 0
            kept = [tuple(rest[i : i + 2]) for i in range(0, len(rest), 2)]
            assert kept == pairs[len(pairs) - len(kept) :]
            assert all(m.role == "assistant" for m, _ in kept)
            assert not any(m.content.startswith("Earlier") for m in rest)
            if budget >= everything:
                assert len(kept) == len(pairs)
            shapes.add((len(kept), "Earlier" in "".join(m.content for m in result)))
    # The budgets ran through every way of compacting, down to the head alone.
    assert {(0, False), (0, True), (1, True), (2, True), (9, False)} <= shapes


def test_the_head_alone_over_the_budget_is_an_error() -> None:
    with pytest.raises(HistoryBudgetError, match=r"alone take \d+ tokens, more than the 10") as e:
        compact(exchanges(2), 10)
    assert isinstance(e.value, ModelError)
    with pytest.raises(ValueError, match="keep_last"):
        compact(exchanges(2), 1000, keep_last=-1)


def test_each_text_is_counted_once_and_a_real_counter_works() -> None:
    counter = WordCounter()
    history = exchanges(30)
    asyncio.run(compact_history(HEAD, history, 150, counter))
    assert len(counter.asked) == len(set(counter.asked))
    assert len(counter.asked) < 2 * 30 + len(HEAD) + 20  # the binary search keeps it short

    approximate = ApproximateCounter()
    result = asyncio.run(compact_history(HEAD, history, 400, approximate))

    async def count(messages: Sequence[ChatMessage]) -> int:
        return sum(
            [
                await approximate.count_tokens(m.content) + TEMPLATE_TOKENS_PER_MESSAGE
                for m in messages
            ]
        )

    assert asyncio.run(count(result)) <= 400
    assert result[: len(HEAD)] == HEAD
