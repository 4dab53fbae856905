"""``purpose-desktop mcp list`` and ``tools list`` as a person runs them, with real MCP servers
from the home folder's mcp.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from purpose_desktop.config import Paths
from tests.support.cli import purpose_desktop
from tests.support.mcp_server import server_command

pytestmark = pytest.mark.process


@pytest.fixture
def home_with_servers(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    servers = {
        "time": {"command": str(Path(sys.executable).parent / "mcp-server-time")},
        "test": server_command(),
        "ghost": {"command": "no-such-mcp-server", "args": ["--port", "1"]},
    }
    Paths(home).mcp_config_file.write_text(json.dumps({"mcpServers": servers}))
    return home


def test_mcp_list_says_how_each_server_fares(home_with_servers: Path) -> None:
    result = purpose_desktop("mcp", "list", home=home_with_servers)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["time", "stdio", "2", "tools"]
    assert lines[1].split() == ["test", "stdio", "7", "tools"]
    assert lines[2].startswith("ghost")
    assert "failed: The MCP server 'ghost' cannot start: there is no program" in lines[2]

    listed = purpose_desktop("mcp", "list", "--json", home=home_with_servers)
    assert listed.returncode == 0, listed.stderr
    servers = {server["name"]: server for server in json.loads(listed.stdout)}
    assert servers["time"]["started"] is True
    assert servers["time"]["tools"] == 2
    assert servers["time"]["log_file"] == str(Paths(home_with_servers).logs_dir / "mcp-time.log")
    assert servers["ghost"]["started"] is False
    assert servers["ghost"]["tools"] is None
    assert "no-such-mcp-server" in servers["ghost"]["problem"]


def test_tools_list_gives_the_built_in_tools_and_each_servers(home_with_servers: Path) -> None:
    result = purpose_desktop("tools", "list", "--json", home=home_with_servers)
    assert result.returncode == 0, result.stderr
    tools = {tool["name"]: tool for tool in json.loads(result.stdout)}
    assert tools["calculator"]["source"] == "built-in"
    assert tools["time.convert_time"] == {
        "name": "time.convert_time",
        "description": "Convert time between timezones",
        "source": "time",
        "risky": False,
    }
    assert tools["test.crash"]["risky"] is True
    # The server that does not start is reported, the others' tools listed all the same.
    assert "purpose-desktop: The MCP server 'ghost' cannot start" in result.stderr

    shown = purpose_desktop("tools", "list", home=home_with_servers)
    assert shown.returncode == 0, shown.stderr
    assert any(
        line.split()[:2] == ["test.echo", "test"] and line.endswith("Say the text back.")
        for line in shown.stdout.splitlines()
    )


def test_without_an_mcp_json_only_the_built_in_tools_are_listed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    servers = purpose_desktop("mcp", "list", home=home)
    assert servers.returncode == 0, servers.stderr
    assert servers.stdout.strip() == (
        f"No MCP servers: add them to {Paths(home).mcp_config_file} (its 'mcpServers' object)."
    )
    tools = purpose_desktop("tools", "list", "--json", home=home)
    assert {tool["source"] for tool in json.loads(tools.stdout)} == {"built-in"}


def test_a_malformed_mcp_json_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config = Paths(home).mcp_config_file
    config.write_text(json.dumps({"mcpServers": {"time": {"command": "x", "args": "-v"}}}))
    for command in (("mcp", "list"), ("tools", "list")):
        result = purpose_desktop(*command, home=home)
        assert result.returncode == 2
        assert result.stderr == (
            f"purpose-desktop: {config}: server 'time': field 'args' input should be a valid "
            "list.\n"
        )
