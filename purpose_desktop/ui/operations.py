"""Background work started from a pane: one helper instead of a hand-rolled task per slot.

A pane hands :meth:`Operations.run` a service call to make (a function returning its
coroutine) (the services run their
blocking work on worker threads, never on the event loop) and says what to do with its result
and with a failure. Failures split as everywhere in the app: a :class:`UserError` is the
environment's fault (a database that cannot be read, a file that is gone) and goes to the
pane's ``failed`` callback with the words a person needs; any other exception is a bug and
goes to the app's error reporter through the :class:`TaskKeeper`.

An operation started with ``latest=True`` replaces an unfinished one of the same name (a
refresh asked for while another is under way): the earlier one is cancelled and its callbacks
are never called, so a slow old answer cannot overwrite a newer one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from purpose_desktop.errors import UserError
from purpose_desktop.ui.tasks import TaskKeeper

T = TypeVar("T")

Failed = Callable[[UserError], None]


class Operations:
    """The background operations of one pane (or dialog), kept alive and cancellable."""

    def __init__(self, tasks: TaskKeeper) -> None:
        self._tasks = tasks
        self._latest: dict[str, asyncio.Task[None]] = {}

    def run(
        self,
        name: str,
        work: Callable[[], Awaitable[T]],
        *,
        done: Callable[[T], None],
        failed: Failed,
        latest: bool = False,
    ) -> asyncio.Task[None]:
        """Await ``work()`` in a task of its own; then call ``done`` with its result, or
        ``failed`` with the :class:`UserError` it raised. Both are called on the event loop's
        thread, so they may touch widgets. ``name`` labels the task (and, with ``latest``,
        which earlier operation this one replaces)."""
        if latest and (earlier := self._latest.pop(name, None)) is not None:
            earlier.cancel()
        task = self._tasks.start(_settle(work, done, failed), name)
        if latest:
            self._latest[name] = task
            task.add_done_callback(lambda ended: self._forget(name, ended))
        return task

    def busy(self, name: str) -> bool:
        """Whether a ``latest`` operation called ``name`` is under way."""
        return name in self._latest

    def cancel(self, name: str) -> None:
        """Cancel the ``latest`` operation called ``name``, if one is under way: its callbacks
        are not called."""
        if (task := self._latest.pop(name, None)) is not None:
            task.cancel()

    def _forget(self, name: str, ended: asyncio.Task[None]) -> None:
        if self._latest.get(name) is ended:
            del self._latest[name]


async def _settle(
    work: Callable[[], Awaitable[T]], done: Callable[[T], None], failed: Failed
) -> None:
    # The call is made here, not by the caller: an operation cancelled before it starts then
    # leaves no coroutine behind that was never awaited.
    try:
        result = await work()
    except UserError as exc:
        failed(exc)
        return
    done(result)
