"""Loading and unloading on request, changing the memory budget, watching the pool, and
checking a file with llama.cpp before it is added: what the Models pane relies on."""

from __future__ import annotations

import asyncio
import shutil
import struct
from pathlib import Path

import pytest
from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ModelStatus
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.gguf_metadata import read_gguf_metadata
from purpose_desktop.models.memory import MIB, estimate_memory
from purpose_desktop.models.pool import LocalModelPool

pytestmark = pytest.mark.model

N_CTX = 1024


def one_model_bytes() -> int:
    return estimate_memory(read_gguf_metadata(smollm2_path()), N_CTX).total


@pytest.fixture
def two_models(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    for name in ("a", "b"):
        shutil.copy(smollm2_path(), folder / f"{name}.gguf")
    return folder


def with_architecture(source: Path, target: Path, architecture: bytes) -> Path:
    """A copy of ``source`` whose header names another architecture (of the same length, so
    the rest of the file stays where it was): a well-formed GGUF llama.cpp cannot run."""
    data = bytearray(source.read_bytes())
    key = b"general.architecture"
    value = data.index(key) + len(key)
    kind, length = struct.unpack_from("<IQ", data, value)
    assert kind == 8 and length == len(architecture)  # a string of that length
    data[value + 12 : value + 12 + length] = architecture
    target.write_bytes(data)
    return target


def test_a_model_loaded_on_request_stays_until_unloaded(two_models: Path) -> None:
    seen: list[ModelStatus] = []
    watched: list[ModelStatus] = []

    async def scenario() -> None:
        pool = LocalModelPool(two_models, n_ctx=N_CTX, n_threads=2, memory_budget=2**40)
        stop_watching = pool.watch(watched.append)
        try:
            loaded = await pool.load("a.gguf", two_models, seen.append)
            assert loaded.name == "a.gguf" and not loaded.in_use
            assert loaded.path == str((two_models / "a.gguf").resolve())
            assert pool.memory_in_use == loaded.memory_bytes == one_model_bytes()
            # Using it now needs no load: no new status.
            async with pool.use("a.gguf", two_models, seen.append) as model:
                assert model.alive
                assert [m.in_use for m in pool.loaded()] == [True]
                with pytest.raises(ModelError, match="in use by a run"):
                    await pool.unload("a.gguf")
            assert await pool.unload("a.gguf") is True
            assert not model.alive and pool.loaded() == [] and pool.memory_in_use == 0
            assert await pool.unload("a.gguf") is False  # not loaded any more
            stop_watching()
            await pool.load("b.gguf", two_models, seen.append)
        finally:
            await pool.aclose()

    asyncio.run(scenario())
    assert [(s.model, s.state) for s in seen] == [
        ("a.gguf", "loading"),
        ("a.gguf", "ready"),
        ("b.gguf", "loading"),
        ("b.gguf", "ready"),
    ]
    # The watcher saw a's changes, the unload included, and nothing after it stopped.
    assert [(s.model, s.state) for s in watched] == [
        ("a.gguf", "loading"),
        ("a.gguf", "ready"),
        ("a.gguf", "unloaded"),
    ]


def test_a_lower_budget_unloads_the_least_recently_used_idle_model(two_models: Path) -> None:
    watched: list[ModelStatus] = []

    async def scenario() -> list[str]:
        pool = LocalModelPool(
            two_models, n_ctx=N_CTX, n_threads=2, memory_budget=3 * one_model_bytes()
        )
        pool.watch(watched.append)
        try:
            await pool.load("a.gguf", two_models, lambda s: None)
            await pool.load("b.gguf", two_models, lambda s: None)
            await pool.set_memory_budget(int(1.5 * one_model_bytes()), lambda s: None)
            assert pool.memory_budget == int(1.5 * one_model_bytes())
            with pytest.raises(ModelError, match="more than 0"):
                await pool.set_memory_budget(0, lambda s: None)
            return [m.name for m in pool.loaded()]
        finally:
            await pool.aclose()

    assert asyncio.run(scenario()) == ["b.gguf"]
    unloaded = [s for s in watched if s.state == "unloaded"]
    assert [s.model for s in unloaded] == ["a.gguf"]
    assert "to keep within the new budget" in unloaded[0].detail


def test_a_model_over_the_budget_is_refused_on_load_with_what_it_needs(two_models: Path) -> None:
    async def scenario() -> None:
        pool = LocalModelPool(two_models, n_ctx=N_CTX, n_threads=2, memory_budget=64 * MIB)
        try:
            await pool.load("a.gguf", two_models, lambda s: None)
        finally:
            await pool.aclose()

    with pytest.raises(ModelError) as refused:
        asyncio.run(scenario())
    assert "needs about" in str(refused.value) and "64 MiB" in str(refused.value)


def test_the_budget_defaults_to_half_of_the_memory(two_models: Path) -> None:
    import psutil

    pool = LocalModelPool(two_models, n_ctx=N_CTX, n_threads=2)
    assert pool.memory_budget == psutil.virtual_memory().total // 2


def test_check_file_lets_llama_cpp_read_the_file_first(tmp_path: Path) -> None:
    unknown = with_architecture(smollm2_path(), tmp_path / "odd.gguf", b"zzzzz")
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(smollm2_path().read_bytes()[:100_000])
    pool = LocalModelPool(tmp_path, n_ctx=N_CTX, n_threads=2)

    async def check(path: Path) -> str:
        try:
            return (await pool.check_file(path)).architecture
        except ModelError as exc:
            return str(exc)

    assert asyncio.run(check(smollm2_path())) == "llama"
    message = asyncio.run(check(unknown))
    assert "odd.gguf cannot be run by llama.cpp (its architecture is 'zzzzz')" in message
    assert "unknown model architecture" in message
    assert "truncated" in asyncio.run(check(truncated))
