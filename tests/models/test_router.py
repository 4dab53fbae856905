"""One provider for every backend: references routed to local files, Ollama or servers, and
``auto:`` models found where they are. Remote backends have their own suites (tests/ollama,
tests/servers); here they are absent or down, as on most users' machines."""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

import pytest
from purpose_desktop.config import ServerSetting
from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ModelStatus
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.messages import ChatMessage, GenerationOptions, TokenDelta
from purpose_desktop.models.pool import LocalModelPool
from purpose_desktop.models.probe import find_auto_model, probe_backends
from purpose_desktop.models.router import ModelRouter


def closed_port_url() -> str:
    """An address where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def router(models_dir: Path, **kwargs: object) -> ModelRouter:
    pool = LocalModelPool(models_dir, n_ctx=1024, n_threads=2)
    return ModelRouter(pool, models_dir, n_ctx=1024, **kwargs)  # type: ignore[arg-type]


@pytest.mark.model
def test_auto_finds_a_well_known_model_in_the_models_folder(tmp_path: Path) -> None:
    # A local file whose name marks it as Qwen3 0.6B (its content is SmolLM2: only the
    # name is looked at to find it).
    shutil.copy(smollm2_path(), tmp_path / "Qwen3-0.6B-Q8_0.gguf")
    statuses: list[ModelStatus] = []

    async def scenario() -> str:
        models = router(tmp_path, ollama_host=closed_port_url())
        try:
            async with models.use("auto:qwen3-0.6b", tmp_path, statuses.append) as model:
                pieces = [
                    e.text
                    async for e in model.stream_chat(
                        [ChatMessage("user", "Say hello.")], GenerationOptions(max_tokens=8)
                    )
                    if isinstance(e, TokenDelta)
                ]
                assert pieces
                return model.name
        finally:
            await models.aclose()

    assert asyncio.run(scenario()) == "Qwen3-0.6B-Q8_0.gguf"
    assert [s.state for s in statuses] == ["loading", "ready"]


def test_auto_prefers_the_bundled_copy(tmp_path: Path) -> None:
    found = asyncio.run(find_auto_model("smollm2-135m", tmp_path, closed_port_url(), ()))
    assert found == "bundled:smollm2-135m"


def test_auto_says_where_it_looked_when_nothing_has_the_model(tmp_path: Path) -> None:
    host = closed_port_url()
    servers = (ServerSetting("lab", closed_port_url() + "/v1"),)
    with pytest.raises(ModelError) as missing:
        asyncio.run(find_auto_model("llama3.2-1b", tmp_path, host, servers))
    message = str(missing.value)
    assert "Llama 3.2 1B" in message
    assert f"Ollama at {host}" in message and "lab" in message
    assert "ollama pull llama3.2:1b" in message


def test_an_unknown_auto_model_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="Known models: smollm2-135m"):
        asyncio.run(find_auto_model("gpt-9", tmp_path, closed_port_url(), ()))


def test_probe_reports_down_backends_quickly_and_the_local_models(tmp_path: Path) -> None:
    (tmp_path / "extra.gguf").write_bytes(b"GGUF")  # the magic and nothing else
    shutil.copy(smollm2_path(), tmp_path / "whole.gguf")
    servers = (ServerSetting("lab", closed_port_url() + "/v1"),)

    async def scenario() -> tuple[list[object], float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        reports = await probe_backends(tmp_path, closed_port_url(), servers)
        return list(reports), loop.time() - started

    reports, seconds = asyncio.run(scenario())
    local, ollama, lab = reports
    assert seconds < 10
    assert local.reachable and "bundled:smollm2-135m" in local.references  # type: ignore[attr-defined]
    assert "whole.gguf" in local.references  # type: ignore[attr-defined]
    # A file that only starts like GGUF is not offered, and the report says why.
    assert "extra.gguf" not in local.references  # type: ignore[attr-defined]
    (problem,) = local.unusable  # type: ignore[attr-defined]
    assert problem.startswith("extra.gguf: ") and "is truncated" in problem
    assert local.detail.endswith("1 in the models folder, 1 unusable")  # type: ignore[attr-defined]
    assert not ollama.reachable and "Ollama is not running" in ollama.detail  # type: ignore[attr-defined]
    assert not lab.reachable and "lab" in lab.detail  # type: ignore[attr-defined]


def test_auto_passes_over_an_unusable_file_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "Qwen3-0.6B-Q8_0.gguf").write_bytes(b"GGUF")
    with pytest.raises(ModelError) as missing:
        asyncio.run(find_auto_model("qwen3-0.6b", tmp_path, closed_port_url(), ()))
    message = str(missing.value)
    assert message.startswith("No backend has Qwen3 0.6B (auto:qwen3-0.6b).")
    assert f"llama.cpp at {tmp_path}: not there (Qwen3-0.6B-Q8_0.gguf: " in message
    assert "is truncated" in message


def test_a_server_reference_must_name_a_configured_server(tmp_path: Path) -> None:
    statuses: list[ModelStatus] = []

    async def scenario() -> None:
        models = router(tmp_path, servers=(ServerSetting("lab", closed_port_url() + "/v1"),))
        try:
            async with models.use("server:nowhere/model", tmp_path, statuses.append):
                pass
        finally:
            await models.aclose()

    with pytest.raises(ModelError, match="Configured servers: lab"):
        asyncio.run(scenario())
    assert [s.state for s in statuses] == ["loading", "unavailable"]


def test_an_ollama_reference_with_ollama_down_is_a_clear_error(tmp_path: Path) -> None:
    host = closed_port_url()

    async def scenario() -> None:
        models = router(tmp_path, ollama_host=host)
        try:
            async with models.use("ollama:qwen3:0.6b", tmp_path, lambda s: None):
                pass
        finally:
            await models.aclose()

    with pytest.raises(ModelError, match=f"Ollama is not running at {host}"):
        asyncio.run(scenario())
