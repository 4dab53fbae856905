"""Thread and batch settings that cannot work are refused with what to change, before a
worker process is started."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import psutil
import pytest
from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ModelStatus
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig
from purpose_desktop.models.pool import LocalModelPool

VALID = LocalModelConfig(smollm2_path(), n_ctx=512, n_threads=2, n_batch=512)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("n_threads", 0, "Thread count must be at least 1, not 0"),
        ("n_threads", -4, "Thread count must be at least 1, not -4"),
        ("n_batch", 0, "Batch size must be at least 1, not 0"),
        ("n_batch", -1, "Batch size must be at least 1, not -1"),
    ],
)
def test_threads_and_batch_below_one_are_refused_before_any_worker_starts(
    setting: str, value: int, message: str
) -> None:
    config = dataclasses.replace(VALID, **{setting: value})
    before = {child.pid for child in psutil.Process().children()}
    with pytest.raises(ModelError, match=message):
        asyncio.run(LlamaProcessModel.start("smollm2", config))
    assert {child.pid for child in psutil.Process().children()} == before


def test_the_pool_reports_a_thread_count_of_zero_as_unavailable(tmp_path: Path) -> None:
    statuses: list[ModelStatus] = []

    async def scenario() -> None:
        pool = LocalModelPool(tmp_path, n_ctx=512, n_threads=0)
        try:
            with pytest.raises(ModelError, match="Thread count must be at least 1, not 0"):
                async with pool.use("bundled:smollm2-135m", tmp_path, statuses.append):
                    pass
            assert pool.loaded() == []
        finally:
            await pool.aclose()

    asyncio.run(scenario())
    assert [(s.state, s.detail) for s in statuses] == [
        ("unavailable", "Thread count must be at least 1, not 0.")
    ]
