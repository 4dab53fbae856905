"""Background tasks started from the UI, kept alive and watched for errors.

asyncio holds only weak references to tasks, so a task started from a slot and not stored
anywhere can vanish mid-run. Every task the UI starts goes through :class:`TaskKeeper`, which
holds it until it ends and hands any exception it raised to the error reporter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

ErrorReporter = Callable[[BaseException], None]


class TaskKeeper:
    def __init__(self, report: ErrorReporter) -> None:
        self._report = report
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self._report(error)

    async def cancel_all(self) -> None:
        """Cancel every running task and wait until they have all ended."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
