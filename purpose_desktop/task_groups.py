"""Concurrent work that never outlives its caller."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

__all__ = ["task_group"]

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def task_group() -> AsyncIterator[asyncio.TaskGroup]:
    """An :class:`asyncio.TaskGroup` whose first failure is raised as it is, not inside an
    exception group, so that callers catch a :class:`~purpose_desktop.errors.UserError` as
    usual; any further failures are logged.

    Use it instead of ``asyncio.gather`` for work that holds something to let go of (a server
    process, say): when one task fails or the caller is cancelled, gather returns at once and
    leaves the other tasks running, while a task group cancels them and waits until they have
    all ended.
    """
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as failures:
        first, *others = failures.exceptions
        for other in others:
            log.error("A task failed beside another one", exc_info=other)
        raise first from first.__cause__
