"""Blocking work off the event loop, and progress reported back onto it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
V = TypeVar("V")


async def off_loop(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)`` on a worker thread; the event loop goes on meanwhile.
    Cancelling the caller stops waiting at once, but a call under way finishes on its thread
    (threads cannot be interrupted), so ``work`` must not leave half-done state."""
    return await asyncio.to_thread(work, *args, **kwargs)


def on_loop(report: Callable[[V], None]) -> Callable[[V], None]:
    """``report`` made safe to call from a worker thread: each call runs it on the event loop
    that is running now (where widgets may be touched). Call this on that loop."""
    loop = asyncio.get_running_loop()

    def call(value: V) -> None:
        loop.call_soon_threadsafe(report, value)

    return call


def stoppable_progress(
    on_progress: Callable[[int, int], None], stop: threading.Event
) -> Callable[[int, int], bool]:
    """A progress callback for a worker thread that copies or fetches a file: each
    ``(done, total)`` goes to ``on_progress`` on the event loop running now, and the answer is
    whether to go on (false once ``stop`` is set). Call this on that loop."""

    def show(done_total: tuple[int, int]) -> None:
        on_progress(*done_total)

    report = on_loop(show)

    def progress(done: int, total: int) -> bool:
        report((done, total))
        return not stop.is_set()

    return progress
