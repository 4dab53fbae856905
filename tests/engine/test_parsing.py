"""Reading an action out of unconstrained answers, as small models write them: JSON with prose
around it, code fences, XML tags, ReAct lines; and clear errors for the rest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from purpose_desktop.engine.loop.parsing import ActionParseError, ParsedAction, parse_action
from purpose_desktop.engine.tools.base import Tool, ToolContext
from purpose_desktop.engine.trajectory import Action
from purpose_desktop.errors import ModelError


async def _nothing(arguments: Mapping[str, Any], context: ToolContext) -> str:
    return ""


def tool(name: str, properties: dict[str, Any], required: list[str]) -> Tool:
    parameters = {"type": "object", "properties": properties, "required": required}
    return Tool(name, f"The {name} tool.", parameters, _nothing)


CALCULATOR = tool("calculator", {"expression": {"type": "string"}}, ["expression"])
READ_FILE = tool("read_file", {"path": {"type": "string"}, "limit": {"type": "integer"}}, ["path"])
WRITE_FILE = tool(
    "write_file", {"path": {"type": "string"}, "content": {"type": "string"}}, ["path", "content"]
)
TOOLS = [CALCULATOR, READ_FILE, WRITE_FILE]
TEAM = ["alice", "bob"]

MULTIPLY = Action("calculator", {"expression": "17*23"})


def parse(text: str) -> ParsedAction:
    return parse_action(text, TOOLS, TEAM)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # What the grammar produces.
        (
            '{"tool": "calculator", "expression": "17*23", "thought": "multiply"}',
            Action("calculator", {"expression": "17*23"}, "multiply"),
        ),
        # Whitespace and raw newlines inside strings (llama.cpp's grammar allows them).
        (
            '\n  {"tool": "write_file", "path": "a.txt", "content": "line 1\nline 2"}  \n',
            Action("write_file", {"path": "a.txt", "content": "line 1\nline 2"}),
        ),
        # Prose around the object; the first object counts.
        (
            "Sure! To answer this I will use the calculator.\n"
            '{"tool": "calculator", "expression": "17*23", "thought": "multiply"}\n'
            "Then I will give the answer.",
            Action("calculator", {"expression": "17*23"}, "multiply"),
        ),
        # A brace in the prose before the object.
        ('I need {some} math: {"tool": "calculator", "expression": "17*23"}', MULTIPLY),
        # Braces inside strings do not end the object.
        (
            'Action: {"tool": "write_file", "path": "a.py", "content": "d = {}\\nprint(d}"}',
            Action("write_file", {"path": "a.py", "content": "d = {}\nprint(d}"}),
        ),
        # Trailing commas are forgiven.
        ('{"tool": "calculator", "expression": "17*23",}', MULTIPLY),
        # Cut off by the token limit in the thought, which comes last.
        (
            '{"tool": "calculator", "expression": "17*23", "thought": "I need to multiply th',
            Action("calculator", {"expression": "17*23"}, "I need to multiply th"),
        ),
        ('{"tool": "calculator", "expression": "17*23", "thou', MULTIPLY),
        # A model that invents the observation and a second step: the first action counts.
        (
            '{"tool": "calculator", "expression": "17*23"}\nObservation: 391\n'
            '{"tool": "finish", "answer": "391"}',
            MULTIPLY,
        ),
        # Older shapes.
        ('{"tool": "calculator", "arguments": {"expression": "17*23"}}', MULTIPLY),
        ('{"tool": "calculator", "input": "17*23"}', MULTIPLY),
        ('{"action": "Final Answer", "action_input": "391"}', Action("finish", {"answer": "391"})),
        ('[{"tool": "calculator", "expression": "17*23"}]', MULTIPLY),
        # A number where a string is wanted.
        (
            '{"tool": "finish", "answer": 391, "thought": "done"}',
            Action("finish", {"answer": "391"}, "done"),
        ),
        # A reasoning section is not read for actions.
        (
            '<think>maybe {"tool": "finish", "answer": "1"}</think>'
            '{"tool": "calculator", "expression": "17*23"}',
            MULTIPLY,
        ),
    ],
)
def test_json_with_or_without_prose(text: str, expected: Action) -> None:
    assert parse(text) == ParsedAction(expected, "json")


@pytest.mark.parametrize(
    "text",
    [
        'Here is the action:\n```json\n{"tool": "calculator", "expression": "17*23"}\n```\nDone.',
        '```\n{"tool": "calculator", "expression": "17*23"}\n```',
        '```JSON\n{\n  "tool": "calculator",\n  "expression": "17*23",\n}\n```',
        # A fence left open by the token limit.
        '```json\n{"tool": "calculator", "expression": "17*23", "thought": "multiply the two',
    ],
)
def test_json_in_a_code_block(text: str) -> None:
    parsed = parse(text)
    assert parsed.method == "code-block"
    assert parsed.action.tool == "calculator"
    assert dict(parsed.action.arguments) == {"expression": "17*23"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<tool>calculator</tool><expression>17*23</expression>", MULTIPLY),
        (
            "<thought>I multiply.</thought>\n<action>calculator</action>\n<input>17*23</input>",
            Action("calculator", {"expression": "17*23"}, "I multiply."),
        ),
        (
            "<action>\n  <tool_name>read_file</tool_name>\n  <path>notes.txt</path>\n"
            "  <limit>5</limit>\n</action>",
            Action("read_file", {"path": "notes.txt", "limit": 5}),
        ),
        ("<action>calculator(17*23)</action>", MULTIPLY),
        ("The result is known.\n<answer>391</answer>", Action("finish", {"answer": "391"})),
        (
            "<final_answer>17 * 23 = 391</final_answer>",
            Action("finish", {"answer": "17 * 23 = 391"}),
        ),
        (
            "<tool>delegate</tool><agent>Bob</agent><task>check the sum</task>",
            Action("delegate", {"agent": "bob", "task": "check the sum"}),
        ),
    ],
)
def test_xml_tags(text: str, expected: Action) -> None:
    assert parse(text) == ParsedAction(expected, "xml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Thought: I need to multiply.\nAction: calculator\nAction Input: 17*23",
            Action("calculator", {"expression": "17*23"}, "I need to multiply."),
        ),
        # The whole imagined chain: the first action counts.
        (
            "Thought: I need to multiply.\nAction: calculator\nAction Input: 17*23\n"
            "Observation: 391\nThought: I know it now.\nFinal Answer: 391",
            Action("calculator", {"expression": "17*23"}, "I need to multiply."),
        ),
        (
            "Thought: I know the answer.\nFinal Answer: 17 * 23 is 391.",
            Action("finish", {"answer": "17 * 23 is 391."}, "I know the answer."),
        ),
        # A final answer runs over the lines below it, even ones that look like keys.
        (
            "Final Answer:\nThe steps:\nStep 1: multiply\nResult: 391",
            Action("finish", {"answer": "The steps:\nStep 1: multiply\nResult: 391"}),
        ),
        ("**Action:** calculator\n**Action Input:** `17*23`", MULTIPLY),
        ('Action 1: calculator\nAction Input 1: "17*23"', MULTIPLY),
        ("Action: calculator[17*23]", MULTIPLY),
        ('Action: read_file(path="notes.txt")', Action("read_file", {"path": "notes.txt"})),
        (
            'Action: read_file\nAction Input: {"path": "notes.txt", "limit": 2}',
            Action("read_file", {"path": "notes.txt", "limit": 2}),
        ),
        (
            "tool: read_file\npath: notes.txt\nlimit: 2\nthought: look first",
            Action("read_file", {"path": "notes.txt", "limit": 2}, "look first"),
        ),
        (
            "tool: write_file\npath: a.txt\ncontent: first line\nsecond line",
            Action("write_file", {"path": "a.txt", "content": "first line\nsecond line"}),
        ),
        ("Tool: finish\nAnswer: 391", Action("finish", {"answer": "391"})),
        ("Action: Final Answer\nAction Input: 391", Action("finish", {"answer": "391"})),
    ],
)
def test_keywords(text: str, expected: Action) -> None:
    assert parse(text) == ParsedAction(expected, "keywords")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the answer was empty"),
        ("I am not sure what to do here.", 'found none in the answer: "I am not sure'),
        ("Let me compute {17*23} = 391", "holds no valid JSON object"),
        ("x" * 500, '"' + "x" * 119 + '…"'),
    ],
)
def test_garbage_says_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ActionParseError) as caught:
        parse(text)
    assert str(caught.value).startswith(
        'Expected one action as a JSON object, like {"tool": "calculator", ..., '
        '"thought": "..."}, with "tool" one of calculator, read_file, write_file, finish, '
        "delegate"
    )
    assert message in str(caught.value)
    assert caught.value.text == text
    assert isinstance(caught.value, ModelError)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"tool": "calculater", "expression": "17*23"}', 'Unknown tool "calculater"'),
        ('Sure: {"tool": "read_file", "limit": 2}', 'The "read_file" action needs "path"'),
        ('{"tool": "read_file", "path": "a", "limit": "two"}', '"limit" should be integer'),
        ("Action: write_file\nAction Input: a.txt", 'single "input" value but takes'),
        ('{"tool": "delegate", "agent": "carol", "task": "x"}', "'carol' is not one of"),
    ],
)
def test_an_action_that_is_found_but_invalid_names_the_field(text: str, message: str) -> None:
    with pytest.raises(ActionParseError, match=message) as caught:
        parse(text)
    assert caught.value.text == text


def test_a_valid_action_found_later_wins_over_an_invalid_one() -> None:
    text = '{"tool": "calculater"}\nSorry: {"tool": "calculator", "expression": "17*23"}'
    assert parse(text) == ParsedAction(MULTIPLY, "json")


def test_finish_is_refused_when_it_is_not_offered() -> None:
    with pytest.raises(ActionParseError, match='Unknown tool "finish"'):
        parse_action("Final Answer: 391", TOOLS, can_finish=False)
