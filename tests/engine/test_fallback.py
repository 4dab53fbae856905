"""The rule-based last link of the action chain, on its own and inside a run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.fallback import RULE_THOUGHT, rule_action
from purpose_desktop.engine.tools.builtin import tools_named
from purpose_desktop.engine.trajectory import Action, Observation
from purpose_desktop.models.scripted import ScriptedProvider
from tests.engine.scripted_team import one_agent_team, runner, team_model

CALCULATOR = tools_named(["calculator"])


@pytest.mark.parametrize(("task", "expression"), [
    ("What is 17 * 23?", "17 * 23"),
    ("what is 3 times 4 plus 2", "3 * 4 + 2"),
    ("Work out (2+3)*4 please", "(2+3)*4"),
    ("12 \u00d7 3", "12 \u00d7 3"),
])
def test_arithmetic_in_the_task_goes_to_the_calculator(task: str, expression: str) -> None:
    assert rule_action(task, None, CALCULATOR, can_finish=True) == Action(
        "calculator", {"expression": expression}, RULE_THOUGHT)


def test_no_rule_applies_without_the_tool_or_the_arithmetic() -> None:
    assert rule_action("What is 17 * 23?", None, (), can_finish=True) is None
    assert rule_action("How many apples in 17 crates?", None, CALCULATOR,
                       can_finish=True) is None


def test_after_a_successful_observation_the_agent_finishes_with_it() -> None:
    assert rule_action("x", Observation("391\nmore"), CALCULATOR, can_finish=True) == Action(
        "finish", {"answer": "391"}, RULE_THOUGHT)
    assert rule_action("x", Observation("no such file", ok=False), CALCULATOR,
                       can_finish=True) is None
    assert rule_action("x", Observation("391"), CALCULATOR, can_finish=False) is None


def test_a_model_that_never_writes_an_action_still_gets_the_sum_done(tmp_path: Path) -> None:
    model = team_model(lambda messages: "I am not sure what to do here.", score=6)
    events: list[ev.Event] = []
    outcome = asyncio.run(runner(tmp_path, ScriptedProvider({"m": model})).run(
        one_agent_team(tmp_path), "What is 17 * 23?", [events.append]))
    assert [(e.tool, e.parse_method) for e in events if isinstance(e, ev.ActionProposed)] == [
        ("calculator", "rule"), ("finish", "rule")]
    assert (outcome.status, outcome.answer) == ("completed", "391")
