"""The OpenAI-compatible backend: against llama-cpp-python's real server running the bundled
SmolLM2 (tests marked ``model``), and against small local socket servers written here that send
exact bytes (a split UTF-8 character, a malformed stream) or never answer at all."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from keyring.backend import KeyringBackend
from purpose_desktop.errors import ModelError
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamDone,
    StreamEvent,
    ThinkingDelta,
    TokenDelta,
)
from purpose_desktop.models.openai_backend import (
    OpenAIChatModel,
    OpenAIServer,
    ServerModel,
    SSEDecoder,
    SSEEvent,
)
from purpose_desktop.models.structured import generate_json
from purpose_desktop.secrets import delete_api_key, save_api_key

from .conftest import LlamaServer, free_port

runs_model = pytest.mark.model

SERVER = "Local llama"
QUESTION = [
    ChatMessage("system", "You are a concise assistant. Answer in one or two sentences."),
    ChatMessage("user", "What is the capital of France?"),
]
GREEDY = GenerationOptions(max_tokens=24, temperature=0.0, seed=1)
CITY = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 30}},
    "required": ["city"],
    "additionalProperties": False,
}


async def collect(chat: OpenAIChatModel, options: GenerationOptions = GREEDY) -> list[StreamEvent]:
    return [event async for event in chat.stream_chat(QUESTION, options)]


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TokenDelta))


def server_for(llama: LlamaServer, api_key: str | None = None) -> OpenAIServer:
    return OpenAIServer(SERVER, llama.base_url, api_key=api_key or llama.api_key)


# --- a real llama_cpp.server -------------------------------------------------------------


@runs_model
def test_lists_the_models_the_server_offers(llama_server: LlamaServer) -> None:
    async def scenario() -> list[ServerModel]:
        async with server_for(llama_server) as server:
            return await server.list_models()

    assert asyncio.run(scenario()) == [ServerModel(id="smollm2-135m", owned_by="me")]


@runs_model
def test_streams_real_tokens_and_ends_with_usage(llama_server: LlamaServer) -> None:
    async def scenario() -> list[StreamEvent]:
        async with server_for(llama_server) as server:
            return await collect(server.chat_model(llama_server.model_id))

    events = asyncio.run(scenario())
    tokens = [e for e in events if isinstance(e, TokenDelta)]
    done = events[-1]
    assert len(tokens) > 1
    # The words depend on the server's prompt cache (a different batch split can flip a
    # greedy choice in a 135M model), so only their presence is checked.
    assert text_of(events).strip()
    assert isinstance(done, StreamDone)
    assert done.finish_reason in ("stop", "length")
    # llama-cpp-python's server reports no usage when streaming: one piece per token.
    assert done.usage.completion_tokens == len(tokens)
    assert 0 < done.usage.completion_tokens <= GREEDY.max_tokens
    assert done.usage.seconds > 0
    assert [e for e in events if isinstance(e, StreamDone)] == [done]


@runs_model
def test_schema_constrained_json_comes_back_validated(llama_server: LlamaServer) -> None:
    ask = [
        ChatMessage("system", "Answer with JSON."),
        ChatMessage("user", "Which city is the capital of France?"),
    ]

    async def scenario() -> tuple[Any, Any, str | None]:
        async with server_for(llama_server) as server:
            chat = server.chat_model(llama_server.model_id)
            options = GenerationOptions(max_tokens=40, temperature=0.0, seed=1)
            first = await generate_json(chat, ask, CITY, options)
            second = await generate_json(chat, ask, CITY, options)
            return first.value, second.value, server.schema_form

    first, second, form = asyncio.run(scenario())
    assert isinstance(first, dict)
    assert set(first) == {"city"}
    assert isinstance(first["city"], str)
    assert second == first
    # llama-cpp-python's server refuses OpenAI's json_schema form and takes json_object.
    assert form == "json_object"


@runs_model
def test_the_key_in_the_keyring_authenticates_and_a_wrong_or_missing_key_is_explained(
    llama_server: LlamaServer, memory_keyring: KeyringBackend
) -> None:
    async def attempt() -> list[StreamEvent]:
        server = await OpenAIServer.with_saved_key(SERVER, llama_server.base_url)
        async with server:
            await server.list_models()
            return await collect(
                server.chat_model(llama_server.model_id), GenerationOptions(max_tokens=3)
            )

    save_api_key(SERVER, llama_server.api_key)
    assert isinstance(asyncio.run(attempt())[-1], StreamDone)

    save_api_key(SERVER, "sk-wrong-key")
    with pytest.raises(ModelError) as wrong:
        asyncio.run(attempt())
    message = str(wrong.value)
    assert f"The server '{SERVER}' at {llama_server.base_url}" in message
    assert "did not accept the API key" in message
    assert "HTTP 401: Invalid API key" in message
    assert "models key set" in message
    assert "sk-wrong-key" not in message

    delete_api_key(SERVER)
    with pytest.raises(ModelError, match=r"needs an API key and none is set for 'Local llama'"):
        asyncio.run(attempt())


@runs_model
def test_a_wrong_key_names_the_model_it_was_asked_for(llama_server: LlamaServer) -> None:
    async def scenario() -> None:
        async with server_for(llama_server, api_key="sk-wrong-key") as server:
            await collect(server.chat_model(llama_server.model_id, name="writer"))

    with pytest.raises(ModelError, match=r"refused the request for the model 'writer'.*HTTP 401"):
        asyncio.run(scenario())


@runs_model
def test_closing_a_stream_early_leaves_the_next_call_working(llama_server: LlamaServer) -> None:
    async def scenario() -> list[StreamEvent]:
        async with server_for(llama_server) as server:
            chat = server.chat_model(llama_server.model_id)
            stream = chat.stream_chat(QUESTION, GenerationOptions(max_tokens=200, seed=1))
            async for event in stream:
                if isinstance(event, TokenDelta):
                    break
            await stream.aclose()
            return await collect(chat)

    events = asyncio.run(scenario())
    assert isinstance(events[-1], StreamDone)
    assert text_of(events).strip()


@runs_model
def test_an_address_without_v1_is_explained(llama_server: LlamaServer) -> None:
    root = llama_server.base_url.removesuffix("/v1")

    async def scenario() -> None:
        async with OpenAIServer(SERVER, root, api_key=llama_server.api_key) as server:
            await server.list_models()

    with pytest.raises(ModelError, match=r"has no /models endpoint \(HTTP 404.*ends in /v1"):
        asyncio.run(scenario())


# --- local socket servers that send exact bytes ------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


WAIT_FOR_CLIENT = b""
"""In a canned reply: stop sending and wait until the client closes the connection."""


@dataclass
class CannedServer:
    """A local HTTP server that answers each request with the next canned reply.

    A reply is a list of byte chunks, each written and flushed with a pause after it, so the
    client reads them separately; ``None`` accepts the request and never answers.
    """

    replies: list[list[bytes] | None]
    requests: list[Request] = field(default_factory=list)
    client_closed: asyncio.Event = field(default_factory=asyncio.Event)
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)
    _server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1"

    async def __aenter__(self) -> CannedServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await asyncio.wait_for(asyncio.gather(*self._handlers), 5)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.append(writer)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, path, _ = head[0].split(" ", 2)
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in head[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Request(method, path, headers, json.loads(body) if body else None))
            reply = self.replies.pop(0)
            for chunk in [WAIT_FOR_CLIENT] if reply is None else reply:
                if chunk == WAIT_FOR_CLIENT:
                    await reader.read()  # returns at end of file: the client closed
                    self.client_closed.set()
                    break
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(0.02)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.client_closed.set()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def sse_reply(*chunks: bytes) -> list[bytes]:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
        b"Connection: close\r\n\r\n"
    )
    return [head, *chunks]


def json_reply(status: int, payload: Any) -> list[bytes]:
    body = json.dumps(payload).encode()
    head = (
        f"HTTP/1.1 {status} Whatever\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return [head + body]


def event(**delta: Any) -> bytes:
    chunk = {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
    }
    return b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"


def finish(reason: str = "stop") -> bytes:
    chunk = {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def split_inside(data: bytes, *characters: str) -> list[bytes]:
    """``data`` cut in the middle of the UTF-8 encoding of each of ``characters``."""
    cuts = sorted(data.index(c.encode()) + 1 for c in characters)
    return [data[start:end] for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def run_against(
    replies: list[list[bytes] | None],
    scenario: Callable[[OpenAIServer], Any],
    *,
    api_key: str | None = "sk-canned",
    timeout: float = 10.0,
) -> tuple[Any, CannedServer]:
    async def main() -> tuple[Any, CannedServer]:
        async with CannedServer(replies) as canned:
            server = OpenAIServer(SERVER, canned.base_url, api_key=api_key, timeout=timeout)
            async with server:
                return await scenario(server), canned

    return asyncio.run(main())


def test_the_stream_keeps_split_characters_whole_and_reasoning_apart() -> None:
    stream = b"".join(
        [
            event(role="assistant"),
            event(reasoning_content="Thinking about "),
            event(reasoning_content="Café"),
            event(content="<thi"),
            event(content="nk>more</think>"),
            event(content="Prix : 5 €, "),
            event(content="Élodie ✓"),
            finish(),
            b'data: {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 5}}\n\n',
            b"data: [DONE]\n\n",
        ]
    )
    pieces = split_inside(stream, "é", "€", "É", "✓")

    async def scenario(server: OpenAIServer) -> list[StreamEvent]:
        chat = server.chat_model("remote-model")
        options = GenerationOptions(max_tokens=64, seed=5)
        return [e async for e in chat.stream_chat(QUESTION, options)]

    events, canned = run_against([sse_reply(*pieces)], scenario)
    assert events[:-1] == [
        ThinkingDelta("Thinking about "),
        ThinkingDelta("Café"),
        ThinkingDelta("more"),
        TokenDelta("Prix : 5 €, "),
        TokenDelta("Élodie ✓"),
    ]
    done = events[-1]
    assert isinstance(done, StreamDone)
    assert done.finish_reason == "stop"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (7, 5)

    (request,) = canned.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-canned"
    assert request.body == {
        "model": "remote-model",
        "messages": [{"role": m.role, "content": m.content} for m in QUESTION],
        "max_tokens": 64,
        "seed": 5,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_a_schema_goes_out_as_openai_json_schema_first() -> None:
    reply = sse_reply(event(content='{"city": "Paris"}'), finish(), b"data: [DONE]\n\n")

    async def scenario(server: OpenAIServer) -> Any:
        result = await generate_json(server.chat_model("m"), QUESTION, CITY)
        return result.value, server.schema_form

    (value, form), canned = run_against([reply], scenario)
    assert value == {"city": "Paris"}
    assert form == "json_schema"
    assert canned.requests[0].body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": CITY, "strict": True},
    }


def test_a_server_that_rejects_json_schema_is_asked_with_json_object() -> None:
    rejected = json_reply(422, {"detail": [{"msg": "Input should be 'text' or 'json_object'"}]})
    reply = sse_reply(event(content='{"city": "Rome"}'), finish(), b"data: [DONE]\n\n")

    async def scenario(server: OpenAIServer) -> Any:
        first = await generate_json(server.chat_model("m"), QUESTION, CITY)
        second = await generate_json(server.chat_model("m"), QUESTION, CITY)
        return first.value, second.value

    values, canned = run_against([rejected, reply, reply], scenario)
    assert values == ({"city": "Rome"}, {"city": "Rome"})
    forms = [r.body["response_format"]["type"] for r in canned.requests]
    assert forms == ["json_schema", "json_object", "json_object"]  # remembered after one try
    assert canned.requests[1].body["response_format"]["schema"] == CITY


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            json_reply(
                404,
                {
                    "error": {
                        "message": "The model `m` does not exist.",
                        "type": "NotFoundError",
                        "code": 404,
                    }
                },
            ),
            r"has no model 'm' \(HTTP 404: The model `m` does not exist.\)",
        ),
        (
            json_reply(500, {"error": {"message": "CUDA out of memory", "type": "server"}}),
            r"The model 'm' on the server 'Local llama' at http://127\.0\.0\.1:\d+/v1 could not "
            r"answer \(HTTP 500: CUDA out of memory\)",
        ),
        (
            json_reply(503, {"detail": "Loading model"}),
            r"is not available right now \(HTTP 503: Loading model\)",
        ),
        (
            sse_reply(event(content="Hi"), b"data: {'not': json}\n\n"),
            r"The model 'm' on the server 'Local llama' .* sent a malformed stream: an event "
            r"that is not JSON",
        ),
        (
            sse_reply(event(content="Hi"), b'data: {"error": {"message": "slot unavailable"}}\n\n'),
            r"reported an error while answering: slot unavailable",
        ),
        (
            sse_reply(event(content="Hi")),
            r"stopped sending before the answer was complete",
        ),
        (
            json_reply(200, {"choices": [{"message": {"content": "Hi"}}]}),
            r"did not send a stream of events .* \(its reply was application/json\)",
        ),
    ],
    ids=[
        "unknown-model",
        "server-error",
        "loading",
        "not-json",
        "error-event",
        "cut-off",
        "not-a-stream",
    ],
)
def test_failures_are_explained_with_the_model_and_server(
    reply: list[bytes], expected: str
) -> None:
    async def scenario(server: OpenAIServer) -> list[StreamEvent]:
        return await collect(server.chat_model("m"))

    with pytest.raises(ModelError, match=expected):
        run_against([reply], scenario)


def test_a_server_that_is_down_is_reported_quickly() -> None:
    port = free_port()

    async def scenario() -> None:
        async with OpenAIServer(SERVER, f"http://127.0.0.1:{port}/v1") as server:
            with pytest.raises(ModelError, match="while listing its models"):
                await server.list_models()
            await collect(server.chat_model("smollm2"))

    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        asyncio.run(scenario())
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert f"Could not reach the server '{SERVER}' at http://127.0.0.1:{port}/v1" in message
    assert "answering with the model 'smollm2'" in message
    assert "Check that the server is running" in message


def test_a_server_that_never_answers_times_out() -> None:
    async def scenario(server: OpenAIServer) -> None:
        with pytest.raises(ModelError, match=r"sent nothing for 0\.5 s while listing"):
            await server.list_models()
        await collect(server.chat_model("smollm2"))

    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        run_against([None, None], scenario, timeout=0.5)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert f"The server '{SERVER}' at http://127.0.0.1:" in message
    assert "sent nothing for 0.5 s while answering with the model 'smollm2' (timeout)" in message


def test_closing_a_stream_early_closes_the_connection() -> None:
    reply = sse_reply(event(content="Hello"), WAIT_FOR_CLIENT)

    async def main() -> None:
        async with (
            CannedServer([reply]) as canned,
            OpenAIServer(SERVER, canned.base_url, timeout=5) as server,
        ):
            stream = server.chat_model("m").stream_chat(QUESTION, GenerationOptions())
            async for item in stream:
                assert item == TokenDelta("Hello")
                break
            await stream.aclose()
            # The server is still waiting to send more: only the client can end the connection.
            await asyncio.wait_for(canned.client_closed.wait(), 2)

    asyncio.run(main())


def test_the_event_decoder_gives_the_same_events_however_the_bytes_are_split() -> None:
    data = (
        "\ufeff: ping\r\n"
        'data: {"a": "é€"}\r\n\r\n'
        "event: error\n"
        "data: line one\n"
        "data:line two \u2028 not a break\n\n"
        "data: [DONE]\r\r"
        "data: no blank line at the end"
    ).encode()
    expected = [
        SSEEvent("message", '{"a": "é€"}'),
        SSEEvent("error", "line one\nline two \u2028 not a break"),
        SSEEvent("message", "[DONE]"),
        SSEEvent("message", "no blank line at the end"),
    ]

    def decode(pieces: list[bytes]) -> list[SSEEvent]:
        decoder = SSEDecoder()
        events = [e for piece in pieces for e in decoder.feed(piece)]
        return [*events, *decoder.close()]

    assert decode([data]) == expected
    assert decode([data[i : i + 1] for i in range(len(data))]) == expected
    for cut in range(len(data) + 1):
        assert decode([data[:cut], data[cut:]]) == expected, f"split at byte {cut}"
