"""The rule-based last link of the action chain, on its own and inside a run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.loop.fallback import (
    ANSWERED_THOUGHT,
    RULE_THOUGHT,
    answered_by_calculator,
    rule_action,
)
from purpose_desktop.engine.tools.builtin import builtin_tool
from purpose_desktop.engine.trajectory import Action, Exchange, Observation
from purpose_desktop.models.scripted import ScriptedProvider
from tests.support.scripted_team import one_agent_team, runner, team_model

CALCULATOR = (builtin_tool("calculator"),)


@pytest.mark.parametrize(
    ("task", "expression"),
    [
        ("What is 17 * 23?", "17 * 23"),
        ("what is 3 times 4 plus 2", "3 * 4 + 2"),
        ("Work out (2+3)*4 please", "(2+3)*4"),
        ("12 \u00d7 3", "12 \u00d7 3"),
    ],
)
def test_arithmetic_in_the_task_goes_to_the_calculator(task: str, expression: str) -> None:
    assert rule_action(task, None, CALCULATOR, can_finish=True) == Action(
        "calculator", {"expression": expression}, RULE_THOUGHT
    )


@pytest.mark.parametrize(
    "task",
    [
        "What is 17 * 23?",  # without the calculator
        "How many apples in 17 crates?",
        "What happened on 2024-01-15?",
        "Call 555-1234 about pages 10-12",
    ],
)
def test_no_rule_applies_without_the_tool_or_the_arithmetic(task: str) -> None:
    tools = () if "*" in task else CALCULATOR
    assert rule_action(task, None, tools, can_finish=True) is None


def exchange(tool: str, text: str, *, ok: bool = True) -> Exchange:
    return Exchange(Action(tool, {}), Observation(text, ok=ok))


def test_after_the_calculator_or_a_teammate_the_agent_finishes_with_their_result() -> None:
    finish_with = {"answer": "391"}
    assert rule_action(
        "x", exchange("calculator", "391\nmore"), CALCULATOR, can_finish=True
    ) == Action("finish", finish_with, RULE_THOUGHT)
    assert rule_action(
        "x", exchange("delegate", "helper answered: 391"), CALCULATOR, can_finish=True
    ) == Action("finish", finish_with, RULE_THOUGHT)


def test_no_finish_on_a_failure_or_on_another_tools_output() -> None:
    assert (
        rule_action("x", exchange("calculator", "bad", ok=False), CALCULATOR, can_finish=True)
        is None
    )
    assert rule_action("x", exchange("calculator", "391"), CALCULATOR, can_finish=False) is None
    assert (
        rule_action("x", exchange("python", "exit status 0\n391"), CALCULATOR, can_finish=True)
        is None
    )


@pytest.mark.parametrize(
    ("task", "expression", "answered"),
    [
        ("What is 17 * 23?", "17*23", True),
        ("17 times 23", "17 * 23", True),
        ("What is 17 * 23?", "17*24", False),  # not the task's expression
        ("How many legs do 7 spiders have?", "7*8", False),  # no expression in the task
    ],
)
def test_the_calculator_working_out_the_tasks_own_expression_answers_it(
    task: str, expression: str, answered: bool
) -> None:
    last = Exchange(Action("calculator", {"expression": expression}), Observation("391", ok=True))
    expected = Action("finish", {"answer": "391"}, ANSWERED_THOUGHT) if answered else None
    assert answered_by_calculator(task, last) == expected
    failed = Exchange(last.action, Observation("error", ok=False))
    assert answered_by_calculator(task, failed) is None
    assert answered_by_calculator(task, None) is None


def test_a_model_that_never_writes_an_action_still_gets_the_sum_done(tmp_path: Path) -> None:
    model = team_model(lambda messages: "I am not sure what to do here.", score=6)
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path), "What is 17 * 23?", [events.append]
        )
    )
    assert [(e.tool, e.parse_method) for e in events if isinstance(e, ev.ActionProposed)] == [
        ("calculator", "rule"),
        ("finish", "rule"),
    ]
    assert (outcome.status, outcome.answer) == ("completed", "391")
