"""MCP servers for real: mcp-server-time from PyPI and the tests' own server
(tests/support/mcp_server.py), started as processes, listed, called, crashed and hung."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from purpose_desktop.config import Paths
from purpose_desktop.engine.tools.base import ToolContext, ToolError
from purpose_desktop.engine.tools.functions import call_tool
from purpose_desktop.engine.tools.mcp.client import McpServer
from purpose_desktop.engine.tools.mcp.config import HttpServer, McpConfig, StdioServer
from purpose_desktop.engine.tools.mcp.tools import McpServers, mcp_tool
from tests.support.mcp_server import server_command

pytestmark = pytest.mark.process

TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")


def own_server(home: Paths, *args: str) -> McpServer:
    """The tests' own server, called 'test'."""
    config = StdioServer.model_validate(server_command(*args))
    return McpServer("test", config, home.logs_dir / "mcp-test.log")


def test_the_time_servers_tools_are_listed_and_called_as_engine_tools(
    home: Paths, tmp_path: Path
) -> None:
    servers = McpServers(McpConfig({"time": StdioServer(command=TIME_SERVER)}), home.logs_dir)

    async def scenario() -> tuple[list[str], str, str]:
        try:
            tools = {tool.name: tool for tool in await servers.tools("time")}
            now = tools["time.get_current_time"]
            context = ToolContext(tmp_path)
            answer = await call_tool(now, {"timezone": "Europe/Paris"}, context)
            with pytest.raises(ToolError) as caught:
                await call_tool(now, {"timezone": "Nowhere/Atlantis"}, context)
            return list(tools), answer, str(caught.value)
        finally:
            await servers.aclose()

    names, answer, error = asyncio.run(scenario())
    assert names == ["time.get_current_time", "time.convert_time"]
    assert json.loads(answer)["timezone"] == "Europe/Paris"
    # A result the server marks as an error is a failed call, with the server's words.
    assert error.startswith("time.get_current_time: ")
    assert "Nowhere/Atlantis" in error
    assert (home.logs_dir / "mcp-time.log").exists()


def test_the_description_schema_and_review_come_from_the_server(home: Paths) -> None:
    server = own_server(home)

    async def scenario() -> dict[str, tuple[str, bool, object]]:
        try:
            infos = await server.list_tools()
        finally:
            await server.aclose()
        tools = [mcp_tool(server, info) for info in infos]
        return {t.name: (t.description, t.risky, t.parameters.get("required")) for t in tools}

    tools = asyncio.run(scenario())
    assert tools["test.echo"] == ("Say the text back.", False, ["text"])  # read-only
    assert tools["test.crash"][1:] == (True, None)  # no hints: asked about under "risky"


@pytest.fixture
def http_server() -> Iterator[str]:
    """The tests' own server over streamable HTTP: its address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    entry = server_command("--http", str(port))
    process = subprocess.Popen(
        [entry["command"], *entry["args"]],
        env={**os.environ, **entry["env"]},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert process.poll() is None and time.monotonic() < deadline, "no HTTP server"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(30)


def test_a_server_over_http_gets_the_configured_headers(home: Paths, http_server: str) -> None:
    config = HttpServer(url=http_server, headers={"X-Token": "secret-ish"})
    server = McpServer("web", config, home.logs_dir / "mcp-web.log")

    async def scenario() -> tuple[str, str]:
        try:
            header = await server.call_tool("header", {"name": "X-Token"})
            return header, await server.call_tool("echo", {"text": "over HTTP"})
        finally:
            await server.aclose()

    assert asyncio.run(scenario()) == ("secret-ish", "over HTTP")


def test_a_server_that_cannot_be_reached_is_a_clear_error(home: Paths) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/mcp"
    server = McpServer("gone", HttpServer(url=url), home.logs_dir / "mcp-gone.log")
    with pytest.raises(ToolError, match=rf"^The MCP server 'gone' cannot be reached at {url}: "):
        asyncio.run(server.list_tools())


def test_content_other_than_text_is_named_in_the_observation(home: Paths) -> None:
    server = own_server(home)

    async def scenario() -> str:
        try:
            return await server.call_tool("mixed", {})
        finally:
            await server.aclose()

    assert asyncio.run(scenario()).splitlines() == [
        "a caption",
        "[image image/png, 3 bytes]",
        "notes",
        "[resource file:///big.csv]",
    ]


def test_a_command_that_does_not_exist_is_a_clear_error(home: Paths) -> None:
    server = McpServer("ghost", StdioServer(command="no-such-mcp-server"), home.logs_dir / "g")
    with pytest.raises(ToolError) as caught:
        asyncio.run(server.list_tools())
    assert str(caught.value) == (
        "The MCP server 'ghost' cannot start: there is no program 'no-such-mcp-server' "
        "(install it, or give its full path in mcp.json)."
    )


def test_a_server_that_exits_at_once_fails_clearly_then_starts_on_the_next_use(
    home: Paths, tmp_path: Path
) -> None:
    server = own_server(home, "--quit-first-time", str(tmp_path / "started-once"))

    async def scenario() -> tuple[str, str]:
        try:
            with pytest.raises(ToolError) as caught:
                await server.call_tool("echo", {"text": "hello"})
            return str(caught.value), await server.call_tool("echo", {"text": "hello"})
        finally:
            await server.aclose()

    error, answer = asyncio.run(scenario())
    assert error.startswith("The MCP server 'test' stopped before it answered.")
    assert "It wrote: quitting as asked." in error
    assert str(server.log_file) in error
    assert answer == "hello"


def test_a_server_that_crashes_during_a_call_is_started_again(home: Paths) -> None:
    server = own_server(home)

    async def scenario() -> tuple[int, str, int]:
        try:
            first = int(await server.call_tool("pid", {}))
            with pytest.raises(ToolError) as caught:
                await server.call_tool("crash", {})
            return first, str(caught.value), int(await server.call_tool("pid", {}))
        finally:
            await server.aclose()

    first, error, second = asyncio.run(scenario())
    assert error.startswith(
        "The MCP server 'test' stopped while asked to call crash; the next use starts it "
        "again. It wrote: crashing as asked."
    )
    assert second != first
    assert not psutil.pid_exists(second)  # aclose stopped it


def test_a_call_that_hangs_is_stopped_and_the_server_goes_on(home: Paths, tmp_path: Path) -> None:
    server = own_server(home)

    async def scenario() -> tuple[str, str]:
        try:
            infos = {info.name: info for info in await server.list_tools()}
            wait = mcp_tool(server, infos["wait"], timeout=1.0)
            with pytest.raises(ToolError) as caught:
                await call_tool(wait, {"seconds": 60}, ToolContext(tmp_path))
            return str(caught.value), await server.call_tool("echo", {"text": "still here"})
        finally:
            await server.aclose()

    error, answer = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert error == "test.wait took longer than 1 s and was stopped"
    assert answer == "still here"


def test_a_server_that_died_between_calls_is_started_again_unseen(home: Paths) -> None:
    server = own_server(home)

    async def scenario() -> tuple[int, int]:
        try:
            first = int(await server.call_tool("pid", {}))
            # One handle, taken before the kill: the SDK may reap the process at once, and a
            # handle taken after that would find no process to wait for.
            process = psutil.Process(first)
            process.kill()
            await asyncio.to_thread(process.wait, 30)
            return first, int(await server.call_tool("pid", {}))
        finally:
            await server.aclose()

    first, second = asyncio.run(scenario())
    assert second != first


def test_closing_a_server_while_it_starts_stops_it_once_started(home: Paths) -> None:
    server = own_server(home)

    def children() -> set[int]:
        running = set()
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):  # ended meanwhile
                if child.status() != psutil.STATUS_ZOMBIE:
                    running.add(child.pid)
        return running

    async def scenario() -> set[int]:
        before = children()
        listing = asyncio.create_task(server.list_tools())
        async with asyncio.timeout(60):
            while True:  # until the server's process is there, still starting
                if children() - before:
                    break
                await asyncio.sleep(0.01)
        await server.aclose()  # waits for the start, then stops what it started
        with contextlib.suppress(ToolError):  # the listing may find it stopped
            await listing
        return children() - before

    assert asyncio.run(scenario()) == set()


def test_a_server_that_hangs_is_started_again_on_the_next_use(home: Paths, tmp_path: Path) -> None:
    config = StdioServer.model_validate(server_command())
    server = McpServer("test", config, home.logs_dir / "mcp-test.log", ping_timeout=1)

    async def scenario() -> tuple[int, str, int]:
        try:
            first = int(await server.call_tool("pid", {}))
            infos = {info.name: info for info in await server.list_tools()}
            block = mcp_tool(server, infos["block"], timeout=1.0)
            with pytest.raises(ToolError) as caught:
                await call_tool(block, {"seconds": 60}, ToolContext(tmp_path))
            return first, str(caught.value), int(await server.call_tool("pid", {}))
        finally:
            await server.aclose()

    first, error, second = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert error == "test.block took longer than 1 s and was stopped"
    assert second != first
    assert not psutil.pid_exists(first)


def test_a_server_that_never_answers_at_start_is_stopped(home: Paths) -> None:
    sleeper = shutil.which("sleep")
    assert sleeper is not None
    server = McpServer(
        "mute", StdioServer(command=sleeper, args=["60"]), home.logs_dir / "m", start_timeout=1
    )
    with pytest.raises(ToolError, match=r"'mute' did not answer within 1 s of starting"):
        asyncio.run(asyncio.wait_for(server.list_tools(), 30))


def test_importing_the_app_and_the_engine_does_not_import_the_sdk() -> None:
    code = (
        "import sys, purpose_desktop.app, purpose_desktop.cli, purpose_desktop.engine.loop.run, "
        "purpose_desktop.engine.tools.mcp.tools, purpose_desktop.services.tools; "
        "print('mcp' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"


def test_stopping_a_session_waits_for_it_and_passes_on_the_callers_own_cancellation() -> None:
    from purpose_desktop.engine.tools.mcp.client import _ended

    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0.2)  # closing a session takes a while
            raise

    async def scenario() -> None:
        session = asyncio.create_task(slow_to_stop())
        await asyncio.sleep(0)
        session.cancel()
        await _ended(session)  # the task's own cancellation is taken
        assert session.cancelled()

        session = asyncio.create_task(slow_to_stop())
        await asyncio.sleep(0)
        session.cancel()
        stopping = asyncio.create_task(_ended(session))
        await asyncio.sleep(0.05)
        stopping.cancel()  # the caller is cancelled while it waits: it waits on, then says so
        await asyncio.sleep(0.05)
        stopping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopping
        assert session.done()

    asyncio.run(scenario())
