"""Public MCP servers as a person sets them up: a Claude-Desktop-style file imported, the
tools listed, called by hand (arrays and nested objects included) and given to an agent on the
bundled SmolLM2 in a real run. The servers are ``mcp-server-time`` and ``mcp-server-git``
from PyPI and ``@modelcontextprotocol/server-filesystem`` from npm."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from purpose_desktop.config import Paths
from tests.support.cli import purpose_desktop

#: A released version, so that the tools' schemas the tests rely on stay put.
FILESYSTEM_SERVER = "@modelcontextprotocol/server-filesystem@2026.8.31"


def claude_desktop_file(folder: Path, repository: Path, documents: Path) -> Path:
    """The ``mcpServers`` file a person would copy from Claude Desktop."""
    bin_dir = Path(sys.executable).parent
    servers = {
        "time": {"command": str(bin_dir / "mcp-server-time")},
        "git": {"command": str(bin_dir / "mcp-server-git"), "args": ["-r", str(repository)]},
        "files": {"command": "npx", "args": ["-y", FILESYSTEM_SERVER, str(documents)]},
    }
    file = folder / "claude_desktop_config.json"
    file.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return file


def a_repository(folder: Path) -> Path:
    folder.mkdir()
    for command in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "-c", "user.name=A", "-c", "user.email=a@example.org", "commit", "-q",
         "--allow-empty", "-m", "The first commit"],
    ):  # fmt: skip
        subprocess.run(command, cwd=folder, check=True, capture_output=True)
    (folder / "notes.txt").write_text("draft\n", encoding="utf-8")
    return folder


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh home folder with the three servers imported, as ``mcp import`` does it."""
    home = tmp_path / "home"
    home.mkdir()
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "plan.txt").write_text("Ship on Friday.\nTest on Thursday.\n", encoding="utf-8")
    source = claude_desktop_file(tmp_path, a_repository(tmp_path / "repo"), documents)
    imported = purpose_desktop("mcp", "import", str(source), home=home)
    assert imported.returncode == 0, imported.stderr
    assert all(name in imported.stdout for name in ("time", "git", "files"))
    return home


def call(home: Path, name: str, arguments: object) -> str:
    result = purpose_desktop("tools", "call", name, "--args", json.dumps(arguments), home=home)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_imported_servers_tools_are_listed_with_their_sources(home: Path) -> None:
    listed = purpose_desktop("tools", "list", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    sources = {tool["name"]: tool["source"] for tool in json.loads(listed.stdout)}
    assert sources["calculator"] == "built-in"
    assert sources["time.get_current_time"] == "time"
    assert {"git.git_status", "git.git_log", "git.git_diff_unstaged"} <= set(sources)
    assert {"files.read_multiple_files", "files.edit_file"} <= set(sources)
    assert sources["files.edit_file"] == "files"


def test_real_servers_answer_calls_with_flat_array_and_nested_arguments(
    home: Path, tmp_path: Path
) -> None:
    repository = tmp_path / "repo"
    status = call(home, "git.git_status", {"repo_path": str(repository)})
    assert "On branch main" in status
    assert "notes.txt" in status  # untracked

    documents = tmp_path / "documents"
    both = call(home, "files.read_multiple_files", {"paths": [str(documents / "plan.txt")]})
    assert "Ship on Friday." in both
    edited = call(
        home,
        "files.edit_file",
        {
            "path": str(documents / "plan.txt"),
            "edits": [{"oldText": "Friday", "newText": "Monday"}],
        },
    )
    assert "+Ship on Monday." in edited
    assert (documents / "plan.txt").read_text(encoding="utf-8").startswith("Ship on Monday.")

    # A call the server refuses is a failed call, said in one line.
    outside = purpose_desktop(
        "tools", "call", "files.read_text_file", "--args",
        json.dumps({"path": str(tmp_path / "repo" / "notes.txt")}), home=home,
    )  # fmt: skip
    assert outside.returncode == 1
    assert "files.read_text_file" in outside.stderr
    assert "outside allowed directories" in outside.stderr


@pytest.mark.model
def test_an_agent_on_smollm2_tells_the_time_in_tokyo_from_the_imported_time_server(
    home: Path, tmp_path: Path
) -> None:
    team = tmp_path / "clock.yaml"
    team.write_text(
        "name: Clock\nagents:\n  - name: teller\n"
        "    role: You tell the time anywhere in the world.\n"
        "    model: bundled:smollm2-135m\n"
        "    tools: [time.get_current_time, time.convert_time]\n    review: never\n",
        encoding="utf-8",
    )
    events_file = tmp_path / "events.jsonl"
    result = purpose_desktop(
        "run", str(team), "--task", "What time is it in Tokyo (Asia/Tokyo)?", "--auto-approve",
        "--events", str(events_file), home=home,
    )  # fmt: skip
    events = [json.loads(line) for line in events_file.read_text(encoding="utf-8").splitlines()]
    finished = [e for e in events if e["type"] == "ToolFinished"]
    assert finished, result.stdout + result.stderr
    # One call, the right one, and not made again: SmolLM2 proposes it again after it worked
    # (tests/engine/test_refusals.py has the rule), and is asked to answer instead.
    assert [(e["tool"], e["ok"]) for e in finished] == [("time.get_current_time", True)], finished
    told = json.loads(finished[0]["output"])
    assert told["timezone"] == "Asia/Tokyo"
    (ended,) = [e for e in events if e["type"] == "RunFinished"]
    assert ended["status"] == "completed", result.stderr
    hour_and_minute = told["datetime"][11:16]
    assert hour_and_minute in ended["answer"], (told, ended["answer"])
    assert Paths(home).logs_dir.joinpath("mcp-time.log").exists()
