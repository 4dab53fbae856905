"""Concurrent work that never outlives its caller."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

__all__ = ["task_group"]


@contextlib.asynccontextmanager
async def task_group() -> AsyncIterator[asyncio.TaskGroup]:
    """An :class:`asyncio.TaskGroup` whose first failure is raised as it is, not inside an
    exception group, so that callers catch a :class:`~purpose_desktop.errors.UserError` as
    usual.

    Use it instead of ``asyncio.gather`` for work that holds something to let go of (a server
    process, say): when one task fails or the caller is cancelled, gather returns at once and
    leaves the other tasks running, while a task group cancels them and waits until they have
    all ended.
    """
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None
