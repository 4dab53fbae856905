from __future__ import annotations

import asyncio

import pytest
from purpose_desktop.engine.events import (
    Event,
    EventStream,
    RunStarted,
    TokenStreamed,
)


def test_events_are_numbered_in_order_for_every_subscriber() -> None:
    first: list[Event] = []
    second: list[Event] = []

    async def scenario() -> None:
        stream = EventStream("run-1", [first.append, second.append])
        stream.emit(RunStarted, team="t", task="x")
        stream.emit(TokenStreamed, agent="a", text="hi")
        await stream.aclose()

    asyncio.run(scenario())
    assert [e.seq for e in first] == [1, 2]
    assert first == second
    assert all(e.run_id == "run-1" for e in first)
    assert first[0].timestamp <= first[1].timestamp


def test_emitting_never_waits_for_a_subscriber() -> None:
    received: list[Event] = []

    async def slow(event: Event) -> None:
        await asyncio.sleep(0.01)
        received.append(event)

    async def scenario() -> None:
        stream = EventStream("run-3", [slow])
        for index in range(20):
            stream.emit(TokenStreamed, agent="a", text=str(index))
        assert received == []  # all twenty emitted before the first was delivered
        await stream.aclose()

    asyncio.run(scenario())
    assert [e.text for e in received if isinstance(e, TokenStreamed)] == [str(i) for i in range(20)]


def test_a_failing_subscriber_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    received: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("view crashed")

    async def scenario() -> None:
        stream = EventStream("run-2", [broken, received.append])
        stream.emit(TokenStreamed, agent="a", text="x")
        stream.emit(TokenStreamed, agent="a", text="y")
        await stream.aclose()

    asyncio.run(scenario())
    assert len(received) == 2
    assert "view crashed" in caplog.text


def test_events_are_frozen() -> None:
    async def scenario() -> TokenStreamed:
        stream = EventStream("r")
        return stream.emit(TokenStreamed, agent="a", text="x")

    event = asyncio.run(scenario())
    with pytest.raises(AttributeError):
        event.text = "changed"  # type: ignore[misc]
