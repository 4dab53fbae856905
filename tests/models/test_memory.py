"""Memory estimates from a GGUF header, checked against what a loaded worker really uses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psutil
import pytest
from purpose_desktop.models.bundled import gemma3_path, smollm2_path
from purpose_desktop.models.gguf_metadata import read_gguf_metadata
from purpose_desktop.models.llama_process import LlamaProcessModel, LocalModelConfig
from purpose_desktop.models.memory import estimate_memory
from purpose_desktop.models.messages import ChatMessage, GenerationOptions

pytestmark = pytest.mark.model


def resident_bytes(path: Path, n_ctx: int) -> int:
    """Resident memory of a worker with the model loaded and one answer generated."""

    async def scenario() -> int:
        model = await LlamaProcessModel.start("m", LocalModelConfig(path, n_ctx, n_threads=2))
        try:
            options = GenerationOptions(max_tokens=4, temperature=0.0)
            async for _ in model.stream_chat([ChatMessage("user", "Hi")], options):
                pass
            return int(psutil.Process(model.pid).memory_info().rss)
        finally:
            await model.aclose()

    return asyncio.run(scenario())


@pytest.mark.parametrize("n_ctx", [1024, 4096])
def test_estimate_covers_what_the_worker_uses_without_wasting_much(
    n_ctx: int, shared_models_dir: Path
) -> None:
    for path in (smollm2_path(), gemma3_path(shared_models_dir)):
        estimate = estimate_memory(read_gguf_metadata(path), n_ctx)
        used = resident_bytes(path, n_ctx)
        # The prompt cache fills as prompts recur; a single short request leaves it empty.
        loaded = estimate.total - estimate.prompt_cache
        assert used <= loaded <= used * 1.35, (path.name, n_ctx, used, loaded)


def test_a_larger_context_needs_more_memory() -> None:
    metadata = read_gguf_metadata(smollm2_path())
    small, large = estimate_memory(metadata, 1024), estimate_memory(metadata, 8192)
    assert large.kv_cache == 8 * small.kv_cache
    assert large.weights == small.weights == metadata.size_bytes
    assert "MiB" in large.describe()
