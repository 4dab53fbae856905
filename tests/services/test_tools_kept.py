"""The last listing of the tools is kept: the Team pane gets it without starting a server
while ``mcp.json`` and the user's tool files are unchanged."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
from pathlib import Path

import pytest
from purpose_desktop.config import Paths
from purpose_desktop.services import tools_cache
from purpose_desktop.services.tools import ToolListing, ToolsService
from tests.support.mcp_server import REPO

pytestmark = pytest.mark.process


def listed(home: Paths, *, kept: bool) -> ToolListing:
    return asyncio.run(ToolsService(home).tools(kept=kept))


def server_script(folder: Path) -> Path:
    """The test server behind a script of its own, which a test can take away without
    touching ``mcp.json``."""
    script = folder / "own-server.sh"
    script.write_text(
        f"#!/bin/sh\ncd {shlex.quote(str(REPO))}\n"
        f"exec {shlex.quote(sys.executable)} -m tests.support.mcp_server\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def test_the_kept_listing_is_given_without_starting_a_server(home: Paths, tmp_path: Path) -> None:
    script = server_script(tmp_path)
    home.mcp_config_file.write_text(
        json.dumps({"mcpServers": {"own": {"command": str(script)}}}), encoding="utf-8"
    )
    first = listed(home, kept=True)  # nothing kept yet: the server is started
    assert first.problems == ()
    assert "own.echo" in {tool.name for tool in first.tools}
    assert home.tools_listing_file.is_file()

    script.unlink()  # the server cannot start any more; mcp.json is as it was
    assert listed(home, kept=True) == first
    anew = listed(home, kept=False)
    assert "own.echo" not in {tool.name for tool in anew.tools}
    assert len(anew.problems) == 1 and "own" in anew.problems[0]
    # A listing with problems drops the kept one, so the next start tries the server again.
    assert not home.tools_listing_file.exists()
    assert listed(home, kept=True).problems == anew.problems


def test_the_tools_panes_overview_keeps_the_listing_the_team_pane_gets(
    home: Paths, tmp_path: Path
) -> None:
    script = server_script(tmp_path)
    home.mcp_config_file.write_text(
        json.dumps({"mcpServers": {"own": {"command": str(script)}}}), encoding="utf-8"
    )
    overview = asyncio.run(ToolsService(home).overview())
    assert overview.problems == ()
    shown = [tool.name for tool in overview.tools]
    assert "own.echo" in shown

    script.unlink()  # only the kept listing can name the server's tools now
    assert [tool.name for tool in listed(home, kept=True).tools] == shown
    # An overview with problems drops it.
    assert asyncio.run(ToolsService(home).overview()).problems
    assert not home.tools_listing_file.exists()


def test_a_changed_mcp_json_or_tool_file_is_listed_anew(home: Paths, tmp_path: Path) -> None:
    home.mcp_config_file.write_text('{"mcpServers": {}}', encoding="utf-8")
    home.user_tools_dir.mkdir(parents=True)
    tool_file = home.user_tools_dir / "loud.py"
    tool_file.write_text(
        'def shout(text: str) -> str:\n    """Say it loudly."""\n    return text.upper()\n',
        encoding="utf-8",
    )
    assert "shout" in {tool.name for tool in listed(home, kept=True).tools}

    tool_file.write_text(
        'def whisper(text: str) -> str:\n    """Say it softly."""\n    return text.lower()\n',
        encoding="utf-8",
    )
    later = tool_file.stat().st_mtime_ns + 10**9
    os.utime(tool_file, ns=(later, later))  # however coarse the file system's clock
    names = {tool.name for tool in listed(home, kept=True).tools}
    assert "whisper" in names and "shout" not in names


@pytest.mark.parametrize("kept", ["{not json", "[]", "other version", "tools not a list"])
def test_a_broken_kept_listing_is_listed_anew(home: Paths, kept: str) -> None:
    home.mcp_config_file.write_text('{"mcpServers": {}}', encoding="utf-8")
    stamp = list(tools_cache.tools_stamp(home))
    ghost = {"name": "gone.tool", "description": "", "source": "gone", "risky": False}
    text = {
        "other version": json.dumps({"version": -1, "stamp": stamp, "tools": [ghost]}),
        "tools not a list": json.dumps(
            {"version": tools_cache.VERSION, "stamp": stamp, "tools": 1}
        ),
    }.get(kept, kept)
    home.tools_listing_file.write_text(text, encoding="utf-8")
    listing = listed(home, kept=True)
    names = {tool.name for tool in listing.tools}
    assert "calculator" in names and "gone.tool" not in names
    assert json.loads(home.tools_listing_file.read_text(encoding="utf-8"))["tools"] == []
