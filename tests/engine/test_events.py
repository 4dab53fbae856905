from __future__ import annotations

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
    stream = EventStream("run-1", [first.append, second.append])
    stream.emit(RunStarted, team="t", task="x")
    stream.emit(TokenStreamed, agent="a", text="hi")
    assert [e.seq for e in first] == [1, 2]
    assert first == second
    assert all(e.run_id == "run-1" for e in first)
    assert first[0].timestamp <= first[1].timestamp


def test_a_failing_subscriber_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    received: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("view crashed")

    stream = EventStream("run-2", [broken, received.append])
    stream.emit(TokenStreamed, agent="a", text="x")
    assert len(received) == 1
    assert "view crashed" in caplog.text


def test_events_are_frozen() -> None:
    event = EventStream("r").emit(TokenStreamed, agent="a", text="x")
    with pytest.raises(AttributeError):
        event.text = "changed"  # type: ignore[misc]
