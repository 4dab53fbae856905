"""A connection to one MCP server, on the official SDK (``mcp``).

The server starts on first use and stays up for the calls after it; :meth:`McpServer.aclose`
stops it. A server that cannot be started or does not answer at start gives a
:class:`~purpose_desktop.engine.tools.base.ToolError` that names it and its log, and so does
one that dies during a call; the next use starts it again, as it does for a server that died
or hung between calls. A stdio server's standard error is appended to its log file, and its
process is recorded while it runs, so that the next start of the app ends it if the app was
killed (:mod:`purpose_desktop.models.orphans`).

The SDK is anyio-based: a session's task group and the server process it starts must be
entered and left by the same task. Each connection therefore holds its session in a task of
its own, which opens it, waits until asked to stop, and closes it. Requests are sent from
the callers' own tasks on that open session (the SDK matches answers to requests by id), so
several calls run at once and cancelling a caller cancels its request at the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.tools.base import NOTHING_GIVEN, ToolError
from purpose_desktop.engine.tools.mcp.config import (
    HttpServer,
    ServerConfig,
    StdioServer,
    with_secrets,
)
from purpose_desktop.errors import UserError
from purpose_desktop.limits import shown

if TYPE_CHECKING:
    from anyio import CancelScope
    from mcp import Client
    from mcp.types import CallToolResult

    from purpose_desktop.models.orphans import WorkerRecord

__all__ = ["McpServer", "McpToolInfo"]

log = logging.getLogger(__name__)

#: How long a server may take to start and answer the MCP handshake.
START_TIMEOUT = 30.0
#: How long a running server may take to answer a ping before it counts as hung.
PING_TIMEOUT = 5.0
_LAST_LOG_CHARS = 300  # of what a failed server wrote, quoted in the error
#: Set in a stdio server's environment to tell its process among the app's children: the SDK
#: does not give out the process it starts.
SERVER_ID_ENV = "PURPOSE_DESKTOP_MCP_SERVER_ID"


@dataclass(frozen=True)
class McpToolInfo:
    """A tool as its server lists it: ``input_schema`` is a JSON schema of its arguments.
    ``read_only``, ``destructive`` and ``open_world`` are the server's hints, ``None`` where
    it gives none."""

    name: str
    description: str
    input_schema: Mapping[str, Any]
    read_only: bool | None = None
    destructive: bool | None = None
    open_world: bool | None = None


class McpServer:
    """One configured MCP server, called by its ``name`` in messages.

    ``log_file`` receives a stdio server's standard error, and ``record`` lists its process
    while it runs. ``start_timeout`` bounds starting the server and the MCP handshake; a
    running server that does not answer a ping within ``ping_timeout`` seconds when it is
    next used is stopped and started again. Secrets of its ``env`` or ``headers`` kept in
    the system keyring are read from there each time it starts.
    """

    def __init__(
        self,
        name: str,
        config: ServerConfig,
        log_file: Path,
        *,
        start_timeout: float = START_TIMEOUT,
        ping_timeout: float = PING_TIMEOUT,
        record: WorkerRecord | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.log_file = log_file
        self.record = record
        self.start_timeout = start_timeout
        self.ping_timeout = ping_timeout
        self._session: _Session | None = None
        self._lock = asyncio.Lock()

    async def list_tools(self) -> tuple[McpToolInfo, ...]:
        """Every tool the server offers, starting it if need be."""
        session = await self._open_session()
        found: list[McpToolInfo] = []
        cursor: str | None = None
        while True:
            async with self._failures(session, "list its tools"):
                page = await session.client.list_tools(cursor=cursor)
            found.extend(
                McpToolInfo(
                    name=tool.name,
                    description=tool.description or tool.title or tool.name,
                    input_schema=tool.input_schema,
                    read_only=tool.annotations.read_only_hint if tool.annotations else None,
                    destructive=tool.annotations.destructive_hint if tool.annotations else None,
                    open_world=tool.annotations.open_world_hint if tool.annotations else None,
                )
                for tool in page.tools
            )
            cursor = page.next_cursor
            if cursor is None:
                return tuple(found)

    async def call_tool(self, tool: str, arguments: Mapping[str, Any]) -> str:
        """Call the server's ``tool`` and return what it answered, as text.

        Raises :class:`ToolError` when the tool reports an error (with its message) and when
        the server cannot be started or stops (it starts again on the next call). Bound the
        call with ``asyncio.timeout``: cancelling it cancels the request at the server.
        """
        session = await self._open_session()
        async with self._failures(session, f"call {tool}"):
            result = await session.client.call_tool(tool, dict(arguments))
        text = _result_text(result)
        if result.is_error:
            raise ToolError(f"{self.name}.{tool}: {text}")
        return text

    async def aclose(self) -> None:
        """Stop the server, if it runs (after a start under way has ended); the next use
        starts it again."""
        async with self._lock:  # a start under way holds it: its server is stopped too
            session = self._session
        if session is not None:
            await self._drop(session)

    async def _open_session(self) -> _Session:
        """The session to send a request on: the open one if the server still answers a
        ping, else a new one. The ping finds out a server that died or hung since it was
        last used, which the SDK does not tell until a request fails."""
        async with self._lock:
            session = self._session
            if session is not None and not session.closed and not await self._answers(session):
                await session.close()
            if session is None or session.closed:
                session = self._session = await self._start()
            return session

    async def _answers(self, session: _Session) -> bool:
        from mcp import MCPError
        from mcp.types import CONNECTION_CLOSED

        try:
            async with asyncio.timeout(self.ping_timeout):
                # The session's own ping: servers of the 2026 protocol no longer know the
                # method, but an error they answer shows they are alive all the same.
                await session.client.session.send_ping()
        except MCPError as exc:
            return exc.code != CONNECTION_CLOSED
        except TimeoutError:
            return False
        return True

    async def _drop(self, session: _Session) -> None:
        """Stop ``session``'s server, and forget it unless a newer one took its place."""
        async with self._lock:
            if self._session is session:
                self._session = None
        await session.close()

    async def _start(self) -> _Session:
        try:
            # Off the loop: the keyring may take a D-Bus round trip, or a prompt to unlock it.
            config = await asyncio.to_thread(with_secrets, self.config, _keyring_secret)
        except UserError as exc:
            raise ToolError(f"The MCP server '{self.name}' cannot start: {exc}") from None
        # The SDK's first import takes the better part of a second: not on the event loop.
        await asyncio.to_thread(_import_sdk, config)
        import anyio

        offset = _size(self.log_file)
        opened: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()
        # A start given up is cancelled through this scope, not with ``task.cancel()``: the
        # SDK stops the server in a shielded scope, which a native cancellation still breaks
        # into, and the process would be left running.
        scope = anyio.CancelScope()
        task = asyncio.create_task(
            self._hold(config, opened, stop, scope), name=f"MCP server {self.name}"
        )
        try:
            async with asyncio.timeout(self.start_timeout):
                client = await asyncio.shield(opened)
        except TimeoutError:
            await _given_up(task, scope)
            raise ToolError(
                f"The MCP server '{self.name}' did not answer within {self.start_timeout:g} s "
                f"of starting and was stopped{self._written_since(offset)}"
            ) from None
        except asyncio.CancelledError:
            await _given_up(task, scope)
            raise
        except Exception as exc:
            await _given_up(task, scope)
            raise ToolError(self._start_failure(_leaf(exc), offset)) from None
        return _Session(client, task, stop, offset)

    async def _hold(
        self,
        config: ServerConfig,
        opened: asyncio.Future[Client],
        stop: asyncio.Event,
        scope: CancelScope,
    ) -> None:
        """Open the session to the server ``config`` describes (its secrets filled in), hand
        it over through ``opened``, and close it once ``stop`` is set: entered and left in
        this one task, as anyio requires. Cancelling ``scope`` gives up a start under way.
        A stdio server's process is recorded from when the session is open until it has
        stopped."""
        server_id = f"{os.getpid()}-{self.name}-{os.urandom(8).hex()}"
        pid: int | None = None
        try:
            with scope:
                async with contextlib.AsyncExitStack() as stack:
                    client = await stack.enter_async_context(
                        await self._make_client(config, stack, server_id)
                    )
                    if self.record is not None and isinstance(config, StdioServer):
                        pid = await asyncio.to_thread(_record_server, self.record, server_id)
                    opened.set_result(client)
                    await stop.wait()
        except Exception as exc:
            if not opened.done():
                opened.set_exception(exc)
            else:  # the session was open: a failure while closing it
                log.warning("The MCP server %s did not stop cleanly: %s", self.name, _leaf(exc))
        finally:
            if pid is not None and self.record is not None:
                self.record.remove(pid)

    async def _make_client(
        self, config: ServerConfig, stack: contextlib.AsyncExitStack, server_id: str
    ) -> Client:
        from mcp import Client, StdioServerParameters

        if isinstance(config, StdioServer):
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            errors = stack.enter_context(self.log_file.open("a", encoding="utf-8"))
            from mcp.client.stdio import stdio_client

            parameters = StdioServerParameters(
                command=config.command,
                args=config.args,
                env={**config.env, SERVER_ID_ENV: server_id},
            )
            return Client(stdio_client(parameters, errlog=errors))
        assert isinstance(config, HttpServer)
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        # The SDK's own timeouts: a server may hold a response stream open for long.
        http = await stack.enter_async_context(
            httpx2.AsyncClient(headers=config.headers, timeout=httpx2.Timeout(30.0, read=300.0))
        )
        return Client(streamable_http_client(config.url, http_client=http))

    @contextlib.asynccontextmanager
    async def _failures(self, session: _Session, doing: str) -> AsyncIterator[None]:
        """Turn the SDK's failures while ``doing`` into a :class:`ToolError`; a connection
        that closed is dropped, so the next use starts the server again."""
        from mcp import MCPError
        from mcp.types import CONNECTION_CLOSED
        from pydantic import ValidationError

        try:
            yield
        except ValidationError as exc:
            raise ToolError(
                f"The MCP server '{self.name}' gave an answer that is not valid MCP when asked "
                f"to {doing}: {shown(str(exc), 200)}"
            ) from None
        except MCPError as exc:
            if exc.code != CONNECTION_CLOSED:
                raise ToolError(
                    f"The MCP server '{self.name}' could not {doing}: {shown(exc.message)}"
                ) from None
            await self._drop(session)
            again = "starts it" if isinstance(self.config, StdioServer) else "connects"
            raise ToolError(
                f"The MCP server '{self.name}' stopped while asked to {doing}; the next use "
                f"{again} again{self._written_since(session.log_offset)}"
            ) from None

    def _start_failure(self, error: BaseException, offset: int) -> str:
        from mcp import MCPError
        from mcp.types import CONNECTION_CLOSED

        config = self.config
        if isinstance(error, MCPError) and error.code == CONNECTION_CLOSED:
            return (
                f"The MCP server '{self.name}' stopped before it answered"
                f"{self._written_since(offset)}"
            )
        if isinstance(error, FileNotFoundError) and isinstance(config, StdioServer):
            return (
                f"The MCP server '{self.name}' cannot start: there is no program "
                f"'{shown(config.command)}' (install it, or give its full path in mcp.json)."
            )
        if isinstance(error, OSError) and isinstance(config, StdioServer):
            return (
                f"The MCP server '{self.name}' cannot start '{shown(config.command)}': "
                f"{error.strerror or error}."
            )
        reason = shown(str(error) or type(error).__name__).rstrip(".")
        if isinstance(config, HttpServer):
            return f"The MCP server '{self.name}' cannot be reached at {config.url}: {reason}."
        return f"The MCP server '{self.name}' did not start: {reason}{self._written_since(offset)}"

    def _written_since(self, offset: int) -> str:
        """The end of a sentence: what the server last wrote to its log, and where that is."""
        if not isinstance(self.config, StdioServer):
            return "."
        try:
            with self.log_file.open("rb") as file:
                file.seek(offset)
                written = file.read().decode("utf-8", "replace").strip()
        except OSError:
            written = ""
        last = shown(written[-_LAST_LOG_CHARS:].splitlines()[-1]) if written else ""
        said = f". It wrote: {last}" if last else ""
        return f"{said}. Its log: {self.log_file}"


@dataclass
class _Session:
    client: Client
    task: asyncio.Task[None]
    stop: asyncio.Event
    log_offset: int

    @property
    def closed(self) -> bool:
        return self.task.done()

    async def close(self) -> None:
        self.stop.set()
        await _ended(self.task)


def _result_text(result: CallToolResult) -> str:
    """A tool's answer as text: text items as they are, other content named in brackets, the
    structured content as JSON when there is nothing else."""
    from mcp.types import EmbeddedResource, ResourceLink, TextContent, TextResourceContents

    parts: list[str] = []
    for item in result.content:
        if isinstance(item, TextContent):
            parts.append(item.text)
        elif isinstance(item, ResourceLink):
            parts.append(f"[resource {item.uri}]")
        elif isinstance(item, EmbeddedResource):
            resource = item.resource
            if isinstance(resource, TextResourceContents):
                parts.append(resource.text)
            else:
                parts.append(f"[{resource.mime_type or 'binary'} resource {resource.uri}]")
        else:
            parts.append(f"[{item.type} {item.mime_type}, {len(item.data) * 3 // 4:,} bytes]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts) or NOTHING_GIVEN


def _import_sdk(config: ServerConfig) -> None:
    """Import the parts of the SDK that the transport of ``config`` needs."""
    if isinstance(config, StdioServer):
        import mcp.client.stdio
    else:
        import mcp.client.streamable_http  # noqa: F401


def _keyring_secret(name: str) -> str:
    """The secret the system keyring keeps as ``name``; :class:`UserError` saying why not."""
    from purpose_desktop.secrets import read_api_key

    stored = read_api_key(name)
    if stored.state == "not_saved":
        raise UserError(
            f"the system keyring has no secret '{name}' (importing its mcp.json again saves it)."
        )
    if stored.key is None:
        raise UserError(f"its secret '{name}' cannot be read. {stored.reason}")
    return stored.key


def _record_server(record: WorkerRecord, server_id: str) -> int | None:
    """Record the child process started with ``server_id`` in its environment; its pid, or
    ``None`` when it has already ended."""
    import psutil

    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if child.environ().get(SERVER_ID_ENV) == server_id:
                record.add(child.pid)
                return child.pid
    return None


def _leaf(error: BaseException) -> BaseException:
    """The first failure inside the exception groups anyio's task groups raise."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


async def _given_up(task: asyncio.Task[None], scope: CancelScope) -> None:
    """Give up the start ``task`` is making, through its cancel scope, and wait until it
    has ended (see :func:`_ended`)."""
    scope.cancel()
    await _ended(task)


async def _ended(task: asyncio.Task[None]) -> None:
    """Wait until ``task`` has ended, whatever its outcome. A server being stopped is waited
    for even when the caller is cancelled meanwhile, so that no process outlives the call;
    the caller's cancellation is passed on afterwards."""
    interrupted = False
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            interrupted = True
    if interrupted:
        raise asyncio.CancelledError
