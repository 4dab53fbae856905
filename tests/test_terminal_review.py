"""The terminal's review offers to keep an approval for the team: of the tool, and of its
MCP server's every tool when it has one."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from purpose_desktop.cli_run import TerminalReview
from purpose_desktop.engine.review import ActionDecision, ActionReviewRequest
from purpose_desktop.engine.tools.base import Tool
from purpose_desktop.engine.trajectory import Action


def request(name: str, team: str = "Clock") -> ActionReviewRequest:
    async def nothing(arguments: Any, context: Any) -> str:
        return ""

    tool = Tool(name, "Does it.", {"type": "object"}, nothing, risky=True)
    return ActionReviewRequest("r", "solver", 1, Action(name, {}), tool, team)


def decide(answers: str, asked: ActionReviewRequest) -> tuple[ActionDecision, str]:
    err = io.StringIO()
    decision = asyncio.run(TerminalReview(io.StringIO(answers), err).review_action(asked))
    return decision, err.getvalue()


def test_the_server_or_the_tool_is_kept_for_the_team() -> None:
    decision, said = decide("s\n", request("time.now"))
    assert decision == ActionDecision("approve", always_allow=True, remember="server")
    assert "allow the [s]erver time for the team" in said
    decision, _ = decide("t\n", request("time.now"))
    assert decision == ActionDecision("approve", always_allow=True, remember="tool")


def test_a_built_in_tool_has_no_server_and_without_a_team_nothing_is_kept() -> None:
    decision, said = decide("s\nt\n", request("calculator"))
    assert "[s]erver" not in said  # "s" is not an answer here: asked again
    assert decision == ActionDecision("approve", always_allow=True, remember="tool")
    decision, said = decide("t\nw\n", request("time.now", team=""))
    assert "[t]eam" not in said
    assert decision == ActionDecision("approve", always_allow=True)
