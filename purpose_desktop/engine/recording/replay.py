"""Replaying a recorded run: its stored events delivered again, in order, to subscribers, as
fast as they can take them or paced like the run itself."""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence

from purpose_desktop.engine.events import Event, EventStream, Subscriber

#: A replay at a speed never waits longer than this between two events: a run that stood
#: waiting for a person's review plays on without the pause.
MAX_PAUSE_S = 2.0


async def replay(
    events: AsyncIterable[Event],
    subscribers: Sequence[Subscriber],
    *,
    speed: float | None = None,
) -> int:
    """Deliver ``events`` to ``subscribers`` in order; returns how many.

    With ``speed`` the pauses between events follow their timestamps, divided by ``speed``
    (2.0: twice as fast) and at most :data:`MAX_PAUSE_S`; without it, no pauses. Returns when
    every subscriber has had every event; cancelling stops the replay where it is.
    """
    import asyncio

    if speed is not None and speed <= 0:
        raise ValueError(f"speed must be above 0, not {speed}")
    stream: EventStream | None = None
    count = 0
    previous: float | None = None
    try:
        async for event in events:
            if stream is None:
                stream = EventStream(event.run_id, list(subscribers))
            if speed is not None and previous is not None:
                pause = min(max(event.timestamp - previous, 0.0) / speed, MAX_PAUSE_S)
                await asyncio.sleep(pause)
            previous = event.timestamp
            stream.publish(event)
            count += 1
    finally:
        if stream is not None:
            await stream.aclose()
    return count
