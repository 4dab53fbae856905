"""No MCP server outlives the app: a stdio server the client starts is recorded while it
runs, and one left by an app killed with SIGKILL is ended at the next start."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from purpose_desktop.engine.tools.mcp.client import McpServer
from purpose_desktop.engine.tools.mcp.config import StdioServer
from purpose_desktop.models.orphans import WorkerRecord, end_orphaned_workers
from tests.support.mcp_server import REPO, server_command

pytestmark = pytest.mark.process


def test_a_server_is_recorded_while_it_runs_and_forgotten_when_it_stops(tmp_path: Path) -> None:
    records = tmp_path / "mcp-servers"
    config = StdioServer.model_validate(server_command())
    server = McpServer("test", config, tmp_path / "mcp-test.log", record=WorkerRecord(records))

    async def scenario() -> tuple[int, object]:
        try:
            pid = int(await server.call_tool("pid", {}))
            (record,) = records.glob("*.json")
            return pid, json.loads(record.read_text())
        finally:
            await server.aclose()

    pid, record = asyncio.run(scenario())
    assert isinstance(record, dict)
    assert [entry[0] for entry in record["workers"]] == [pid]
    assert record["owner"][0] == os.getpid()
    assert list(records.glob("*.json")) == []  # stopped: forgotten
    assert not psutil.pid_exists(pid)


def test_a_server_left_by_a_killed_app_is_ended_at_the_next_start(tmp_path: Path) -> None:
    records = tmp_path / "mcp-servers"
    command = [sys.executable, "-m", "tests.support.mcp_app", str(records), str(tmp_path), "120"]
    server: psutil.Process | None = None
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as app:
        try:
            assert app.stdout is not None
            server = psutil.Process(int(app.stdout.readline()))
            app.kill()  # SIGKILL: the app has no chance to stop its servers
            app.wait(timeout=30)
            # Hung, the server does not notice: it outlives the app, the orphan to be ended.
            assert server.is_running()
            assert server.status() != psutil.STATUS_ZOMBIE
            assert end_orphaned_workers(records) == [server.pid]
            assert not server.is_running()
            assert list(records.glob("*.json")) == []
        finally:
            app.kill()
            if server is not None and server.is_running():
                server.kill()
