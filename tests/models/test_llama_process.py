"""The GGUF backend, with the bundled models loaded in real worker processes."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ModelStatus
from purpose_desktop.models.bundled import gemma3_path, smollm2_path
from purpose_desktop.models.llama_cpu import prepare_llama_cpp
from purpose_desktop.models.llama_process import LlamaProcessModel
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamDone,
    StreamEvent,
    TokenDelta,
)
from purpose_desktop.models.pool import LocalModelPool
from tests.support.llama import GREEDY, QUESTION, collect, config, text_of
from tests.support.multibyte import MULTIBYTE_QUESTIONS, has_multibyte
from tests.support.processes import is_gone

pytestmark = pytest.mark.model


def test_smollm2_streams_tokens_from_its_own_process() -> None:
    async def scenario() -> None:
        model = await LlamaProcessModel.start("smollm2", config(smollm2_path()))
        try:
            assert model.pid != os.getpid()
            assert model.n_threads == 2  # the setting reached llama.cpp
            assert model.chat_format is None  # the file's own ChatML template is used
            events = await collect(model)
            tokens = [e for e in events if isinstance(e, TokenDelta)]
            done = events[-1]
            assert len(tokens) > 1
            assert isinstance(done, StreamDone)
            assert done.usage.completion_tokens > 0
            assert done.usage.prompt_tokens > 0
            assert "Paris" in text_of(events)
        finally:
            await model.aclose()
        assert not model.alive

    asyncio.run(scenario())


def raw_smollm2() -> Any:
    """SmolLM2 in raw llama-cpp-python, in this process, set up as the worker sets it up."""
    from llama_cpp import Llama

    prepare_llama_cpp()
    # verbose=True: verbose=False swaps file descriptors and leaks them in this version.
    return Llama(str(smollm2_path()), n_ctx=1024, n_threads=2, n_batch=512, verbose=True)


def test_stream_is_token_for_token_what_raw_llama_cpp_generates() -> None:
    raw = raw_smollm2()
    expected = raw.create_chat_completion(
        [{"role": m.role, "content": m.content} for m in QUESTION],
        max_tokens=GREEDY.max_tokens,
        temperature=0.0,
        seed=1,
    )
    del raw

    async def scenario() -> list[StreamEvent]:
        model = await LlamaProcessModel.start("smollm2", config(smollm2_path()))
        try:
            return await collect(model)
        finally:
            await model.aclose()

    events = asyncio.run(scenario())
    done = events[-1]
    assert isinstance(done, StreamDone)
    assert text_of(events) == expected["choices"][0]["message"]["content"]
    assert done.usage.completion_tokens == expected["usage"]["completion_tokens"]


def test_gemma_without_template_gets_the_gemma_chat_format(shared_models_dir: Path) -> None:
    async def scenario() -> None:
        model = await LlamaProcessModel.start("gemma", config(gemma3_path(shared_models_dir)))
        try:
            assert model.chat_format == "gemma"
            events = await collect(model)
            assert isinstance(events[-1], StreamDone)
            assert events[-1].usage.completion_tokens > 0
            assert text_of(events)
        finally:
            await model.aclose()

    asyncio.run(scenario())


def test_closing_a_stream_early_cancels_it_and_the_next_call_is_clean() -> None:
    async def scenario() -> None:
        model = await LlamaProcessModel.start("smollm2", config(smollm2_path()))
        try:
            stream = model.stream_chat(QUESTION, GenerationOptions(max_tokens=200, seed=1))
            async for event in stream:
                if isinstance(event, TokenDelta):
                    break
            await stream.aclose()
            answer = await collect(model)
            assert isinstance(answer[-1], StreamDone)
            assert "Paris" in text_of(answer)
        finally:
            await model.aclose()

    asyncio.run(scenario())


def test_killing_the_host_mid_stream_is_a_clear_error_and_the_model_can_be_reloaded(
    tmp_path: Path,
) -> None:
    statuses: list[ModelStatus] = []

    async def scenario() -> None:
        pool = LocalModelPool(tmp_path, n_ctx=1024, n_threads=2)
        try:
            with pytest.raises(ModelError) as caught:
                async with pool.use("bundled:smollm2-135m", tmp_path, statuses.append) as model:
                    first_pid = model.pid
                    async for event in model.stream_chat(
                        QUESTION, GenerationOptions(max_tokens=200)
                    ):
                        if isinstance(event, TokenDelta):
                            os.kill(model.pid, signal.SIGKILL)
            message = str(caught.value)
            assert "smollm2-135m" in message
            assert "SIGKILL" in message
            assert "Load it again" in message
            async with pool.use("bundled:smollm2-135m", tmp_path, statuses.append) as again:
                assert again.pid != first_pid
                assert "Paris" in text_of(await collect(again))
        finally:
            await pool.aclose()

    asyncio.run(scenario())
    assert [s.state for s in statuses] == ["loading", "ready", "loading", "ready"]


def test_no_worker_outlives_the_pool(tmp_path: Path) -> None:
    async def scenario() -> int:
        pool = LocalModelPool(tmp_path, n_ctx=512, n_threads=2)
        async with pool.use("bundled:smollm2-135m", tmp_path, lambda status: None) as model:
            pid = model.pid
        await pool.aclose()
        return pid

    pid = asyncio.run(scenario())
    assert is_gone(pid)


def test_unsupported_architecture_is_reported_with_llama_cpp_reason(tmp_path: Path) -> None:
    data = bytearray(smollm2_path().read_bytes())
    start = data.index(b"general.architecture")
    at = data.index(b"llama", start)
    data[at : at + 5] = b"xxxxx"
    path = tmp_path / "odd.gguf"
    path.write_bytes(data)
    with pytest.raises(ModelError, match=r"unknown model architecture: 'xxxxx'"):
        asyncio.run(LlamaProcessModel.start("odd", config(path)))


@pytest.mark.parametrize(
    ("n_ctx", "message"),
    [(0, "must be a positive number"), (10**6, "larger than .* allows \\(8192\\)")],
)
def test_context_size_is_validated(n_ctx: int, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        asyncio.run(LlamaProcessModel.start("smollm2", config(smollm2_path(), n_ctx=n_ctx)))


@pytest.mark.parametrize("content", [b"", b"plain text, renamed\n"])
def test_bad_files_never_reach_llama_cpp(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=r"bad\.gguf"):
        asyncio.run(LlamaProcessModel.start("bad", config(path)))


def test_a_file_removed_after_it_was_named_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "gone.gguf"
    path.write_bytes(smollm2_path().read_bytes()[:100])
    path.unlink()
    with pytest.raises(ModelError, match="Model file not found"):
        asyncio.run(LlamaProcessModel.start("gone", config(path)))


def test_multibyte_characters_arrive_whole() -> None:
    """Japanese and emoji take several tokens per character in SmolLM2's vocabulary; the
    stream must still carry whole characters, exactly as a non-streamed answer decodes."""
    raw = raw_smollm2()
    for text in MULTIBYTE_QUESTIONS:
        question = [ChatMessage("user", text)]
        expected = raw.create_chat_completion(
            [{"role": m.role, "content": m.content} for m in question],
            max_tokens=40,
            temperature=0.0,
            seed=1,
        )["choices"][0]["message"]["content"]
        if has_multibyte(expected):
            break
    del raw
    assert has_multibyte(expected)  # the model did produce such characters

    async def scenario() -> list[StreamEvent]:
        model = await LlamaProcessModel.start("smollm2", config(smollm2_path()))
        try:
            options = GenerationOptions(max_tokens=40, temperature=0.0, seed=1)
            return [event async for event in model.stream_chat(question, options)]
        finally:
            await model.aclose()

    events = asyncio.run(scenario())
    pieces = [e.text for e in events if isinstance(e, TokenDelta)]
    assert "".join(pieces) == expected
    assert not any("\ufffd" in piece for piece in pieces)
