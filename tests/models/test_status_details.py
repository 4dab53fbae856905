"""What the status of a model says: when ready, the backend, the model and how long it took
to load; when unavailable, why."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
from pathlib import Path

import pytest
from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ModelStatus
from purpose_desktop.models.bundled import BUNDLED_MODELS, smollm2_path
from purpose_desktop.models.pool import LocalModelPool
from purpose_desktop.models.router import ModelRouter


def statuses_of(reference: str, models_dir: Path, *, n_ctx: int = 512) -> list[ModelStatus]:
    """The statuses reported while ``reference`` is opened through the router, with Ollama
    nowhere to be found."""
    statuses: list[ModelStatus] = []
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}"

    async def scenario() -> None:
        pool = LocalModelPool(models_dir, n_ctx=n_ctx, n_threads=2)
        router = ModelRouter(pool, models_dir, n_ctx=n_ctx, ollama_host=nowhere)
        try:
            async with router.use(reference, models_dir, statuses.append):
                pass
        except ModelError:
            pass  # what matters here is what the statuses say
        finally:
            await router.aclose()

    asyncio.run(scenario())
    return statuses


@pytest.mark.model
@pytest.mark.parametrize("reference", ["bundled:smollm2-135m", "bundled:gemma3-270m"])
def test_ready_names_the_backend_the_model_and_the_load_time(
    reference: str, shared_models_dir: Path
) -> None:
    statuses = statuses_of(reference, shared_models_dir)
    assert [s.state for s in statuses] == ["loading", "ready"]
    # The catalog's title, not the name in the file's header (SmolLM2's is a training run's).
    name = BUNDLED_MODELS[reference.removeprefix("bundled:")].title
    base = "" if "smollm2" in reference else "; a base model, not tuned to follow instructions"
    assert re.fullmatch(
        rf"llama\.cpp, {re.escape(name)}, loaded in \d+\.\d s{base}", statuses[-1].detail
    ), statuses[-1].detail


def test_unavailable_says_why(tmp_path: Path) -> None:
    (tmp_path / "notes.gguf").write_text("just notes", encoding="utf-8")
    shutil.copy(smollm2_path(), tmp_path / "smol.gguf")
    reasons = {
        "missing.gguf": "Model file not found: 'missing.gguf'",
        "notes.gguf": "is not a GGUF model file",
        "auto:llama3.2-1b": "No backend has Llama 3.2 1B",
    }
    for reference, reason in reasons.items():
        (status,) = statuses_of(reference, tmp_path)
        assert status.state == "unavailable" and reason in status.detail, status
    # A model the file says is trained for 8192 tokens, asked for more.
    (status,) = statuses_of("smol.gguf", tmp_path, n_ctx=10_000)
    assert status.state == "unavailable"
    assert re.search(r"Context size 10000 is larger than .* allows \(8192\)", status.detail)
