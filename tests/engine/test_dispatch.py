from __future__ import annotations

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.dispatch import EventDispatcher

SCORED = ev.Scored(
    run_id="r", seq=1, timestamp=0.0, agent="a", step=1, phi_before=0, phi=5, evidence="ok"
)
TOKEN = ev.TokenStreamed(run_id="r", seq=2, timestamp=0.0, agent="a", text="hi")


def test_each_event_reaches_the_handlers_of_its_type_in_the_order_registered() -> None:
    seen: list[str] = []
    dispatcher = EventDispatcher()
    dispatcher.on(ev.Scored, lambda event: seen.append(f"first {event.phi:g}"))
    dispatcher.on(ev.TokenStreamed, lambda event: seen.append(f"token {event.text}"))
    dispatcher.on(ev.Scored, lambda event: seen.append(f"second {event.step}"))

    assert dispatcher.dispatch(SCORED)
    assert dispatcher.dispatch(TOKEN)
    assert seen == ["first 5", "second 1", "token hi"]


def test_an_event_of_a_type_without_handlers_is_ignored() -> None:
    seen: list[ev.Event] = []
    dispatcher = EventDispatcher()
    dispatcher.on(ev.Scored, seen.append)

    assert not dispatcher.dispatch(TOKEN)
    assert not EventDispatcher().dispatch(SCORED)
    assert seen == []


def test_a_handler_for_the_base_type_does_not_catch_every_event() -> None:
    seen: list[ev.Event] = []
    dispatcher = EventDispatcher()
    dispatcher.on(ev.Event, seen.append)

    assert not dispatcher.dispatch(SCORED)
    assert dispatcher.dispatch(ev.Event(run_id="r", seq=3, timestamp=0.0))
    assert seen == [ev.Event(run_id="r", seq=3, timestamp=0.0)]


def test_a_failing_handler_stops_the_dispatch_and_reaches_the_caller() -> None:
    seen: list[ev.Event] = []

    def broken(event: ev.Scored) -> None:
        raise RuntimeError("view crashed")

    dispatcher = EventDispatcher()
    dispatcher.on(ev.Scored, broken)
    dispatcher.on(ev.Scored, seen.append)

    with pytest.raises(RuntimeError, match="view crashed"):
        dispatcher.dispatch(SCORED)
    assert seen == []
