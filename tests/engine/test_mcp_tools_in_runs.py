"""MCP servers' tools named in a team file, given to its agents by a real run: the real
``mcp-server-time`` and the project's own test server, each started from an ``mcp.json``."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from purpose_desktop.config import Paths
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.loop.tool_source import ToolSource
from purpose_desktop.engine.tools.mcp.config import load_mcp_config
from purpose_desktop.engine.tools.mcp.tools import McpServers
from purpose_desktop.errors import TeamFileError, UserError
from purpose_desktop.models.messages import ChatMessage
from purpose_desktop.models.scripted import ScriptedProvider
from tests.support.mcp_server import server_command
from tests.support.scripted_team import act, one_agent_team, runner, team_model

TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")


def mcp_tools(tmp_path: Path) -> ToolSource:
    """The tools of a home folder whose mcp.json holds the time server and the test server."""
    paths = Paths(tmp_path / "home")
    paths.mcp_config_file.parent.mkdir(parents=True, exist_ok=True)
    servers = {"time": {"command": TIME_SERVER}, "test": server_command()}
    paths.mcp_config_file.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return ToolSource(lambda: McpServers(load_mcp_config(paths.mcp_config_file), paths.logs_dir))


def test_a_team_file_names_mcp_tools_next_to_built_in_ones_and_loads_without_a_server(
    tmp_path: Path,
) -> None:
    team = one_agent_team(tmp_path, tools="[calculator, time.get_current_time, nowhere.tool]")
    assert team.spec.agents[0].tools == ("calculator", "time.get_current_time", "nowhere.tool")
    with pytest.raises(TeamFileError, match=r"Unknown tool 'time\.'.*named SERVER\.TOOL"):
        one_agent_team(tmp_path, tools="[time.]")


def test_only_the_built_in_tools_are_had_without_mcp_servers_each_once_in_order(
    tmp_path: Path,
) -> None:
    team = one_agent_team(tmp_path, tools="[note, calculator, note]")
    found = asyncio.run(ToolSource().agent_tools(team.spec))
    assert [tool.name for tool in found["solver"]] == ["note", "calculator"]
    mcp = one_agent_team(tmp_path, tools="[time.get_current_time]")
    with pytest.raises(UserError, match="MCP servers cannot be used here"):
        asyncio.run(ToolSource().agent_tools(mcp.spec))


@pytest.mark.process
def test_an_agent_calls_the_real_time_server_and_finishes_with_its_answer(tmp_path: Path) -> None:
    def agent(messages: Sequence[ChatMessage]) -> str:
        seen = re.search(r'\{[^{}]*"timezone": "UTC"[^{}]*\}', messages[-1].content)
        if seen is None:
            return act("time.get_current_time", timezone="UTC")
        return act("finish", answer=seen.group())

    tools = mcp_tools(tmp_path)
    team = one_agent_team(tmp_path, tools="[calculator, time.get_current_time]")
    events: list[ev.Event] = []

    async def scenario() -> None:
        try:
            outcome = await runner(
                tmp_path, ScriptedProvider({"m": team_model(agent)}), tools=tools
            ).run(team, "What time is it in UTC?", [events.append])
        finally:
            await tools.aclose()
        assert outcome.status == "completed", outcome.error
        called = outcome.steps[0]
        assert called.action.tool == "time.get_current_time"
        assert called.observation.ok
        answered = json.loads(called.observation.text)
        assert answered["timezone"] == "UTC"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", answered["datetime"])
        assert json.loads(outcome.answer) == answered
        (finished,) = [e for e in events if isinstance(e, ev.ToolFinished)]
        assert (finished.tool, finished.ok) == ("time.get_current_time", True)

    asyncio.run(scenario())


@pytest.mark.process
def test_a_missing_server_or_tool_refuses_the_run_naming_agent_tool_and_what_there_is(
    tmp_path: Path,
) -> None:
    tools = mcp_tools(tmp_path)
    team = one_agent_team(tmp_path, tools="[time.get_time, clock.now, test.total, calculator]")
    events: list[ev.Event] = []

    async def scenario() -> None:
        try:
            with pytest.raises(UserError) as caught:
                await runner(tmp_path, ScriptedProvider({"m": team_model([])}), tools=tools).run(
                    team, "What time is it?", [events.append]
                )
        finally:
            await tools.aclose()
        assert str(caught.value).splitlines() == [
            "solver's tool 'time.get_time': the MCP server 'time' offers no such tool. Its "
            "tools: time.get_current_time, time.convert_time.",
            "solver's tool 'clock.now': there is no MCP server 'clock' in mcp.json. Its "
            "servers: time, test.",
        ]
        assert events == []  # refused before the run started

    asyncio.run(scenario())


@pytest.mark.process
def test_a_tool_whose_parameter_is_an_array_is_called_with_the_array(tmp_path: Path) -> None:
    def agent(messages: Sequence[ChatMessage]) -> str:
        if "Observation" not in messages[-1].content:
            return act("test.total", numbers="[1.5, 2, 3]")  # the array as JSON text
        return act("finish", answer=messages[-1].content.rsplit(":", 1)[-1].strip())

    tools = mcp_tools(tmp_path)
    team = one_agent_team(tmp_path, tools="[test.total]")

    async def scenario() -> None:
        try:
            outcome = await runner(
                tmp_path, ScriptedProvider({"m": team_model(agent)}), tools=tools
            ).run(team, "Add 1.5, 2 and 3.")
        finally:
            await tools.aclose()
        assert outcome.status == "completed", outcome.error
        called = outcome.steps[0]
        assert called.action.arguments == {"numbers": [1.5, 2, 3]}
        assert called.observation.ok
        assert called.observation.text == "6.5"

    asyncio.run(scenario())
