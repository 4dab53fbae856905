"""Models served by Ollama, through its HTTP API and the ``ollama`` client.

Ollama loads a model on its first request and keeps it loaded for ``keep_alive``. A request
with a different ``num_ctx`` makes it load the model again, so each :class:`OllamaChatModel`
is given one context size at construction and sends that same size on every call.

Every failure (the server is down, too slow, has no such model, or reports an error in the
middle of an answer) is raised as a :class:`ModelError` whose message names the model and the
server, written to be shown to the user as it is.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from ollama import AsyncClient, RequestError, ResponseError

from purpose_desktop.errors import ModelError
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamDone,
    StreamEvent,
    ThinkingDelta,
    Usage,
)
from purpose_desktop.models.thinking import ThinkingSplitter

T = TypeVar("T")

HOST_ENV = "OLLAMA_HOST"
DEFAULT_PORT = 11434
DEFAULT_HOST = f"http://127.0.0.1:{DEFAULT_PORT}"
DEFAULT_TIMEOUT = 120.0
"""Seconds to wait for the server to send anything (a listing, the first or the next token);
generous because Ollama may be loading the model before it answers."""
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a connection: a server that is up accepts one at once."""
DEFAULT_KEEP_ALIVE = "10m"

_ERROR_TEXT_LIMIT = 300

# What the ollama client and httpx raise for a failed request: transport errors (httpx), a
# refused connection (the client turns httpx.ConnectError into the built-in ConnectionError,
# but only outside streams), an error status or an {"error": ...} line (ResponseError), and
# a reply that is not the JSON expected (json.JSONDecodeError and pydantic's ValidationError
# are both ValueErrors).
_FAILURES = (
    httpx.HTTPError,
    httpx.InvalidURL,
    ResponseError,
    RequestError,
    ConnectionError,
    ValueError,
)


def ollama_host(host: str | None = None) -> str:
    """The base URL of the Ollama server: ``host``, else ``$OLLAMA_HOST``, else the default.

    Accepts the forms ``OLLAMA_HOST`` takes (``example.com``, ``:11500``,
    ``https://example.com:8443/ollama``) and returns a full URL with scheme and port, as the
    ``ollama`` client resolves it. Raises :class:`ModelError` for an address that is not a URL.
    """
    raw = (host if host is not None else os.environ.get(HOST_ENV, "")).strip().rstrip("/")
    if not raw:
        return DEFAULT_HOST
    has_scheme = "://" in raw
    try:
        parts = urlsplit(raw if has_scheme else f"http://{raw}")
        port = parts.port
    except ValueError:  # a malformed IPv6 address or port
        parts, port = urlsplit(""), -1
    if parts.scheme not in ("http", "https") or port == -1:
        raise ModelError(
            f"'{raw}' is not a valid address for an Ollama server. "
            f"Use a form such as {DEFAULT_HOST} or example.com:{DEFAULT_PORT}."
        )
    if port is None:
        # Like the ollama client: a bare host name means Ollama's port, an explicit scheme
        # means that scheme's port.
        port = (443 if parts.scheme == "https" else 80) if has_scheme else DEFAULT_PORT
    name = parts.hostname or "127.0.0.1"
    if ":" in name:
        name = f"[{name}]"  # an IPv6 address
    return f"{parts.scheme}://{name}:{port}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class OllamaModelInfo:
    """A model the Ollama server has downloaded, as ``/api/tags`` lists it."""

    name: str
    size_bytes: int
    family: str
    """The architecture family, e.g. ``llama`` or ``qwen3``; empty if the server gave none."""
    parameter_size: str
    """As Ollama writes it, e.g. ``135M`` or ``8.0B``."""
    quantization: str
    """E.g. ``Q4_K_M``."""


@dataclass(frozen=True)
class OllamaModelDetails:
    """What ``/api/show`` tells about one model."""

    name: str
    capabilities: tuple[str, ...]
    """E.g. ``completion``, ``tools``, ``thinking``, ``vision``, ``embedding``."""
    context_length: int | None
    """The context the model was trained for, or ``None`` if the server does not say."""
    architecture: str
    family: str
    parameter_size: str
    quantization: str

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities


@dataclass(frozen=True)
class PullProgress:
    """One line of Ollama's progress while it pulls a model: what it is doing ("pulling
    manifest", "pulling 8eeb52dfb3bb", "verifying sha256 digest", "success") and, while a
    layer downloads, its bytes done and in all (0 when it does not say)."""

    status: str
    completed: int = 0
    total: int = 0


@dataclass(frozen=True)
class OllamaLoadedModel:
    """A model Ollama holds in memory, as ``/api/ps`` lists it."""

    name: str
    size_bytes: int
    """Memory the loaded model takes, in bytes."""
    vram_bytes: int
    """The part of ``size_bytes`` on the GPU."""
    expires_at: datetime | None
    """When Ollama unloads it unless it is used again (time-zone aware)."""
    context_length: int | None
    """The context size it was loaded with, if the server says."""


def _client(host: str, timeout: float) -> AsyncClient:
    if timeout <= 0:
        raise ModelError(
            f"The timeout for Ollama must be a positive number of seconds, not {timeout}."
        )
    # The client has no timeout by default: a hung server would block a run for ever.
    return AsyncClient(
        host=host, timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))
    )


async def _close(client: AsyncClient) -> None:
    # AsyncClient.close carries no annotations in ollama 0.6.
    await client.close()  # type: ignore[no-untyped-call]


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _ERROR_TEXT_LIMIT else text[: _ERROR_TEXT_LIMIT - 1] + "…"


def _failure(
    exc: BaseException, *, host: str, timeout: float, doing: str, model: str | None = None
) -> ModelError:
    """A plain-words :class:`ModelError` for a failed request to the Ollama at ``host``.

    ``doing`` completes "while …", e.g. "listing its models".
    """
    if isinstance(exc, ResponseError):
        return _response_failure(exc, host=host, doing=doing, model=model)
    if isinstance(exc, httpx.ConnectTimeout):
        message = (
            f"Could not connect to Ollama at {host} within the timeout of "
            f"{min(timeout, CONNECT_TIMEOUT):g} s while {doing}. Check that the address "
            f"is right and that the server is running (`ollama serve`)."
        )
    elif isinstance(exc, httpx.TimeoutException):
        message = (
            f"Ollama at {host} did not answer within the timeout of {timeout:g} s while "
            f"{doing}. It may still be loading the model or be busy with other requests: "
            f"try again, or allow a longer timeout."
        )
    elif isinstance(exc, httpx.ConnectError | ConnectionError):
        subject = f"so the model '{model}' cannot be used" if model else "so it cannot be used"
        message = (
            f"Ollama is not running at {host}, {subject}: start it with `ollama serve`, "
            f"or set the address of the server where it runs."
        )
    elif isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        message = (
            f"The connection to Ollama at {host} broke while {doing} "
            f"({_short(str(exc)) or type(exc).__name__}). The server may have stopped."
        )
    elif isinstance(exc, ValueError):
        message = (
            f"Ollama at {host} sent a reply that could not be read while {doing}: "
            f"{_short(str(exc))}"
        )
    else:
        message = (
            f"The request to Ollama at {host} failed while {doing}: "
            f"{_short(str(exc)) or type(exc).__name__}"
        )
    return ModelError(message)


def _response_failure(
    exc: ResponseError, *, host: str, doing: str, model: str | None
) -> ModelError:
    """The error for an error status, or for an ``{"error": ...}`` line in a stream."""
    reason = _short(str(exc.error))
    if exc.status_code == 404 and model and "model" in reason.lower():
        return ModelError(
            f"Ollama at {host} has no model called '{model}' ({reason}). "
            f"Download it with `ollama pull {model}`, or choose one of the models it has."
        )
    if exc.status_code == 404:
        # Ollama answers 404 only for a missing model; anything else is some other server.
        return ModelError(
            f"The server at {host} answered 404 Not Found while {doing} ({reason}). "
            f"Is it an Ollama server, and a recent enough version?"
        )
    if exc.status_code < 0:
        # The ollama client gives no status for an error line in a stream that had begun.
        return ModelError(f"Ollama at {host} reported an error while {doing}: {reason}")
    return ModelError(
        f"Ollama at {host} refused the request while {doing} (HTTP {exc.status_code}): {reason}"
    )


def _context_length(model_info: Mapping[str, Any] | None) -> int | None:
    """``<architecture>.context_length`` from ``/api/show``'s ``model_info``."""
    if not model_info:
        return None
    architecture = model_info.get("general.architecture")
    value = model_info.get(f"{architecture}.context_length") if architecture else None
    if value is None:
        value = next((v for k, v in model_info.items() if k.endswith(".context_length")), None)
    return value if isinstance(value, int) and value > 0 else None


class OllamaServer:
    """One Ollama server: the models it has, what each can do, and which are loaded.

    ``host`` defaults to ``$OLLAMA_HOST`` or http://127.0.0.1:11434. ``timeout`` is the
    longest the server may stay silent before the request fails. Call :meth:`aclose` when
    done.
    """

    def __init__(self, host: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.host = ollama_host(host)
        self.timeout = timeout
        self._client = _client(self.host, timeout)

    async def _call(self, request: Awaitable[T], doing: str, model: str | None = None) -> T:
        try:
            return await request
        except _FAILURES as exc:
            raise _failure(
                exc, host=self.host, timeout=self.timeout, doing=doing, model=model
            ) from exc

    async def list_models(self) -> tuple[OllamaModelInfo, ...]:
        """The models the server has downloaded, in the server's order."""
        reply = await self._call(self._client.list(), "listing its models")
        models = []
        for item in reply.models:
            details = item.details
            models.append(
                OllamaModelInfo(
                    name=item.model or "",
                    size_bytes=int(item.size or 0),
                    family=(details.family if details else None) or "",
                    parameter_size=(details.parameter_size if details else None) or "",
                    quantization=(details.quantization_level if details else None) or "",
                )
            )
        return tuple(models)

    async def show(self, name: str) -> OllamaModelDetails:
        """What the model ``name`` can do and its context length.

        Raises :class:`ModelError` if the server has no such model.
        """
        reply = await self._call(self._client.show(name), f"describing '{name}'", name)
        details = reply.details
        info = reply.modelinfo or {}
        return OllamaModelDetails(
            name=name,
            capabilities=tuple(reply.capabilities or ()),
            context_length=_context_length(info),
            architecture=str(info.get("general.architecture") or ""),
            family=(details.family if details else None) or "",
            parameter_size=(details.parameter_size if details else None) or "",
            quantization=(details.quantization_level if details else None) or "",
        )

    async def loaded(self) -> tuple[OllamaLoadedModel, ...]:
        """The models the server holds in memory now."""
        reply = await self._call(self._client.ps(), "listing the models it has loaded")
        return tuple(
            OllamaLoadedModel(
                name=item.model or item.name or "",
                size_bytes=int(item.size or 0),
                vram_bytes=int(item.size_vram or 0),
                expires_at=item.expires_at,
                context_length=item.context_length,
            )
            for item in reply.models
        )

    async def pull(self, name: str) -> AsyncIterator[PullProgress]:
        """Have the server download the model ``name`` (``ollama pull``), yielding each line
        of its progress. Cancelling the task that iterates closes the connection, which stops
        the pull; Ollama keeps what it fetched and goes on from there next time.

        Raises :class:`ModelError` when the server cannot be reached, has no such model to
        pull, or reports an error.
        """
        try:
            async for line in await self._client.pull(name, stream=True):
                yield PullProgress(line.status or "", line.completed or 0, line.total or 0)
        except _FAILURES as exc:
            raise _failure(
                exc, host=self.host, timeout=self.timeout, doing=f"pulling '{name}'", model=name
            ) from exc

    def chat_model(
        self, name: str, *, num_ctx: int, keep_alive: str | float = DEFAULT_KEEP_ALIVE
    ) -> OllamaChatModel:
        """A chat model on this server, with a connection of its own (close it too)."""
        return OllamaChatModel(
            name, num_ctx=num_ctx, host=self.host, timeout=self.timeout, keep_alive=keep_alive
        )

    async def aclose(self) -> None:
        await _close(self._client)


class OllamaChatModel:
    """A chat model served by Ollama, implementing :class:`~purpose_desktop.models.base.ChatModel`.

    ``num_ctx`` is sent unchanged on every call: Ollama reloads a model whenever the context
    size changes. ``keep_alive`` (e.g. ``"10m"``, or seconds) is how long Ollama keeps the
    model loaded after a call. ``timeout`` is the longest Ollama may stay silent (before the
    first token, which may include loading the model, or between tokens); it does not limit
    a whole answer. Calls may run concurrently; Ollama queues them. Call :meth:`aclose` when
    done.
    """

    #: Ollama turns a schema given as ``format`` into a grammar.
    keeps_to_schemas = True

    def __init__(
        self,
        name: str,
        *,
        num_ctx: int,
        host: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        keep_alive: str | float = DEFAULT_KEEP_ALIVE,
    ) -> None:
        if num_ctx <= 0:
            raise ModelError(
                f"Context size for '{name}' must be a positive number of tokens, not {num_ctx}."
            )
        self.name = name
        self.num_ctx = num_ctx
        self.keep_alive = keep_alive
        self.host = ollama_host(host)
        self.timeout = timeout
        self._client = _client(self.host, timeout)

    @property
    def context_size(self) -> int:
        """The context Ollama is asked for on every call."""
        return self.num_ctx

    def _options(self, options: GenerationOptions) -> dict[str, Any]:
        request: dict[str, Any] = {"num_ctx": self.num_ctx, "num_predict": options.max_tokens}
        # Unset sampling settings are left out, so the model's own defaults (its Modelfile)
        # apply.
        for key, value in (
            ("temperature", options.temperature),
            ("top_p", options.top_p),
            ("seed", options.seed),
        ):
            if value is not None:
                request[key] = value
        return request

    def _failure(self, exc: BaseException) -> ModelError:
        return _failure(
            exc,
            host=self.host,
            timeout=self.timeout,
            doing=f"'{self.name}' was answering",
            model=self.name,
        )

    async def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream the answer to ``messages``: :class:`TokenDelta` and :class:`ThinkingDelta`
        pieces, then one :class:`StreamDone`.

        With ``options.json_schema`` Ollama constrains the answer to that schema (validate it
        with :func:`~purpose_desktop.models.structured.generate_json`). Closing the iterator
        early, or cancelling the task reading it, closes the HTTP stream, which stops Ollama
        generating. Raises :class:`ModelError` for every failure.
        """
        started = time.perf_counter()
        try:
            stream = await self._client.chat(
                model=self.name,
                messages=[{"role": m.role, "content": m.content} for m in messages],
                stream=True,
                format=None if options.json_schema is None else dict(options.json_schema),
                options=self._options(options),
                keep_alive=self.keep_alive,
            )
        except _FAILURES as exc:
            raise self._failure(exc) from exc
        splitter = ThinkingSplitter()
        try:
            while True:
                try:
                    part = await anext(stream)
                except StopAsyncIteration:
                    break
                except _FAILURES as exc:
                    raise self._failure(exc) from exc
                # Ollama puts a reasoning model's thinking in its own field, but models it
                # does not know to be reasoning models write <think> tags into the content.
                if part.message.thinking:
                    yield ThinkingDelta(part.message.thinking)
                if part.message.content:
                    for delta in splitter.feed(part.message.content):
                        yield delta
                if part.done:
                    for delta in splitter.flush():
                        yield delta
                    seconds = (
                        part.eval_duration / 1e9
                        if part.eval_duration
                        else time.perf_counter() - started
                    )
                    yield StreamDone(
                        part.done_reason or "stop",
                        Usage(part.prompt_eval_count or 0, part.eval_count or 0, seconds),
                    )
                    return
        finally:
            # Leaving early (the consumer stopped, or an error) must close the response, or
            # Ollama would go on generating for nobody.
            if isinstance(stream, AsyncGenerator):
                await stream.aclose()
        raise ModelError(
            f"Ollama at {self.host} ended the answer of '{self.name}' before it was finished. "
            f"The server may have stopped."
        )

    async def aclose(self) -> None:
        await _close(self._client)
