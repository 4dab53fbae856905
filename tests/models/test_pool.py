"""The local model pool: loading within a memory budget, least recently used first, never a
model in use; and model workers left behind by a crashed application."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ModelStatus
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.gguf_metadata import read_gguf_metadata
from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig
from purpose_desktop.models.memory import MIB, estimate_memory
from purpose_desktop.models.orphans import WorkerRecord, end_orphaned_workers
from purpose_desktop.models.pool import LocalModelPool

pytestmark = pytest.mark.model

N_CTX = 1024


@pytest.fixture
def three_models(tmp_path: Path) -> Path:
    """A models folder with three copies of the bundled SmolLM2 under different names."""
    folder = tmp_path / "models"
    folder.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(smollm2_path(), folder / f"{name}.gguf")
    return folder


def one_model_bytes() -> int:
    return estimate_memory(read_gguf_metadata(smollm2_path()), N_CTX).total


def test_least_recently_used_idle_model_is_unloaded_to_make_room(three_models: Path) -> None:
    statuses: list[ModelStatus] = []

    async def scenario() -> list[str]:
        budget = int(2.5 * one_model_bytes())  # room for two
        pool = LocalModelPool(three_models, n_ctx=N_CTX, n_threads=2, memory_budget=budget)
        try:
            for name in ("a.gguf", "b.gguf", "a.gguf", "c.gguf"):
                async with pool.use(name, three_models, statuses.append) as model:
                    assert model.alive
            return [loaded.name for loaded in pool.loaded()]
        finally:
            await pool.aclose()

    loaded = asyncio.run(scenario())
    assert loaded == ["c.gguf", "a.gguf"]  # b was used least recently
    unloaded = [s for s in statuses if s.state == "unloaded"]
    assert [s.model for s in unloaded] == ["b.gguf"]
    assert "to make room for c.gguf" in unloaded[0].detail


def test_a_model_in_use_is_never_unloaded_and_the_newcomer_is_refused(three_models: Path) -> None:
    async def scenario() -> str:
        budget = int(1.5 * one_model_bytes())  # room for one
        pool = LocalModelPool(three_models, n_ctx=N_CTX, n_threads=2, memory_budget=budget)
        try:
            async with pool.use("a.gguf", three_models, lambda s: None) as busy:
                with pytest.raises(ModelError) as refused:
                    async with pool.use("b.gguf", three_models, lambda s: None):
                        pass
                assert busy.alive
            # Once a is free, b takes its place.
            async with pool.use("b.gguf", three_models, lambda s: None) as model:
                assert model.alive and not busy.alive
            return str(refused.value)
        finally:
            await pool.aclose()

    message = asyncio.run(scenario())
    assert "b.gguf" in message and "does not fit" in message and "a.gguf" in message


def test_a_model_larger_than_the_budget_is_refused_with_what_it_needs(tmp_path: Path) -> None:
    statuses: list[ModelStatus] = []

    async def scenario() -> None:
        pool = LocalModelPool(tmp_path, n_ctx=N_CTX, n_threads=2, memory_budget=50 * MIB)
        try:
            async with pool.use("bundled:smollm2-135m", tmp_path, statuses.append):
                pass
        finally:
            await pool.aclose()

    with pytest.raises(ModelError) as refused:
        asyncio.run(scenario())
    assert f"needs about {one_model_bytes() / MIB:.0f} MiB (weights" in str(refused.value)
    assert "50 MiB" in str(refused.value)
    assert [s.state for s in statuses] == ["unavailable"]


def finished_process() -> list[object]:
    """The record entry of a process that has ended: an application that crashed."""
    process = psutil.Popen([sys.executable, "-c", "pass"])
    entry = [process.pid, process.create_time(), process.cmdline()]
    process.wait()
    return entry


def write_record(folder: Path, owner: list[object], workers: list[list[object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / f"{owner[0]}.json"
    record.write_text(json.dumps({"owner": owner, "workers": workers}))
    return record


def test_workers_of_a_crashed_application_are_ended_at_the_next_start(tmp_path: Path) -> None:
    folder = tmp_path / "workers"

    bystander = psutil.Popen([sys.executable, "-c", "import time; time.sleep(60)"])

    async def scenario() -> None:
        model = await LlamaProcessModel.start("left", LocalModelConfig(smollm2_path(), 512, 2))
        try:
            worker = psutil.Process(model.pid)
            # The bystander's pid and start time, another command line: not the process
            # recorded, whose pid was reused.
            reused = [bystander.pid, bystander.create_time(), ["a", "model", "worker"]]
            workers = [[worker.pid, worker.create_time(), worker.cmdline()], reused]
            record = write_record(folder, finished_process(), workers)
            ended = await asyncio.to_thread(end_orphaned_workers, folder)
            assert ended == [model.pid]
            assert not model.alive
            assert bystander.poll() is None
            assert not record.exists()
        finally:
            await model.aclose()

    try:
        asyncio.run(scenario())
    finally:
        bystander.kill()
        bystander.wait()


def test_workers_of_a_running_application_are_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "workers"

    async def scenario() -> None:
        record = WorkerRecord(folder)
        model = await LlamaProcessModel.start("mine", LocalModelConfig(smollm2_path(), 512, 2))
        try:
            record.add(model.pid)
            assert len(list(folder.glob("*.json"))) == 1
            assert await asyncio.to_thread(end_orphaned_workers, folder) == []
            assert model.alive
            record.remove(model.pid)
            assert list(folder.glob("*.json")) == []  # a clean exit leaves no record
        finally:
            await model.aclose()

    asyncio.run(scenario())


def test_an_unreadable_record_is_removed(tmp_path: Path) -> None:
    folder = tmp_path / "workers"
    folder.mkdir()
    (folder / "123.json").write_text("{not json")
    assert end_orphaned_workers(folder) == []
    assert list(folder.iterdir()) == []


def test_a_loaded_model_is_handed_out_while_another_loads(three_models: Path) -> None:
    async def scenario() -> list[str]:
        pool = LocalModelPool(three_models, n_ctx=N_CTX, n_threads=2)
        finished: list[str] = []

        async def use(name: str) -> None:
            async with pool.use(name, three_models, lambda s: None):
                finished.append(name)

        try:
            await use("a.gguf")
            loading_b = asyncio.create_task(use("b.gguf"))
            await asyncio.sleep(0)  # b's load has begun
            await use("a.gguf")
            await loading_b
            return finished
        finally:
            await pool.aclose()

    assert asyncio.run(scenario()) == ["a.gguf", "a.gguf", "b.gguf"]


def test_nothing_is_unloaded_for_a_model_that_cannot_fit_anyway(
    three_models: Path, shared_models_dir: Path
) -> None:
    from purpose_desktop.models.bundled import gemma3_path

    gemma = shutil.copy(gemma3_path(shared_models_dir), three_models / "gemma.gguf")
    assert estimate_memory(read_gguf_metadata(Path(gemma)), N_CTX).total > 1.5 * one_model_bytes()
    statuses: list[ModelStatus] = []

    async def scenario() -> list[str]:
        budget = int(2.5 * one_model_bytes())
        pool = LocalModelPool(three_models, n_ctx=N_CTX, n_threads=2, memory_budget=budget)
        try:
            async with pool.use("b.gguf", three_models, statuses.append):
                pass  # b stays loaded, idle
            async with pool.use("a.gguf", three_models, statuses.append):
                with pytest.raises(ModelError, match="does not fit"):
                    async with pool.use("gemma.gguf", three_models, statuses.append):
                        pass
            return sorted(loaded.name for loaded in pool.loaded())
        finally:
            await pool.aclose()

    assert asyncio.run(scenario()) == ["a.gguf", "b.gguf"]
    assert "unloaded" not in [s.state for s in statuses]


def test_a_worker_whose_parent_died_mid_line_exits(tmp_path: Path) -> None:
    from purpose_desktop.models.worker_entry import worker_command

    load = json.dumps(
        {
            "model_path": str(smollm2_path()),
            "n_ctx": 512,
            "n_threads": 2,
            "n_batch": 512,
            "chat_format": None,
        }
    )
    worker = subprocess.run(
        worker_command(),
        input=load + '\n{"op": "chat", "id"',
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert worker.returncode == 0
    assert '"ready"' in worker.stdout
