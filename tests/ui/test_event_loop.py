"""The app's asyncio loop on Qt closes an abandoned async generator in a task of its own, as
asyncio's own loop does, so its clean-up code (an httpx stream's, anyio's cancel scopes) runs
inside the loop and never from the garbage collector outside any task."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any


def test_an_abandoned_async_generator_is_closed_in_a_task_of_the_loop(
    run_in_qt_loop: Callable[[Coroutine[Any, Any, Any]], Any],
) -> None:
    closed_in: list[asyncio.Task[Any] | None] = []

    async def stream() -> AsyncIterator[int]:
        try:
            yield 1
            yield 2
        finally:
            closed_in.append(asyncio.current_task())

    async def scenario() -> asyncio.Task[Any] | None:
        pieces = stream()
        assert await anext(pieces) == 1
        del pieces  # left unfinished, as a stopped answer leaves its stream
        gc.collect()
        for _ in range(5):  # the loop closes it in a task it starts
            await asyncio.sleep(0)
        return asyncio.current_task()

    ours = run_in_qt_loop(scenario())
    assert len(closed_in) == 1
    assert closed_in[0] is not None
    assert closed_in[0] is not ours
