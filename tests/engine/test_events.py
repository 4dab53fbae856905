from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from purpose_desktop.engine.events import (
    Event,
    EventStream,
    RunStarted,
    Scored,
    TokenStreamed,
)


def test_events_are_numbered_in_order_for_every_subscriber() -> None:
    first: list[Event] = []
    second: list[Event] = []

    async def scenario() -> None:
        stream = EventStream("run-1", [first.append, second.append])
        stream.emit(RunStarted(team="t", task="x"))
        stream.emit(TokenStreamed(agent="a", text="hi"))
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
            stream.emit(TokenStreamed(agent="a", text=str(index)))
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
        stream.emit(TokenStreamed(agent="a", text="x"))
        stream.emit(TokenStreamed(agent="a", text="y"))
        await stream.aclose()

    asyncio.run(scenario())
    assert len(received) == 2
    assert "view crashed" in caplog.text


def test_events_are_frozen() -> None:
    async def scenario() -> TokenStreamed:
        stream = EventStream("r")
        return stream.emit(TokenStreamed(agent="a", text="x"))

    event = asyncio.run(scenario())
    with pytest.raises(AttributeError):
        event.text = "changed"  # type: ignore[misc]


def test_emitting_stamps_the_envelope_and_keeps_the_fields() -> None:
    sunk: list[Event] = []
    unstamped = Scored(agent="a", step=2, phi_before=1.0, phi=4.0, evidence="3 * 4 = 12")
    # An envelope given by the caller, such as a copy of a stored event's, is replaced.
    copied = TokenStreamed(run_id="other", seq=40, timestamp=1.0, agent="a", text="x")

    async def scenario() -> list[Event]:
        stream = EventStream("run-4", sink=sunk.append, last_seq=6)
        before = time.time()
        stamped = [stream.emit(unstamped), stream.emit(copied)]
        assert all(before <= event.timestamp <= time.time() for event in stamped)
        await stream.aclose()
        return stamped

    scored, token = asyncio.run(scenario())
    assert (unstamped.run_id, unstamped.seq, unstamped.timestamp) == ("", 0, 0.0)
    assert scored == replace(unstamped, run_id="run-4", seq=7, timestamp=scored.timestamp)
    assert (token.run_id, token.seq) == ("run-4", 8)
    assert token.timestamp != copied.timestamp
    assert sunk == [scored, token]
