"""What the Tools pane asks the tools service for, without starting a server: each server's
settings with its secrets masked, the tools with their schemas, a server's log, mcp.json made
when missing, and a restart that stops the runs' servers only when asked to."""

from __future__ import annotations

import asyncio
import json

import pytest
from purpose_desktop.config import Paths
from purpose_desktop.errors import UserError
from purpose_desktop.services.tools import BUILT_IN, HIDDEN, ToolsService


@pytest.mark.usefixtures("no_keyring")
def test_the_overview_masks_every_secret_and_says_why_a_server_did_not_start(
    home: Paths,
) -> None:
    # Each server needs a secret from the keyring, which this computer lacks: neither is
    # started (no process, no connection), and both say why.
    servers = {
        "local": {
            "command": "some-mcp-server",
            "args": ["--api-key=abc123", "--token", "xyz789", "--port", "3000", "SECRET=s3"],
            "env": {
                "DEBUG": "1",
                "GITHUB_TOKEN": "keyring:mcp/local/env/GITHUB_TOKEN",
                "DB_PASSWORD": "written-in-the-file",
            },
        },
        "docs": {
            "url": "https://someone:pw@example.org/mcp?api_key=k123&lang=en",
            "headers": {"Authorization": "keyring:mcp/docs/headers/Authorization", "X-Trace": "on"},
        },
    }
    home.mcp_config_file.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    overview = asyncio.run(ToolsService(home).overview())

    local, docs = overview.servers
    assert local.command == "some-mcp-server"
    assert local.args == (
        f"--api-key={HIDDEN}",
        "--token",
        HIDDEN,
        "--port",
        "3000",
        f"SECRET={HIDDEN}",
    )
    assert dict(local.values) == {
        "DEBUG": "1",
        "GITHUB_TOKEN": "in the system keyring (mcp/local/env/GITHUB_TOKEN)",
        "DB_PASSWORD": HIDDEN,
    }
    assert local.url is None and local.state.transport == "stdio"
    assert local.state.log_file == home.logs_dir / "mcp-local.log"
    assert docs.url == f"https://{HIDDEN}@example.org/mcp?api_key={HIDDEN}&lang=en"
    assert dict(docs.values) == {
        "Authorization": "in the system keyring (mcp/docs/headers/Authorization)",
        "X-Trace": "on",
    }
    assert docs.command is None and docs.state.log_file is None
    for server in (local, docs):
        assert server.state.tools is None
        assert server.state.problem is not None and "cannot start" in server.state.problem
    shown = repr(overview)
    for secret in ("abc123", "xyz789", "s3", "written-in-the-file", "pw@", "k123"):
        assert secret not in shown
    assert len(overview.problems) == 2

    # The built-in tools, each with its schema.
    calculator = next(tool for tool in overview.tools if tool.name == "calculator")
    assert calculator.source == BUILT_IN and not calculator.risky
    assert "expression" in calculator.schema["properties"]
    assert all(tool.source == BUILT_IN for tool in overview.tools)


def test_a_servers_log_is_read_from_its_end_starting_at_a_line(home: Paths) -> None:
    service = ToolsService(home)
    assert asyncio.run(service.server_log("quiet")) == ""  # nothing written yet
    log = service.server_log_file("busy")
    assert log == home.logs_dir / "mcp-busy.log"
    log.write_text("".join(f"line {n}\n" for n in range(1000)), encoding="utf-8")
    tail = asyncio.run(service.server_log("busy", max_chars=50))
    assert tail.startswith("line ") and tail.endswith("line 999\n")
    assert len(tail) <= 50
    assert asyncio.run(service.server_log("busy")).startswith("line 0\n")
    with pytest.raises(UserError, match="not the name of an MCP server"):
        asyncio.run(service.server_log("../settings"))


def test_mcp_json_is_made_empty_when_missing_and_kept_when_there(home: Paths) -> None:
    service = ToolsService(home)
    made = asyncio.run(service.make_config_file())
    assert made == home.mcp_config_file
    assert json.loads(made.read_text(encoding="utf-8")) == {"mcpServers": {}}
    made.write_text('{"mcpServers": {"mine": {"url": "http://127.0.0.1:9/mcp"}}}')
    asyncio.run(service.make_config_file())
    assert "mine" in made.read_text(encoding="utf-8")


def test_a_restart_stops_the_runs_servers_only_when_asked(home: Paths) -> None:
    stopped: list[str] = []

    async def stop_run_servers() -> None:
        stopped.append("stopped")

    service = ToolsService(home, stop_run_servers=stop_run_servers)
    assert service.stops_run_servers and not ToolsService(home).stops_run_servers
    overview = asyncio.run(service.restart(runs=False))
    assert stopped == [] and overview.servers == ()
    asyncio.run(service.restart())
    assert stopped == ["stopped"]
