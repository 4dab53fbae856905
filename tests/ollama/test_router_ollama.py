"""The router with Ollama reachable: ``ollama:`` references, ``auto:`` models found there, and
``models probe`` listing them. No Ollama daemon can be installed here, so the stand-in server of
this folder answers for it, generating with the real bundled SmolLM2."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from purpose_desktop.config import HOME_ENV
from purpose_desktop.models.base import ModelStatus
from purpose_desktop.models.messages import ChatMessage, GenerationOptions, TokenDelta
from purpose_desktop.models.pool import LocalModelPool
from purpose_desktop.models.router import ModelRouter

from .conftest import FakeOllama, running_fake_ollama

pytestmark = pytest.mark.model

# A registry model with no bundled copy, served by the stand-in under its Ollama name.
QWEN = "qwen3:0.6b"


@pytest.fixture(scope="module")
def ollama_with_qwen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeOllama]:
    with running_fake_ollama(tmp_path_factory.mktemp("ollama-qwen"), QWEN) as server:
        yield server


def ask(reference: str, models_dir: Path, host: str) -> tuple[str, list[ModelStatus]]:
    statuses: list[ModelStatus] = []

    async def scenario() -> str:
        pool = LocalModelPool(models_dir, n_ctx=1024, n_threads=2)
        router = ModelRouter(pool, models_dir, n_ctx=1024, ollama_host=host)
        try:
            for _ in range(2):  # the second call reuses the same client and context size
                async with router.use(reference, models_dir, statuses.append) as model:
                    text = "".join(
                        [
                            e.text
                            async for e in model.stream_chat(
                                [ChatMessage("user", "What is the capital of France?")],
                                GenerationOptions(max_tokens=12, temperature=0.0),
                            )
                            if isinstance(e, TokenDelta)
                        ]
                    )
            return text
        finally:
            await router.aclose()

    return asyncio.run(scenario()), statuses


def test_an_ollama_reference_streams_from_ollama(
    ollama_with_qwen: FakeOllama, tmp_path: Path
) -> None:
    text, statuses = ask(f"ollama:{QWEN}", tmp_path, ollama_with_qwen.url)
    assert text.strip()
    assert ollama_with_qwen.requests()[-1]["pieces"]  # generated there, by the real model
    assert [s.state for s in statuses] == ["loading", "ready"]
    assert re.fullmatch(
        rf"Ollama at {re.escape(ollama_with_qwen.url)}, {re.escape(QWEN)}, context 1024, "
        r"connected in \d+\.\d s",
        statuses[-1].detail,
    ), statuses[-1].detail
    sent = [r["body"] for r in ollama_with_qwen.requests()][-2:]
    assert [r["model"] for r in sent] == [QWEN, QWEN]
    assert sent[0]["options"]["num_ctx"] == sent[1]["options"]["num_ctx"] == 1024


def test_auto_finds_a_model_ollama_has(ollama_with_qwen: FakeOllama, tmp_path: Path) -> None:
    text, statuses = ask("auto:qwen3-0.6b", tmp_path, ollama_with_qwen.url)
    assert text.strip()
    assert statuses[0].model == f"ollama:{QWEN}"


def test_models_probe_lists_what_ollama_offers(
    ollama_with_qwen: FakeOllama, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.json").write_text(json.dumps({"ollama_host": ollama_with_qwen.url}))
    result = subprocess.run(
        [sys.executable, "-m", "purpose_desktop", "models", "probe", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, HOME_ENV: str(home)},
    )
    assert result.returncode == 0, result.stderr
    reports = {report["backend"]: report for report in json.loads(result.stdout)}
    assert reports["Ollama"]["reachable"] is True
    assert reports["Ollama"]["references"] == [f"ollama:{QWEN}"]
    assert "bundled:smollm2-135m" in reports["llama.cpp"]["references"]


def test_a_long_task_is_fitted_to_the_ollama_context_with_a_warning(
    ollama_with_qwen: FakeOllama, tmp_path: Path
) -> None:
    from purpose_desktop.engine.events import Event, WarningRaised
    from purpose_desktop.engine.loop.run import RunOutcome, TeamRunner
    from purpose_desktop.engine.team_file import load_team
    from tests.support.scripted_team import memory_at

    team_file = tmp_path / "team.yaml"
    team_file.write_text(
        "name: Remote\nagents:\n  - name: reader\n    role: Answer briefly.\n"
        f"    model: ollama:{QWEN}\n",
        encoding="utf-8",
    )
    log = " ".join(f"Line {i}: the pump pressure was {i % 9} bar." for i in range(400))
    events: list[Event] = []

    async def scenario() -> RunOutcome:
        pool = LocalModelPool(tmp_path, n_ctx=512, n_threads=2)
        router = ModelRouter(pool, tmp_path, n_ctx=512, ollama_host=ollama_with_qwen.url)
        try:
            runner = TeamRunner(
                router,
                memory_at(tmp_path / "memory.sqlite3"),
                workspaces_dir=tmp_path / "workspaces",
                max_answer_tokens=32,
            )
            return await runner.run(
                load_team(team_file), f"{log} Which is most common?", [events.append]
            )
        finally:
            await router.aclose()

    outcome = asyncio.run(scenario())
    assert outcome.status == "completed", outcome.error
    assert any(isinstance(e, WarningRaised) and "512" in e.message for e in events)
    sent = ollama_with_qwen.requests()[-1]
    assert sent["body"]["options"]["num_ctx"] == 512
    assert sent["done"]["prompt_eval_count"] <= 512 - 32  # the real model's own count
