"""One loaded model answers one caller at a time: a second call waits for the first to end."""

from __future__ import annotations

import asyncio

import pytest
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.llama_process import LlamaProcessModel
from purpose_desktop.models.messages import ChatMessage, StreamDone, StreamEvent, TokenDelta
from tests.support.llama import GREEDY, QUESTION, collect, config, text_of

pytestmark = pytest.mark.model

QUESTIONS = {
    "france": QUESTION,
    "italy": [QUESTION[0], ChatMessage("user", "What is the capital of Italy?")],
}


def test_two_calls_at_once_take_turns_and_both_finish() -> None:
    timeline: list[tuple[str, StreamEvent]] = []

    async def ask(model: LlamaProcessModel, key: str) -> None:
        async for event in model.stream_chat(QUESTIONS[key], GREEDY):
            timeline.append((key, event))

    async def scenario() -> dict[str, str]:
        model = await LlamaProcessModel.start("smollm2", config(smollm2_path()))
        try:
            await asyncio.gather(ask(model, "france"), ask(model, "italy"))
            # Each answer on its own, to compare with what each got while the other waited.
            return {
                "france": text_of(await collect(model)),
                "italy": text_of([e async for e in model.stream_chat(QUESTIONS["italy"], GREEDY)]),
            }
        finally:
            await model.aclose()

    expected = asyncio.run(scenario())
    first = timeline[0][0]
    second = next(key for key in QUESTIONS if key != first)
    first_done = next(
        i for i, (key, e) in enumerate(timeline) if key == first and isinstance(e, StreamDone)
    )
    # Nothing of the second answer arrives before the first has finished...
    assert all(key == first for key, _ in timeline[: first_done + 1])
    assert all(key == second for key, _ in timeline[first_done + 1 :])
    # ...and both are whole, token for token what each call gets alone.
    for key in QUESTIONS:
        events = [event for who, event in timeline if who == key]
        assert sum(isinstance(e, TokenDelta) for e in events) > 1
        assert isinstance(events[-1], StreamDone)
        assert text_of(events) == expected[key]
    assert "Paris" in expected["france"] and "Italy" in expected["italy"]
