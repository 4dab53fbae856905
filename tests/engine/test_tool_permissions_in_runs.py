"""Review by tool: MCP annotations set whether a tool is risky, and a team's remembered
approval of a whole MCP server lets a real run call its tools without asking (the project's
test server ``tests/support/mcp_server.py``, started from an ``mcp.json``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from purpose_desktop.config import Paths
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.loop.tool_source import ToolSource
from purpose_desktop.engine.review import (
    ActionDecision,
    ScriptedReview,
    asks_for_action,
    is_allowed,
)
from purpose_desktop.engine.specs import ReviewPolicy
from purpose_desktop.engine.tools.base import ToolHints
from purpose_desktop.engine.tools.mcp.client import McpServer, McpToolInfo
from purpose_desktop.engine.tools.mcp.config import StdioServer, load_mcp_config
from purpose_desktop.engine.tools.mcp.tools import McpServers, mcp_tool
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.services.store import StoreService
from purpose_desktop.services.tool_permissions import ToolPermissionsService
from tests.support.mcp_server import server_command
from tests.support.scripted_team import act, one_agent_team, runner, team_model
from tests.support.stores import store_at

TASK = "Wait a moment, then say so."


@pytest.mark.parametrize(
    ("read_only", "destructive", "risky"),
    [
        (None, None, True),  # unannotated: asked about
        (None, True, True),
        (False, True, True),
        (True, None, False),
        (True, True, False),  # reading only wins
        (None, False, False),
        (False, False, False),
    ],
)
def test_annotations_set_whether_an_mcp_tool_is_risky(
    tmp_path: Path, read_only: bool | None, destructive: bool | None, risky: bool
) -> None:
    # The server is never started: making its tools needs only its configuration.
    server = McpServer("srv", StdioServer(command="srv"), tmp_path / "srv.log")
    info = McpToolInfo("do", "Does it.", {"type": "object"}, read_only, destructive, True)
    tool = mcp_tool(server, info)
    assert (tool.name, tool.risky) == ("srv.do", risky)
    assert tool.hints == ToolHints(read_only, destructive, open_world=True)
    assert asks_for_action(ReviewPolicy.RISKY, tool, set()) is risky
    assert not asks_for_action(ReviewPolicy.ALWAYS, tool, {"srv.*"})
    assert not asks_for_action(ReviewPolicy.ALWAYS, tool, {"srv.do"})
    assert asks_for_action(ReviewPolicy.ALWAYS, tool, {"other.*", "srv.other", "srv"})


def test_a_server_key_covers_only_that_servers_tools() -> None:
    assert is_allowed("time.now", {"time.*"})
    assert not is_allowed("timex.now", {"time.*"})
    assert not is_allowed("calculator", {"calculator.*"})
    assert is_allowed("calculator", {"calculator"})


@pytest.mark.process
def test_a_remembered_server_lets_a_real_run_call_its_tools_without_asking(
    tmp_path: Path,
) -> None:
    paths = Paths(tmp_path / "home")
    paths.mcp_config_file.parent.mkdir(parents=True, exist_ok=True)
    paths.mcp_config_file.write_text(
        json.dumps({"mcpServers": {"test": server_command()}}), encoding="utf-8"
    )
    tools = ToolSource(lambda: McpServers(load_mcp_config(paths.mcp_config_file), paths.logs_dir))
    # "always": every action would be asked about, were it not allowed.
    team = one_agent_team(tmp_path, tools="[test.wait, test.echo]", review="always")
    actions = [
        act("test.wait", seconds=0),
        act("test.echo", text="done"),
        act("finish", answer="waited"),
    ]
    review = ScriptedReview(actions=[ActionDecision("approve")])
    events: list[ev.Event] = []

    async def scenario() -> None:
        with store_at(tmp_path / "purpose-desktop.sqlite3") as store:
            approvals = ToolPermissionsService(StoreService(lambda: store))
            await approvals.allow(team.spec.name, "server", "test")
            try:
                outcome = await runner(
                    tmp_path,
                    ScriptedProvider({"m": team_model(actions, score=5)}),
                    tools=tools,
                    approvals=approvals,
                ).run(team, TASK, [events.append], review)
            finally:
                await tools.aclose()
        assert outcome.status == "completed", outcome.error
        assert [step.observation.ok for step in outcome.steps[:2]] == [True, True]

    asyncio.run(scenario())
    # Only the finish was put to the person; the server's tools ran by policy.
    assert [r.action.tool for r in review.action_requests] == ["finish"]
    reviewed = [(e.tool, e.by) for e in events if isinstance(e, ev.ActionReviewed)]
    assert reviewed == [("test.wait", "policy"), ("test.echo", "policy"), ("finish", "person")]
    finished = [e.tool for e in events if isinstance(e, ev.ToolFinished)]
    assert finished == ["test.wait", "test.echo"]


def test_a_store_that_fails_is_warned_about_and_the_run_asks_as_usual(tmp_path: Path) -> None:
    class Broken:
        async def allowed_keys(self, team: str) -> frozenset[str]:
            from purpose_desktop.errors import UserError

            raise UserError("the database is locked")

        async def remember(self, team: str, kind: str, name: str) -> None:
            raise AssertionError("not asked to remember")

    team = one_agent_team(tmp_path, tools="[calculator]", review="always")
    actions = [act("calculator", expression="1+1"), act("finish", answer="2")]
    review = ScriptedReview()
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(
            tmp_path,
            ScriptedProvider({"m": team_model(actions, score=5)}),
            approvals=Broken(),
        ).run(team, TASK, [events.append], review)
    )
    assert outcome.status == "completed"
    assert [r.action.tool for r in review.action_requests] == ["calculator", "finish"]
    (warning,) = [e for e in events if isinstance(e, ev.WarningRaised)]
    assert "remembered approvals could not be read (the database is locked)" in warning.message


def test_an_approval_that_cannot_be_kept_still_holds_for_the_run(tmp_path: Path) -> None:
    class Full:
        async def allowed_keys(self, team: str) -> frozenset[str]:
            return frozenset()

        async def remember(self, team: str, kind: str, name: str) -> None:
            from purpose_desktop.errors import UserError

            raise UserError("the disk is full")

    team = one_agent_team(tmp_path, tools="[calculator]", review="always")
    actions = [
        act("calculator", expression="1+1"),
        act("calculator", expression="2+2"),
        act("finish", answer="4"),
    ]
    review = ScriptedReview(actions=[ActionDecision("approve", remember="tool")])
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(
            tmp_path, ScriptedProvider({"m": team_model(actions, score=5)}), approvals=Full()
        ).run(team, TASK, [events.append], review)
    )
    assert outcome.status == "completed"
    assert [r.action.tool for r in review.action_requests] == ["calculator", "finish"]
    (warning,) = [e for e in events if isinstance(e, ev.WarningRaised)]
    assert warning.message == (
        "The approval of tool 'calculator' could not be kept for the team (the disk is "
        "full); it holds for this run only."
    )
