"""task_group: the first failure raised as itself, the other tasks cancelled and waited for."""

from __future__ import annotations

import asyncio
import logging

import pytest
from purpose_desktop.errors import UserError
from purpose_desktop.task_groups import task_group


def test_the_first_failure_is_raised_as_itself_after_the_others_have_ended(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ended: list[str] = []

    async def fails() -> None:
        try:
            raise ValueError("the file is not JSON")
        except ValueError as exc:
            raise UserError("mcp.json is not valid") from exc

    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.1)  # stopping takes a while, and is waited for
            ended.append("slow")

    async def also_fails() -> None:
        raise RuntimeError("a bug beside it")  # at its first step, as the other one does

    async def scenario() -> None:
        async with task_group() as group:
            group.create_task(slow_to_stop())
            group.create_task(fails())
            group.create_task(also_fails())

    with pytest.raises(UserError, match="not valid") as caught:
        asyncio.run(scenario())
    assert isinstance(caught.value.__cause__, ValueError)
    assert ended == ["slow"]
    logged = [r.exc_info[1] for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert [str(error) for error in logged] == ["a bug beside it"]


def test_a_cancelled_caller_waits_for_its_tasks() -> None:
    ended: list[str] = []

    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.1)
            ended.append("slow")

    async def scenario() -> None:
        async def caller() -> None:
            async with task_group() as group:
                group.create_task(slow_to_stop())

        task = asyncio.create_task(caller())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert ended == ["slow"]  # already, when the cancelled caller returned

    asyncio.run(scenario())
