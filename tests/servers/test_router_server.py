"""The router with an OpenAI-compatible server configured: ``server:`` references reach the
real llama_cpp.server with the key from the keyring."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from purpose_desktop.config import ServerSetting
from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ModelStatus
from purpose_desktop.models.messages import ChatMessage, GenerationOptions, TokenDelta
from purpose_desktop.models.pool import LocalModelPool
from purpose_desktop.models.router import ModelRouter
from purpose_desktop.secrets import save_api_key

from .conftest import LlamaServer, MemoryKeyring

pytestmark = pytest.mark.model


def ask(reference: str, models_dir: Path, server: LlamaServer) -> tuple[str, list[ModelStatus]]:
    statuses: list[ModelStatus] = []

    async def scenario() -> str:
        pool = LocalModelPool(models_dir, n_ctx=1024, n_threads=2)
        router = ModelRouter(
            pool, models_dir, n_ctx=1024, servers=(ServerSetting("lab", server.base_url),)
        )
        try:
            async with router.use(reference, models_dir, statuses.append) as model:
                return "".join([
                    e.text async for e in model.stream_chat(
                        [ChatMessage("user", "What is the capital of France?")],
                        GenerationOptions(max_tokens=12, temperature=0.0),
                    ) if isinstance(e, TokenDelta)
                ])
        finally:
            await router.aclose()

    return asyncio.run(scenario()), statuses


def test_a_server_reference_uses_the_key_from_the_keyring(
    llama_server: LlamaServer, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    save_api_key("lab", llama_server.api_key)
    text, statuses = ask(f"server:lab/{llama_server.model_id}", tmp_path, llama_server)
    assert "Paris" in text
    assert [s.state for s in statuses] == ["loading", "ready"]
    assert "server lab" in statuses[-1].detail


def test_without_a_saved_key_the_server_refusal_is_explained(
    llama_server: LlamaServer, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    with pytest.raises(ModelError) as refused:
        ask(f"server:lab/{llama_server.model_id}", tmp_path, llama_server)
    assert "key" in str(refused.value).lower() and "lab" in str(refused.value)


def test_a_model_the_server_does_not_offer_is_named_with_what_it_offers(
    llama_server: LlamaServer, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    save_api_key("lab", llama_server.api_key)
    with pytest.raises(ModelError) as missing:
        ask("server:lab/no-such-model", tmp_path, llama_server)
    assert "no model 'no-such-model'" in str(missing.value)
    assert llama_server.model_id in str(missing.value)
