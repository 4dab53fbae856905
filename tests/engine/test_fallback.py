"""The rule-based last link of the action chain, on its own and inside a run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.loop.fallback import (
    ANSWERED_THOUGHT,
    APART_THOUGHT,
    ECHO_THOUGHT,
    RULE_THOUGHT,
    answered_apart_from,
    answered_by_calculator,
    answered_by_tools,
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


def _exchange(tool: str, thought: str, result: str, *, ok: bool = True) -> Exchange:
    return Exchange(Action(tool, {}, thought), Observation(result, ok=ok))


def test_an_answer_that_repeats_a_thought_from_before_the_results_is_the_last_result() -> None:
    made = _exchange("files.create_directory", "This task needs a folder.", "Created /a/b")
    listed = _exchange("files.list_directory", "Look at it.", "")  # an empty folder
    echo = Action("finish", {"answer": "this task needs  a folder"}, "done")
    assert answered_by_tools(echo, [made, listed]) == Action(
        "finish", {"answer": "Created /a/b"}, ECHO_THOUGHT
    )
    # A teammate's answer is given as what it answered.
    asked = _exchange("delegate", "Ask the clerk.", "clerk answered: 42\nand more")
    said = Action("finish", {"answer": "Ask the clerk."})
    assert answered_by_tools(said, [asked]) == Action(
        "finish", {"answer": "42\nand more"}, ECHO_THOUGHT
    )


def test_an_answer_of_its_own_or_one_with_no_result_after_it_stands() -> None:
    made = _exchange("files.create_directory", "This task needs a folder.", "Created /a/b")
    failed = _exchange("files.read", "Read it.", "no such file", ok=False)
    assert answered_by_tools(Action("finish", {"answer": "Made /a/b."}), [made]) is None
    assert answered_by_tools(Action("finish", {"answer": "Read it."}), [made, failed]) is None
    assert answered_by_tools(Action("finish", {"answer": ""}), [made]) is None
    call = Action("files.read", {"path": "This task needs a folder."})
    assert answered_by_tools(call, [made]) is None
    assert answered_by_tools(Action("finish", {"answer": "x"}), []) is None


def test_an_agent_that_answers_with_its_first_thought_answers_with_the_result(
    tmp_path: Path,
) -> None:
    thought = "Spiders have eight legs each."
    model = team_model(
        [
            f'{{"tool": "calculator", "expression": "3*8", "thought": "{thought}"}}',
            f'{{"tool": "finish", "answer": "{thought}", "thought": "{thought}"}}',
        ],
        score=6,
    )
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path), "How many legs do 3 spiders have?", [events.append]
        )
    )
    assert (outcome.status, outcome.answer) == ("completed", "24")
    proposed = [(e.tool, e.parse_method) for e in events if isinstance(e, ev.ActionProposed)]
    assert proposed == [("calculator", "json"), ("finish", "rule")]
    assert any(
        isinstance(e, ev.WarningRaised) and "repeats what it thought" in e.message for e in events
    )


def test_an_answer_with_nothing_of_the_result_it_was_asked_for_is_that_result() -> None:
    told = _exchange("files.list_directory", "List it.", "[FILE] plan.txt\n[DIR] old")
    task = "List what is in /srv/docs."
    junk = Action("finish", {"answer": "The plan is finished with the an_a"})
    assert answered_apart_from(junk, told, task, [told]) == Action(
        "finish", {"answer": "[FILE] plan.txt\n[DIR] old"}, APART_THOUGHT
    )
    for answer in (
        "There is plan.txt.",
        "A folder, old",
        "[FILE] plan.txt",
        "There are files.",  # a plural of the result's word
        "Two things are in /srv/docs.",  # a word of the task
        "2",  # a number may be worked out from the result
    ):
        assert answered_apart_from(Action("finish", {"answer": answer}), told, task, [told]) is None
    clock = _exchange("time.now", "", '{"datetime": "2026-12-08T03:20:02+09:00"}')
    said = Action("finish", {"answer": "It is 2026-12-08T03:20:02+09:00 in Tokyo."})
    assert answered_apart_from(said, clock, "What time is it?", [clock]) is None
    assert answered_apart_from(junk, None, task, [told]) is None
    handing = Action("delegate", {"agent": "a", "task": "b"})
    assert answered_apart_from(handing, told, task, [told]) is None


def test_a_call_that_gave_nothing_back_leaves_the_answer_to_the_result_before_it() -> None:
    made = _exchange("files.create_directory", "Make it.", "Created /a/b")
    listed = _exchange("files.list_directory", "List it.", "done")  # the new folder is empty
    task = "Make the folder /a/b."
    for copied in ("The task is finished", "done"):
        junk = Action("finish", {"answer": copied})
        assert answered_apart_from(junk, listed, task, [made, listed]) == Action(
            "finish", {"answer": "Created /a/b"}, APART_THOUGHT
        )
        assert answered_apart_from(junk, listed, task, [listed]) is None
    said = Action("finish", {"answer": "Folder made"})
    assert answered_apart_from(said, listed, task, [made, listed]) is None
