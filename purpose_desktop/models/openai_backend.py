"""Models served over the OpenAI-compatible HTTP API: LM Studio, vLLM, llama.cpp's
llama-server, llama-cpp-python's server, and anything else that speaks ``/v1/chat/completions``.

Answers stream as server-sent events and are decoded here as UTF-8 text across network reads,
so a character split between two reads arrives whole. Every failure (server down, a timeout, a
refused API key, an unknown model, a malformed stream) is a :class:`ModelError` that names the
server and the model and says what happened.

JSON schemas are sent the way OpenAI defines them, ``{"type": "json_schema", "json_schema":
{"name", "schema", "strict"}}``, which LM Studio, vLLM and llama-server enforce.
llama-cpp-python's server rejects that form (HTTP 500, naming ``response_format``) and takes
``{"type": "json_object", "schema": ...}`` instead, so a server that rejects the first form is
asked again with the second, and the form that worked is remembered for that server.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import httpx

from purpose_desktop.errors import ModelError
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamDone,
    StreamEvent,
    ThinkingDelta,
    TokenDelta,
    Usage,
)
from purpose_desktop.models.thinking import ThinkingSplitter

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0
"""Seconds to wait for each piece of an answer. A server on a CPU may take a while to read a
long prompt before its first token, so this is generous."""
DEFAULT_CONNECT_TIMEOUT = 10.0

SchemaForm = Literal["json_schema", "json_object"]
_SCHEMA_FORMS: tuple[SchemaForm, ...] = ("json_schema", "json_object")
_KEY_HINT = (
    "Save the key with  purpose-desktop models key set SERVER  (it is kept in the system keyring)."
)
_DETAIL_LIMIT = 300


@dataclass(frozen=True)
class ServerModel:
    """A model a server offers. ``context_length`` is ``None`` when the server does not say."""

    id: str
    owned_by: str | None = None
    context_length: int | None = None


@dataclass(frozen=True)
class SSEEvent:
    """One server-sent event: its ``event`` type (``"message"`` unless named) and its data."""

    event: str
    data: str


_LINE_END = re.compile(r"\r\n|\r|\n")


class SSEDecoder:
    """Turns the bytes of a ``text/event-stream`` into events, in any split.

    Bytes are decoded as UTF-8 incrementally (the event stream format is always UTF-8,
    whatever the headers claim), so a character cut between two network reads is held back
    until its last byte arrives. Lines end with CR, LF or CRLF, and nothing else: a U+2028
    inside JSON text is not a line break.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._text = ""
        self._started = False
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events completed by ``chunk``."""
        return self._lines(self._decoder.decode(chunk), final=False)

    def close(self) -> list[SSEEvent]:
        """The events left when the stream ends, including one not followed by a blank line."""
        events = self._lines(self._decoder.decode(b"", final=True), final=True)
        event = self._dispatch()
        return [*events, event] if event is not None else events

    def _lines(self, text: str, *, final: bool) -> list[SSEEvent]:
        text = self._text + text
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        events: list[SSEEvent] = []
        position = 0
        for match in _LINE_END.finditer(text):
            if match.group() == "\r" and match.end() == len(text) and not final:
                break  # the LF of a CRLF may be in the next chunk
            event = self._line(text[position : match.start()])
            if event is not None:
                events.append(event)
            position = match.end()
        self._text = text[position:]
        if final and self._text:
            event = self._line(self._text)
            self._text = ""
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment: servers send these as keep-alive pings
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent(self._event or "message", "\n".join(self._data))
        self._event, self._data = "", []
        return event


def _error_detail(response: httpx.Response) -> str:
    """The server's own words for an error reply, short enough to show."""
    text = response.text
    detail: Any = text
    with contextlib.suppress(ValueError):
        payload = json.loads(text)
        if isinstance(payload, dict):
            error = payload.get("error", payload.get("detail", payload.get("message")))
            if isinstance(error, dict):
                error = error.get("message", error)
            if error is not None:
                detail = error
    if not isinstance(detail, str):
        detail = json.dumps(detail)
    detail = " ".join(detail.split())
    if len(detail) > _DETAIL_LIMIT:
        detail = detail[: _DETAIL_LIMIT - 1] + "…"
    return detail or response.reason_phrase or "no details"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _context_length(entry: Mapping[str, Any]) -> int | None:
    # Each server names it its own way: vLLM max_model_len, LM Studio max_context_length,
    # OpenRouter-style context_length, llama-server the trained length in "meta".
    for key in ("context_length", "max_context_length", "max_model_len", "context_window"):
        length = _positive_int(entry.get(key))
        if length is not None:
            return length
    meta = entry.get("meta")
    if isinstance(meta, dict):
        return _positive_int(meta.get("n_ctx")) or _positive_int(meta.get("n_ctx_train"))
    return None


def _rejects_response_format(status: int, detail: str) -> bool:
    """Whether an error reply may mean the server wants the other form of JSON schema."""
    if status in (400, 422):
        return True
    # llama-cpp-python's server answers a request it cannot validate with HTTP 500.
    return status == 500 and "response_format" in detail


class OpenAIServer:
    """One OpenAI-compatible server, reached at ``base_url`` (such as
    ``http://127.0.0.1:1234/v1``) and called ``name`` in messages to the user.

    ``api_key`` is sent as ``Authorization: Bearer``; use :meth:`with_saved_key` to take it from
    the system keyring. ``timeout`` is how long to wait for each piece of an answer, and
    ``connect_timeout`` how long to wait for the server to accept a connection. Raises
    :class:`ModelError` for an address that is not http(s). Call :meth:`aclose` (or use
    ``async with``) when done, on the event loop that used it.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        self.name = name
        self.base_url = base_url.strip().rstrip("/")
        try:
            url = httpx.URL(self.base_url)
        except httpx.InvalidURL as exc:
            raise ModelError(f"The address of the server '{name}' is not valid: {exc}.") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ModelError(
                f"The address of the server '{name}' must start with http:// or https://, "
                f"like http://127.0.0.1:1234/v1 (it is '{base_url}')."
            )
        if timeout <= 0 or connect_timeout <= 0:
            raise ModelError(f"The timeouts of the server '{name}' must be positive.")
        headers = {"Accept": "application/json"}
        key = (api_key or "").strip()
        if key:
            if not key.isascii() or not key.isprintable():
                raise ModelError(
                    f"The API key for '{name}' contains characters that cannot be sent to a "
                    f"server. {_KEY_HINT}"
                )
            headers["Authorization"] = f"Bearer {key}"
        self.has_api_key = bool(key)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.schema_form: SchemaForm | None = None
        """The form of JSON schema this server accepted, once one has been tried."""
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
        )

    @classmethod
    async def with_saved_key(
        cls,
        name: str,
        base_url: str,
        *,
        # The server's setting, kept for its requests; not a deadline for this call.
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> OpenAIServer:
        """The server ``name`` with the API key saved for it in the system keyring, if any.

        Without a saved key (or without a keyring) requests go out without one; a server that
        needs a key then answers with a :class:`ModelError` that says so.
        """
        from purpose_desktop.secrets import read_api_key

        # The keyring may block (D-Bus, a prompt to unlock it): keep it off the event loop.
        stored = await asyncio.to_thread(read_api_key, name)
        if stored.key is None:
            log.info("No API key for server %s: %s", name, stored.reason)
        return cls(
            name, base_url, api_key=stored.key, timeout=timeout, connect_timeout=connect_timeout
        )

    def __repr__(self) -> str:
        return f"OpenAIServer({self.name!r}, {self.base_url!r})"

    async def __aenter__(self) -> OpenAIServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections to the server."""
        await self._client.aclose()

    def chat_model(self, model_id: str, *, name: str | None = None) -> OpenAIChatModel:
        """The model ``model_id`` on this server, as a chat model called ``name``."""
        return OpenAIChatModel(self, model_id, name=name)

    async def list_models(self) -> list[ServerModel]:
        """The models the server offers (``GET /models``)."""
        try:
            response = await self._client.get("/models")
        except httpx.HTTPError as exc:
            raise self.transport_error(exc, "listing its models") from exc
        if response.is_error:
            raise self.status_error(response.status_code, _error_detail(response), "/models")
        try:
            entries = response.json()["data"]
            if not isinstance(entries, list):
                raise TypeError
            return [
                ServerModel(
                    id=str(entry["id"]),
                    owned_by=str(entry["owned_by"]) if entry.get("owned_by") else None,
                    context_length=_context_length(entry),
                )
                for entry in entries
            ]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ModelError(
                f"{_capital(self.where())} answered the request for its models with something "
                f"that is not a model list. Check that its address is that of an "
                f"OpenAI-compatible API (it usually ends in /v1)."
            ) from None

    def where(self) -> str:
        """How messages name this server: "the server 'NAME' at URL"."""
        return f"the server '{self.name}' at {self.base_url}"

    def transport_error(self, exc: httpx.HTTPError, doing: str) -> ModelError:
        """A :class:`ModelError` for a request that failed before the server answered it."""
        where = self.where()
        if isinstance(exc, httpx.ConnectTimeout):
            return ModelError(
                f"Could not reach {where} while {doing}: it did not accept a connection within "
                f"{self.connect_timeout:g} s (timeout). Check that the server is running and "
                f"that the address is right."
            )
        if isinstance(exc, httpx.ConnectError):
            return ModelError(
                f"Could not reach {where} while {doing} ({exc or 'connection failed'}). Check "
                f"that the server is running and that the address is right."
            )
        if isinstance(exc, httpx.ReadTimeout):
            return ModelError(
                f"{_capital(where)} sent nothing for {self.timeout:g} s while {doing} "
                f"(timeout). It may be overloaded or stuck: try again, or give this server a "
                f"longer timeout."
            )
        if isinstance(exc, httpx.TimeoutException):
            return ModelError(
                f"The request to {where} timed out while {doing} ({type(exc).__name__})."
            )
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            return ModelError(
                f"The connection to {where} broke off while {doing}: {exc or type(exc).__name__}."
            )
        return ModelError(f"The request to {where} failed while {doing}: {exc}.")

    def status_error(
        self, status: int, detail: str, path: str, model: str | None = None
    ) -> ModelError:
        """A :class:`ModelError` for an error reply (HTTP ``status``) to a request to ``path``
        (for ``model``, if the request was for one)."""
        where = _capital(self.where())
        subject = f"The model '{model}' on {self.where()}" if model else where
        said = f"(HTTP {status}: {detail})"
        asked = f" for the model '{model}'" if model else ""
        if status in (401, 403) and not self.has_api_key:
            text = (
                f"{where} refused the request{asked}: it needs an API key and none is set for "
                f"'{self.name}' {said}. {_KEY_HINT}"
            )
        elif status in (401, 403):
            allowed = " or does not allow this model" if status == 403 and model else ""
            text = (
                f"{where} refused the request{asked}: it did not accept the API key set for "
                f"'{self.name}' {said}, so the key is wrong{allowed}. {_KEY_HINT}"
            )
        elif status == 404 and model and "model" in detail.lower():
            text = (
                f"{where} has no model '{model}' {said}. Choose one of the models the server lists."
            )
        elif status == 404:
            text = (
                f"{where} has no {path} endpoint {said}. Check its address: for an "
                f"OpenAI-compatible server it usually ends in /v1, like http://127.0.0.1:1234/v1."
            )
        elif status in (408, 504):
            text = f"{subject} timed out on the server {said}."
        elif status == 429:
            text = f"{where} is busy or limits how often it may be asked {said}. Try again later."
        elif status == 503:
            text = (
                f"{subject} is not available right now {said}. The server may still be loading it."
            )
        else:
            text = f"{subject} could not answer {said}."
        return ModelError(text)

    def _schema_forms(self) -> tuple[SchemaForm, ...]:
        return (self.schema_form,) if self.schema_form is not None else _SCHEMA_FORMS

    def _stream(
        self, path: str, body: Mapping[str, Any]
    ) -> contextlib.AbstractAsyncContextManager[httpx.Response]:
        return self._client.stream("POST", path, json=body)


class _StreamState:
    """What one answer has produced so far, built up from the stream's chunks."""

    def __init__(self, describe: str) -> None:
        self.describe = describe
        self.splitter = ThinkingSplitter()
        self.finish_reason: str | None = None
        self.usage: tuple[int, int] | None = None
        self.pieces = 0
        self.events = 0
        self.done = False

    def malformed(self, what: str) -> ModelError:
        return ModelError(f"{self.describe} sent a malformed stream: {what}.")

    def take(self, event: SSEEvent) -> Iterator[TokenDelta | ThinkingDelta]:
        self.events += 1
        data = event.data.strip()
        if data == "[DONE]":
            self.done = True
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            raise self.malformed(f"an event that is not JSON ({data[:80]!r})") from None
        if not isinstance(chunk, dict):
            raise self.malformed(f"an event that is not a JSON object ({data[:80]!r})")
        error = chunk.get("error")
        if error is not None or event.event == "error":
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ModelError(
                f"{self.describe} reported an error while answering: "
                f"{message or data[:_DETAIL_LIMIT]}"
            )
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
            if isinstance(prompt, int) and isinstance(completion, int):
                self.usage = (prompt, completion)
        choices = chunk.get("choices") or []
        if not isinstance(choices, list):
            raise self.malformed("'choices' is not a list")
        for choice in choices:
            if not isinstance(choice, dict):
                raise self.malformed("a choice is not a JSON object")
            if choice.get("index", 0) != 0:
                continue  # only one answer is asked for
            yield from self._choice(choice)

    def _choice(self, choice: Mapping[str, Any]) -> Iterator[TokenDelta | ThinkingDelta]:
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            raise self.malformed("a 'delta' is not a JSON object")
        # Reasoning servers send the reasoning apart from the answer: vLLM and llama-server
        # as reasoning_content, others (OpenRouter, newer vLLM) as reasoning.
        for key in ("reasoning_content", "reasoning"):
            reasoning = delta.get(key)
            if reasoning is not None and not isinstance(reasoning, str):
                raise self.malformed(f"'{key}' is not text")
            if reasoning:
                self.pieces += 1
                yield ThinkingDelta(reasoning)
                break
        content = delta.get("content")
        if content is not None and not isinstance(content, str):
            raise self.malformed("'content' is not text")
        if content:
            self.pieces += 1
            # Other servers leave <think> tags in the answer text.
            yield from self.splitter.feed(content)
        reason = choice.get("finish_reason")
        if reason is not None:
            self.finish_reason = str(reason)

    def finish(self, seconds: float) -> Iterator[StreamEvent]:
        yield from self.splitter.flush()
        if self.usage is not None:
            prompt, completion = self.usage
        else:
            # The server did not report usage (llama-cpp-python's server never does when
            # streaming). Servers send about one token per chunk, so the chunk count stands
            # in for the completion tokens; the prompt's size is unknown and left at 0.
            prompt, completion = 0, self.pieces
        yield StreamDone(self.finish_reason or "stop", Usage(prompt, completion, seconds))


class OpenAIChatModel:
    """The model ``model_id`` on an :class:`OpenAIServer`, as a :class:`ChatModel`.

    Options left at ``None`` are not sent, so the server's own defaults apply. Calls are not
    serialised here: the server queues or batches them itself. Close an unfinished stream
    (``aclose()``, or ``contextlib.aclosing``) to close its HTTP stream at once, which makes
    the server stop generating.

    ``StreamDone.usage`` holds the server's token counts when it reports them; otherwise the
    completion tokens are the number of pieces received and the prompt tokens are 0.
    """

    #: Most servers enforce ``response_format``; an answer from one that does not is still
    #: read whole (see :class:`~purpose_desktop.engine.loop.actor.Actor`).
    keeps_to_schemas = True

    def __init__(self, server: OpenAIServer, model_id: str, *, name: str | None = None) -> None:
        self.server = server
        self.model_id = model_id
        self.name = name or model_id

    def __repr__(self) -> str:
        return f"OpenAIChatModel({self.model_id!r} on {self.server!r})"

    def _describe(self) -> str:
        return f"The model '{self.name}' on {self.server.where()}"

    def _request(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        schema_form: SchemaForm | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": options.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if options.temperature is not None:
            body["temperature"] = options.temperature
        if options.top_p is not None:
            body["top_p"] = options.top_p
        if options.seed is not None:
            body["seed"] = options.seed
        if options.json_schema is not None:
            schema = dict(options.json_schema)
            if schema_form == "json_object":
                body["response_format"] = {"type": "json_object", "schema": schema}
            else:
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "answer", "schema": schema, "strict": True},
                }
        return body

    async def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream the answer as :class:`TokenDelta` (reasoning as :class:`ThinkingDelta`)
        and one final :class:`StreamDone`; :class:`ModelError` on any failure."""
        server = self.server
        doing = f"answering with the model '{self.name}'"
        forms: tuple[SchemaForm | None, ...] = (
            server._schema_forms() if options.json_schema is not None else (None,)
        )
        started = time.perf_counter()
        for attempt, form in enumerate(forms):
            body = self._request(messages, options, form)
            try:
                async with server._stream("/chat/completions", body) as response:
                    if response.is_error:
                        await response.aread()
                        detail = _error_detail(response)
                        if attempt + 1 < len(forms) and _rejects_response_format(
                            response.status_code, detail
                        ):
                            log.info(
                                "%s rejected response_format %s (HTTP %s), trying %s",
                                server,
                                form,
                                response.status_code,
                                forms[attempt + 1],
                            )
                            continue
                        raise server.status_error(
                            response.status_code, detail, "/chat/completions", self.name
                        )
                    if form is not None:
                        server.schema_form = form
                    # Closed explicitly, so a consumer that stops early closes the HTTP
                    # stream now rather than when the generator is collected.
                    async with contextlib.aclosing(self._events(response, started)) as events:
                        async for event in events:
                            yield event
                    return
            except httpx.HTTPError as exc:
                raise server.transport_error(exc, doing) from exc

    async def _events(
        self, response: httpx.Response, started: float
    ) -> AsyncGenerator[StreamEvent, None]:
        state = _StreamState(self._describe())
        decoder = SSEDecoder()
        # aiter_bytes is an async generator: closed explicitly when [DONE] ends the loop early.
        byte_chunks = cast(AsyncGenerator[bytes, None], response.aiter_bytes())
        async with contextlib.aclosing(byte_chunks) as chunks:
            async for chunk in chunks:
                for event in decoder.feed(chunk):
                    for delta in state.take(event):
                        yield delta
                    if state.done:
                        break
                if state.done:
                    break
            else:
                for event in decoder.close():
                    for delta in state.take(event):
                        yield delta
        if state.events == 0:
            # A server that ignored stream=true, or something that is not an API server.
            kind = response.headers.get("content-type") or "no content type"
            raise ModelError(
                f"{self._describe()} did not send a stream of events as the OpenAI API does "
                f"(its reply was {kind}). Check that the address is that of an "
                f"OpenAI-compatible server."
            )
        if not state.done and state.finish_reason is None:
            raise ModelError(
                f"{self._describe()} stopped sending before the answer was complete "
                f"(the stream ended without a finish reason)."
            )
        for item in state.finish(time.perf_counter() - started):
            yield item
