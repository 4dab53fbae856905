"""Pulling a model into Ollama with its progress, through the real ``ollama`` client.

No Ollama daemon can be installed here: ``fake_ollama_server.py`` stands in for it, streaming
``/api/pull`` progress as Ollama does (backed by the bundled SmolLM2 file, whose size and
digest the progress reports) and listing the model pulled afterwards.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop import cli
from purpose_desktop.config import HOME_ENV
from purpose_desktop.errors import ModelError
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.ollama_backend import OllamaServer, PullProgress
from purpose_desktop.models.ollama_pull import pull_ollama_model
from tests.support.waiting import wait_until

from .conftest import FakeOllama

pytestmark = pytest.mark.model


def pulls(server: FakeOllama) -> list[dict[str, Any]]:
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
        server.url + "/_requests", timeout=10
    ) as response:
        result: list[dict[str, Any]] = json.loads(response.read())["pulls"]
    return result


async def listed(server: FakeOllama) -> list[str]:
    ollama = OllamaServer(server.url, timeout=10)
    try:
        return [model.name for model in await ollama.list_models()]
    finally:
        await ollama.aclose()


def test_a_pull_reports_ollamas_progress_and_the_model_is_then_listed(
    fake_ollama: FakeOllama,
) -> None:
    seen: list[PullProgress] = []

    pulled = asyncio.run(
        pull_ollama_model("ollama:smollm2:q4", seen.append, host=fake_ollama.url, max_silence=30)
    )

    assert pulled == "smollm2:q4"
    statuses = [line.status for line in seen]
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
    assert "verifying sha256 digest" in statuses
    layer = [line for line in seen if line.total]
    size = smollm2_path().stat().st_size  # the file the stand-in serves
    assert layer and all(line.total == size for line in layer)
    assert [line.completed for line in layer] == sorted(line.completed for line in layer)
    assert layer[-1].completed == size
    assert "smollm2:q4" in asyncio.run(listed(fake_ollama))


def test_a_model_ollama_cannot_pull_is_an_error_that_says_why(fake_ollama: FakeOllama) -> None:
    with pytest.raises(ModelError) as failure:
        asyncio.run(pull_ollama_model("no-such-model:1b", print, host=fake_ollama.url))

    assert str(failure.value) == (
        f"Ollama at {fake_ollama.url} reported an error while pulling 'no-such-model:1b': "
        "pull model manifest: file does not exist"
    )
    assert "no-such-model:1b" not in asyncio.run(listed(fake_ollama))


def test_cancelling_a_pull_closes_the_connection_and_adds_nothing(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.set_faults(pull_delay=0.3)
    seen: list[PullProgress] = []

    async def scenario() -> None:
        task = asyncio.create_task(
            pull_ollama_model("smollm2:cancelled", seen.append, host=fake_ollama.url)
        )
        await wait_until(lambda: any(line.total for line in seen), within=30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        # Ollama sees the connection close at its next line, and stops.
        await wait_until(lambda: pulls(fake_ollama)[-1]["outcome"] == "client disconnected", 10)

    asyncio.run(scenario())

    assert seen[-1].status != "success"
    assert pulls(fake_ollama)[-1]["model"] == "smollm2:cancelled"
    assert "smollm2:cancelled" not in asyncio.run(listed(fake_ollama))


def test_no_ollama_running_is_said_plainly(free_port: int) -> None:
    host = f"http://127.0.0.1:{free_port}"
    with pytest.raises(ModelError, match=f"Ollama is not running at {host}"):
        asyncio.run(pull_ollama_model("smollm2:135m", print, host=host, max_silence=5))


def test_the_cli_pulls_into_ollama(
    fake_ollama: FakeOllama,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)

    assert cli.main(["models", "pull", "ollama:smollm2:cli"]) == 0

    assert "Ollama has smollm2:cli now. Use it in a team file as  model: ollama:smollm2:cli" in (
        capsys.readouterr().out
    )
    assert "smollm2:cli" in asyncio.run(listed(fake_ollama))
    assert cli.main(["models", "pull", "ollama:missing:1b"]) == 2
    assert "pull model manifest: file does not exist" in capsys.readouterr().err
