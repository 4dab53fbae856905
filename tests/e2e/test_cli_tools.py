"""``purpose-desktop mcp list`` and ``tools list`` as a person runs them, with real MCP servers
from the home folder's mcp.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from purpose_desktop.config import Paths
from tests.support.cli import purpose_desktop
from tests.support.file_keyring import file_keyring_env
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
    assert lines[1].split() == ["test", "stdio", "9", "tools"]
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


def test_mcp_import_merges_another_apps_servers_into_mcp_json(home_with_servers: Path) -> None:
    config = Paths(home_with_servers).mcp_config_file
    claude = home_with_servers.parent / "claude_desktop_config.json"
    servers = {
        "time": {"command": str(Path(sys.executable).parent / "mcp-server-time")},
        "ghost": {"command": "another-server"},
        "memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]},
    }
    claude.write_text(json.dumps({"mcpServers": servers}))
    result = purpose_desktop("mcp", "import", str(claude), home=home_with_servers)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Added: memory",
        "Replaced: ghost",
        "Unchanged: time",
        f"Saved in {config}.",
    ]
    merged = json.loads(config.read_text())["mcpServers"]
    assert list(merged) == ["time", "test", "ghost", "memory"]
    assert merged["ghost"] == {"command": "another-server"}


def test_mcp_import_of_a_bad_file_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bad = tmp_path / "cursor.json"
    bad.write_text(json.dumps({"mcpServers": {"docs": {"url": "docs.example.org"}}}))
    result = purpose_desktop("mcp", "import", str(bad), home=home)
    assert result.returncode == 2
    assert result.stderr == (
        f"purpose-desktop: {bad}: server 'docs': field 'url' must be an http:// or https:// "
        "address.\n"
    )
    assert not Paths(home).mcp_config_file.exists()


def test_tools_call_runs_a_built_in_tool_in_a_workspace_of_the_home_folder(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    text = {"path": "notes.txt", "content": "from a person"}
    wrote = purpose_desktop("tools", "call", "write_file", "--args", json.dumps(text), home=home)
    assert wrote.returncode == 0, wrote.stderr
    read = purpose_desktop(
        "tools", "call", "Read-File", "--args", '{"path": "notes.txt"}', home=home
    )
    assert read.returncode == 0, read.stderr
    assert "from a person" in read.stdout
    assert (Paths(home).workspaces_dir / "tools-call" / "notes.txt").read_text() == "from a person"


def test_tools_call_calls_an_mcp_servers_tool(home_with_servers: Path) -> None:
    echoed = purpose_desktop(
        "tools", "call", "test.echo", "--args", '{"text": "hello"}', home=home_with_servers
    )
    assert echoed.returncode == 0, echoed.stderr
    assert echoed.stdout == "hello\n"
    # The server stopped with the command: none is left recorded.
    assert list(Paths(home_with_servers).mcp_servers_dir.glob("*.json")) == []

    failed = purpose_desktop(
        "tools",
        "call",
        "time.get_current_time",
        "--args",
        '{"timezone": "Nowhere/Atlantis"}',
        home=home_with_servers,
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith("purpose-desktop: time.get_current_time: ")
    assert "Nowhere/Atlantis" in failed.stderr
    assert failed.stderr.count("\n") == 1

    slow = purpose_desktop(
        "tools",
        "call",
        "test.wait",
        "--args",
        '{"seconds": 30}',
        "--timeout",
        "1",
        home=home_with_servers,
    )
    assert slow.returncode == 1
    assert slow.stderr == "purpose-desktop: test.wait took longer than 1 s and was stopped\n"

    down = purpose_desktop("tools", "call", "ghost.anything", home=home_with_servers)
    assert down.returncode == 1
    assert "The MCP server 'ghost' cannot start" in down.stderr


def test_tools_call_names_the_tools_there_are_and_refuses_bad_arguments(tmp_path: Path) -> None:
    home = tmp_path / "home"
    unknown = purpose_desktop("tools", "call", "web_search", home=home)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith(
        "purpose-desktop: There is no tool called 'web_search'. The tools: calculator, python,"
    )
    for arguments, problem in (
        ("{expression", "The arguments are not valid JSON: "),
        ('["2+2"]', "The arguments must be a JSON object"),
    ):
        result = purpose_desktop("tools", "call", "calculator", "--args", arguments, home=home)
        assert result.returncode == 2
        assert result.stderr.startswith(f"purpose-desktop: {problem}")
    missing = purpose_desktop("tools", "call", "calculator", "--args", "{}", home=home)
    assert missing.returncode == 1
    assert missing.stderr == "purpose-desktop: calculator: missing argument 'expression'.\n"


def test_mcp_import_keeps_secrets_in_the_keyring_and_the_server_gets_them(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    store = tmp_path / "keyring.json"
    keyring = file_keyring_env(store)
    server = server_command()
    server["env"] = {**server["env"], "SERVICE_API_TOKEN": "tok-8d2f"}
    cursor = tmp_path / "cursor.json"
    cursor.write_text(json.dumps({"mcpServers": {"test": server}}))

    imported = purpose_desktop("mcp", "import", str(cursor), home=home, env=keyring)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(store.read_text()) == {
        "purpose-desktop/mcp/test/env/SERVICE_API_TOKEN": "tok-8d2f"
    }
    called = purpose_desktop(
        "tools",
        "call",
        "test.env",
        "--args",
        '{"name": "SERVICE_API_TOKEN"}',
        home=home,
        env=keyring,
    )
    assert called.returncode == 0, called.stderr
    assert called.stdout == "tok-8d2f\n"
    # Nowhere in the home folder, logs included, nor in what the commands printed.
    written = [path.read_text(errors="replace") for path in home.rglob("*") if path.is_file()]
    assert not any("tok-8d2f" in text for text in written)
    assert "tok-8d2f" not in imported.stdout + imported.stderr + called.stderr

    store.unlink()  # the keyring lost it: the server is not started without it
    lost = purpose_desktop(
        "tools", "call", "test.echo", "--args", '{"text": "x"}', home=home, env=keyring
    )
    assert lost.returncode == 1
    assert lost.stderr == (
        "purpose-desktop: The MCP server 'test' cannot start: the system keyring has no secret "
        "'mcp/test/env/SERVICE_API_TOKEN' (importing its mcp.json again saves it).\n"
    )


def test_without_a_keyring_mcp_import_refuses_secrets_and_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cursor = tmp_path / "cursor.json"
    entry = {"command": "x", "env": {"DB_PASSWORD": "pw-51c7"}}
    cursor.write_text(json.dumps({"mcpServers": {"db": entry}}))
    refused = purpose_desktop(
        "mcp",
        "import",
        str(cursor),
        home=home,
        env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
    )
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "No system keyring is available" in refused.stderr
    assert "pw-51c7" not in refused.stderr
    assert not Paths(home).mcp_config_file.exists()


def test_run_refuses_a_team_naming_an_mcp_tool_that_is_not_there(
    home_with_servers: Path, tmp_path: Path
) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(
        "name: T\nagents:\n  - name: clock\n    role: Tell the time.\n"
        "    model: bundled:smollm2-135m\n    tools: [time.get_time, calculator]\n",
        encoding="utf-8",
    )
    result = purpose_desktop(
        "run", str(team), "--task", "What time is it?", "--auto-approve", home=home_with_servers
    )
    assert result.returncode == 2
    assert result.stderr == (
        "purpose-desktop: clock's tool 'time.get_time': the MCP server 'time' offers no such "
        "tool. Its tools: time.get_current_time, time.convert_time.\n"
    )
