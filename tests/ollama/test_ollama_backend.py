"""The Ollama backend, against a stand-in for Ollama that generates with a real model.

No Ollama daemon can be installed on the machines these tests run on, so
``fake_ollama_server.py`` stands in for it: a local HTTP server, started once for this
module, that speaks Ollama's API (the same endpoints and JSON shapes, NDJSON streaming) and
generates every answer with the bundled SmolLM2-135M through llama.cpp. Its fault switches
reproduce what goes wrong with a real server: too slow, an error in the middle of an
answer, a dropped connection, an error status, text that ignores the schema.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from purpose_desktop.errors import ModelError
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamDone,
    StreamEvent,
    ThinkingDelta,
    TokenDelta,
)
from purpose_desktop.models.ollama_backend import (
    DEFAULT_HOST,
    OllamaChatModel,
    OllamaModelInfo,
    OllamaServer,
    ollama_host,
)
from purpose_desktop.models.structured import ModelOutputError, generate_json

from .conftest import FakeOllama

pytestmark = pytest.mark.model

NUM_CTX = 1024
KEEP_ALIVE = "10m"
QUESTION = [
    ChatMessage("system", "You are a concise assistant. Answer in one or two sentences."),
    ChatMessage("user", "What is the capital of France?"),
]
STORY = [ChatMessage("user", "Write a long story about a dragon who learns to bake bread.")]
GREEDY = GenerationOptions(max_tokens=24, temperature=0.0, seed=1)
CAPITAL = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 30},
        "country": {"type": "string", "maxLength": 30},
    },
    "required": ["city", "country"],
    "additionalProperties": False,
}
ASK_JSON = [
    ChatMessage("system", "Reply with JSON: the city and its country."),
    ChatMessage("user", "What is the capital of France?"),
]


def chat_model(fake: FakeOllama, name: str | None = None, timeout: float = 30.0) -> OllamaChatModel:
    return OllamaChatModel(
        name or fake.model, num_ctx=NUM_CTX, host=fake.url, timeout=timeout, keep_alive=KEEP_ALIVE
    )


async def collect(
    model: OllamaChatModel,
    messages: Sequence[ChatMessage] = QUESTION,
    options: GenerationOptions = GREEDY,
    into: list[StreamEvent] | None = None,
) -> list[StreamEvent]:
    events = [] if into is None else into
    async for event in model.stream_chat(messages, options):
        events.append(event)
    return events


def text_of(events: Sequence[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TokenDelta))


def thinking_of(events: Sequence[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, ThinkingDelta))


async def outcome_of(fake: FakeOllama, index: int, seconds: float = 10.0) -> dict[str, Any]:
    """The server's record of chat request ``index`` once the server has finished it."""
    deadline = time.monotonic() + seconds
    while True:
        requests = fake.requests()
        if len(requests) > index and requests[index]["outcome"] != "started":
            return requests[index]
        assert time.monotonic() < deadline, f"request {index} never finished: {requests}"
        await asyncio.sleep(0.05)


# --- addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", DEFAULT_HOST),
        ("127.0.0.1", "http://127.0.0.1:11434"),
        (":11500", "http://127.0.0.1:11500"),
        ("example.com:8080/", "http://example.com:8080"),
        ("http://example.com", "http://example.com:80"),
        ("https://example.com/ollama/", "https://example.com:443/ollama"),
        ("[::1]:11434", "http://[::1]:11434"),
    ],
)
def test_addresses_are_read_as_ollama_host_is(given: str, expected: str) -> None:
    assert ollama_host(given) == expected


def test_an_address_that_is_not_a_url_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="not a valid address for an Ollama server"):
        OllamaServer("ftp://example.com")
    with pytest.raises(ModelError, match="not a valid address for an Ollama server"):
        OllamaServer("example.com:port")


def test_a_context_size_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ModelError, match=r"'m'.*positive number of tokens, not 0"):
        OllamaChatModel("m", num_ctx=0)


def test_the_server_address_comes_from_ollama_host(
    fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert ollama_host() == DEFAULT_HOST
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{fake_ollama.port}")

    async def scenario() -> tuple[str, tuple[OllamaModelInfo, ...]]:
        server = OllamaServer(timeout=10)
        try:
            return server.host, await server.list_models()
        finally:
            await server.aclose()

    host, models = asyncio.run(scenario())
    assert host == fake_ollama.url
    assert [m.name for m in models] == [fake_ollama.model]


# --- what the server has -----------------------------------------------------------------


def test_lists_describes_and_reports_loaded_models(fake_ollama: FakeOllama) -> None:
    async def scenario() -> None:
        server = OllamaServer(fake_ollama.url, timeout=10)
        model = server.chat_model(fake_ollama.model, num_ctx=NUM_CTX, keep_alive=KEEP_ALIVE)
        try:
            assert await server.list_models() == (
                OllamaModelInfo(
                    name="smollm2:135m",
                    size_bytes=smollm2_path().stat().st_size,
                    family="llama",
                    parameter_size="135M",
                    quantization="Q4_1",
                ),
            )
            details = await server.show(fake_ollama.model)
            assert details.capabilities == ("completion",)
            assert details.supports("completion")
            assert not details.supports("tools")
            assert details.context_length == 8192  # llama.context_length of the GGUF file
            assert (details.architecture, details.family) == ("llama", "llama")
            assert (details.parameter_size, details.quantization) == ("135M", "Q4_1")

            await collect(model, options=GenerationOptions(max_tokens=2, temperature=0.0))
            used_at = datetime.now(UTC)
            (loaded,) = await server.loaded()
            assert loaded.name == fake_ollama.model
            assert loaded.size_bytes > smollm2_path().stat().st_size // 2
            assert loaded.vram_bytes == 0
            assert loaded.context_length == NUM_CTX
            assert loaded.expires_at is not None
            # keep_alive "10m" reached the server: it keeps the model about ten minutes from
            # now (Ollama's default would be five).
            remaining = loaded.expires_at - used_at
            assert timedelta(minutes=9) < remaining < timedelta(minutes=11)
        finally:
            await model.aclose()
            await server.aclose()

    asyncio.run(scenario())


# --- answers -----------------------------------------------------------------------------


def test_streams_real_tokens_and_reports_usage(fake_ollama: FakeOllama) -> None:
    before = len(fake_ollama.requests())

    async def scenario() -> list[StreamEvent]:
        model = chat_model(fake_ollama)
        try:
            return await collect(model)
        finally:
            await model.aclose()

    events = asyncio.run(scenario())
    tokens = [e for e in events if isinstance(e, TokenDelta)]
    done = events[-1]
    assert len(tokens) > 1
    # Exactly what the real model behind the server generated, in order.
    assert text_of(events) == "".join(fake_ollama.requests()[-1]["pieces"])
    assert text_of(events).strip()
    assert isinstance(done, StreamDone)
    assert [e for e in events if isinstance(e, StreamDone)] == [done]
    (record,) = fake_ollama.requests()[before:]
    assert record["outcome"] == "completed"
    assert record["tokens_sent"] == len(tokens)
    counters = record["done"]
    assert done.finish_reason == counters["done_reason"]
    assert done.usage.prompt_tokens == counters["prompt_eval_count"] > 0
    assert done.usage.completion_tokens == counters["eval_count"] > 0
    assert done.usage.seconds == pytest.approx(counters["eval_duration"] / 1e9)


def test_json_answers_follow_the_schema_and_are_validated(fake_ollama: FakeOllama) -> None:
    before = len(fake_ollama.requests())
    streamed: list[str] = []

    async def scenario() -> Any:
        model = chat_model(fake_ollama)
        try:
            return await generate_json(
                model,
                ASK_JSON,
                CAPITAL,
                GenerationOptions(max_tokens=48, temperature=0.0),
                on_token=streamed.append,
            )
        finally:
            await model.aclose()

    result = asyncio.run(scenario())
    assert set(result.value) == {"city", "country"}
    assert "".join(streamed) == result.text
    assert result.usage.completion_tokens > 0
    (record,) = fake_ollama.requests()[before:]
    assert record["body"]["format"] == CAPITAL


def test_every_call_sends_the_same_context_size_and_keep_alive(fake_ollama: FakeOllama) -> None:
    before = len(fake_ollama.requests())
    loads_before = fake_ollama.loads()
    varied = GenerationOptions(max_tokens=6, temperature=0.7, top_p=0.5, seed=7)

    async def scenario() -> None:
        model = chat_model(fake_ollama)
        try:
            await collect(model, options=GenerationOptions(max_tokens=4))
            await generate_json(
                model, ASK_JSON, CAPITAL, GenerationOptions(max_tokens=48, temperature=0.0)
            )
            await collect(model, options=varied)
        finally:
            await model.aclose()

    asyncio.run(scenario())
    bodies = [r["body"] for r in fake_ollama.requests()[before:]]
    assert len(bodies) == 3
    assert [b["options"]["num_ctx"] for b in bodies] == [NUM_CTX] * 3
    assert [b["keep_alive"] for b in bodies] == [KEEP_ALIVE] * 3
    assert fake_ollama.loads() == loads_before  # so the server never reloaded the model
    assert bodies[0]["options"] == {"num_ctx": NUM_CTX, "num_predict": 4}  # unset: left out
    assert "format" not in bodies[0]
    assert bodies[2]["options"] == {
        "num_ctx": NUM_CTX,
        "num_predict": 6,
        "temperature": 0.7,
        "top_p": 0.5,
        "seed": 7,
    }


@pytest.mark.parametrize("style", ["field", "tags"])
def test_reasoning_is_kept_apart_from_the_answer(fake_ollama: FakeOllama, style: str) -> None:
    before = len(fake_ollama.requests())

    async def scenario() -> list[StreamEvent]:
        model = chat_model(fake_ollama)
        try:
            fake_ollama.set_faults(think_tokens=4, think_style=style)
            return await collect(model)
        finally:
            await model.aclose()

    events = asyncio.run(scenario())
    (record,) = fake_ollama.requests()[before:]
    pieces = record["pieces"]
    assert len(pieces) > 4
    # The first four generated pieces were sent as reasoning (in message.thinking, or inside
    # <think> tags in the content); the rest is the answer.
    assert thinking_of(events) == "".join(pieces[:4])
    assert text_of(events) == "".join(pieces[4:])
    assert isinstance(events[-1], StreamDone)


# --- cancelling --------------------------------------------------------------------------


def test_closing_the_stream_early_closes_the_connection(fake_ollama: FakeOllama) -> None:
    index = len(fake_ollama.requests())

    async def scenario() -> tuple[dict[str, Any], list[StreamEvent]]:
        model = chat_model(fake_ollama)
        try:
            fake_ollama.set_faults(token_delay=0.05)
            stream = model.stream_chat(STORY, GenerationOptions(max_tokens=64, temperature=0.0))
            async for event in stream:
                if isinstance(event, TokenDelta):
                    break
            await stream.aclose()
            record = await outcome_of(fake_ollama, index)
            return record, await collect(model)
        finally:
            await model.aclose()

    record, after = asyncio.run(scenario())
    assert record["outcome"] == "client disconnected"
    assert record["tokens_sent"] < 32  # of up to 64
    assert isinstance(after[-1], StreamDone)


def test_cancelling_the_reading_task_closes_the_connection(fake_ollama: FakeOllama) -> None:
    index = len(fake_ollama.requests())

    async def scenario() -> dict[str, Any]:
        model = chat_model(fake_ollama)
        first_token = asyncio.Event()

        async def read() -> None:
            async for event in model.stream_chat(STORY, GenerationOptions(max_tokens=64)):
                if isinstance(event, TokenDelta):
                    first_token.set()

        try:
            fake_ollama.set_faults(token_delay=0.05)
            task = asyncio.create_task(read())
            await asyncio.wait_for(first_token.wait(), 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return await outcome_of(fake_ollama, index)
        finally:
            await model.aclose()

    record = asyncio.run(scenario())
    assert record["outcome"] == "client disconnected"
    assert record["tokens_sent"] < 32  # of up to 64


# --- failures ----------------------------------------------------------------------------


def test_a_server_that_is_not_running_is_a_clear_error_at_once(free_port: int) -> None:
    host = f"http://127.0.0.1:{free_port}"

    async def scenario() -> tuple[ModelError, ModelError]:
        server = OllamaServer(host, timeout=30)
        model = OllamaChatModel("smollm2:135m", num_ctx=NUM_CTX, host=host, timeout=30)
        try:
            with pytest.raises(ModelError) as listing:
                await server.list_models()
            with pytest.raises(ModelError) as chatting:
                await collect(model)
            return listing.value, chatting.value
        finally:
            await model.aclose()
            await server.aclose()

    started = time.monotonic()
    listing, chatting = asyncio.run(scenario())
    assert time.monotonic() - started < 5
    for error in (listing, chatting):
        assert f"Ollama is not running at {host}" in str(error)
        assert "`ollama serve`" in str(error)
    assert "'smollm2:135m'" in str(chatting)


def test_a_slow_server_is_a_timeout_error(fake_ollama: FakeOllama) -> None:
    async def scenario() -> ModelError:
        model = chat_model(fake_ollama, timeout=0.5)
        try:
            fake_ollama.set_faults(slow_seconds=6)
            with pytest.raises(ModelError) as caught:
                await collect(model)
            return caught.value
        finally:
            await model.aclose()

    started = time.monotonic()
    error = asyncio.run(scenario())
    assert time.monotonic() - started < 4  # the timeout, not the server, ended the wait
    message = str(error)
    assert "did not answer within the timeout of 0.5 s" in message
    assert fake_ollama.url in message
    assert "'smollm2:135m'" in message


def test_an_error_in_the_middle_of_an_answer_is_reported_and_the_next_call_works(
    fake_ollama: FakeOllama,
) -> None:
    reason = "llama runner process has terminated: signal: killed"
    received: list[StreamEvent] = []

    async def scenario() -> tuple[ModelError, list[StreamEvent]]:
        model = chat_model(fake_ollama)
        try:
            fake_ollama.set_faults(error_after=3, error=reason)
            with pytest.raises(ModelError) as caught:
                await collect(model, into=received)
            return caught.value, await collect(model)
        finally:
            await model.aclose()

    error, after = asyncio.run(scenario())
    assert str(error) == (
        f"Ollama at {fake_ollama.url} reported an error while 'smollm2:135m' was answering: "
        f"{reason}"
    )
    assert len([e for e in received if isinstance(e, TokenDelta)]) == 3
    assert not any(isinstance(e, StreamDone) for e in received)
    assert isinstance(after[-1], StreamDone)
    assert text_of(after) == "".join(fake_ollama.requests()[-1]["pieces"])


def test_a_connection_dropped_mid_answer_is_reported(fake_ollama: FakeOllama) -> None:
    async def scenario() -> tuple[ModelError, list[StreamEvent]]:
        model = chat_model(fake_ollama)
        try:
            fake_ollama.set_faults(hang_up_after=2)
            with pytest.raises(ModelError) as caught:
                await collect(model)
            return caught.value, await collect(model)
        finally:
            await model.aclose()

    error, after = asyncio.run(scenario())
    assert f"The connection to Ollama at {fake_ollama.url} broke while 'smollm2:135m'" in str(error)
    assert isinstance(after[-1], StreamDone)


def test_an_error_status_is_reported_with_the_servers_reason(fake_ollama: FakeOllama) -> None:
    async def scenario() -> ModelError:
        model = chat_model(fake_ollama)
        try:
            fake_ollama.set_faults(status=500, error="model requires more system memory")
            with pytest.raises(ModelError) as caught:
                await collect(model)
            return caught.value
        finally:
            await model.aclose()

    assert str(asyncio.run(scenario())) == (
        f"Ollama at {fake_ollama.url} refused the request while 'smollm2:135m' was answering "
        f"(HTTP 500): model requires more system memory"
    )


def test_text_that_ignores_the_schema_is_caught_by_validation(fake_ollama: FakeOllama) -> None:
    before = len(fake_ollama.requests())

    async def scenario() -> ModelOutputError:
        model = chat_model(fake_ollama)
        try:
            fake_ollama.set_faults(ignore_format=True)
            with pytest.raises(ModelOutputError) as caught:
                await generate_json(
                    model, QUESTION, CAPITAL, GenerationOptions(max_tokens=24, temperature=0.0)
                )
            return caught.value
        finally:
            await model.aclose()

    error = asyncio.run(scenario())
    assert str(error).startswith("The model's answer is not valid JSON")
    (record,) = fake_ollama.requests()[before:]
    assert error.text == "".join(record["pieces"])  # the model's own words, kept for the user
    assert record["body"]["format"] == CAPITAL  # the schema was asked for all the same


def test_an_unknown_model_is_a_clear_error(fake_ollama: FakeOllama) -> None:
    name = "no-such-model:7b"

    async def scenario() -> tuple[ModelError, ModelError]:
        server = OllamaServer(fake_ollama.url, timeout=10)
        model = chat_model(fake_ollama, name)
        try:
            with pytest.raises(ModelError) as chatting:
                await collect(model)
            with pytest.raises(ModelError) as showing:
                await server.show(name)
            return chatting.value, showing.value
        finally:
            await model.aclose()
            await server.aclose()

    for error in asyncio.run(scenario()):
        message = str(error)
        assert message.startswith(f"Ollama at {fake_ollama.url} has no model called '{name}'")
        assert f"`ollama pull {name}`" in message
