"""The action schema: flat branches in the measured order, the prompt text, and validation
with its repairs; and the schema through the real llama.cpp grammar on SmolLM2."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from purpose_desktop.engine.loop.action_schema import (
    DEFAULT_STRING_MAX_LENGTH,
    THOUGHT_MAX_LENGTH,
    ActionParseError,
    action_schema,
    describe_actions,
    validate_action,
)
from purpose_desktop.engine.loop.parsing import parse_action
from purpose_desktop.engine.tools.base import Tool, ToolContext
from purpose_desktop.engine.trajectory import Action
from purpose_desktop.errors import ModelError
from purpose_desktop.models.messages import ChatMessage, GenerationOptions
from purpose_desktop.models.pool import LocalModelPool
from purpose_desktop.models.structured import generate_json


async def _nothing(arguments: Mapping[str, Any], context: ToolContext) -> str:
    return ""


def tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> Tool:
    parameters = {"type": "object", "properties": properties, "required": required}
    return Tool(name, description, parameters, _nothing)


CALCULATOR = tool(
    "calculator",
    'Evaluate arithmetic like "17*23".',
    {"expression": {"type": "string"}},
    ["expression"],
)
READ_FILE = tool(
    "read_file",
    "Read a text file in the workspace.\nLonger details that stay out of the prompt.",
    {"path": {"type": "string"}, "limit": {"type": "integer"}},
    ["path"],
)
WRITE_FILE = tool(
    "write_file",
    "Write a text file.",
    {"content": {"type": "string", "maxLength": 2000}, "path": {"type": "string"}},
    ["path", "content"],
)
SETTINGS = tool(
    "settings",
    "Change a setting.",
    {
        "ratio": {"type": "number"},
        "loud": {"type": "boolean"},
        "mode": {"type": "string", "enum": ["fast", "slow"]},
    },
    ["ratio", "loud", "mode"],
)
TOOLS = [CALCULATOR, READ_FILE, WRITE_FILE, SETTINGS]


def branch(schema: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        b for b in schema["anyOf"] if b["properties"]["tool"] == {"const": name}
    ]
    assert len(found) == 1
    return found[0]


# --- the schema ---------------------------------------------------------------------------


def test_each_tool_is_a_flat_branch_with_the_tool_first_and_the_thought_last() -> None:
    schema = action_schema(TOOLS)
    Draft202012Validator.check_schema(schema)
    names = [b["properties"]["tool"]["const"] for b in schema["anyOf"]]
    assert names == ["calculator", "read_file", "write_file", "settings", "finish"]
    for each in schema["anyOf"]:
        keys = list(each["properties"])
        assert keys[0] == "tool" and keys[-1] == "thought"
        assert each["required"] == keys
        assert each["additionalProperties"] is False
        thought = each["properties"]["thought"]
        assert thought["maxLength"] == THOUGHT_MAX_LENGTH
        assert re.fullmatch(thought["pattern"], "multiply them")
        assert not re.search(thought["pattern"], "one\ntwo")
        for spec in each["properties"].values():  # flat: no nested objects or arrays
            assert spec.get("type") not in ("object", "array")
    # The tool's required parameters first, in their order, then the optional ones.
    assert list(branch(schema, "write_file")["properties"]) == [
        "tool",
        "path",
        "content",
        "thought",
    ]
    assert list(branch(schema, "read_file")["properties"]) == ["tool", "path", "limit", "thought"]


def test_strings_get_a_max_length_unless_they_set_one_or_are_an_enum() -> None:
    schema = action_schema(TOOLS)
    assert branch(schema, "calculator")["properties"]["expression"] == {
        "type": "string",
        "maxLength": DEFAULT_STRING_MAX_LENGTH,
    }
    assert branch(schema, "write_file")["properties"]["content"]["maxLength"] == 2000
    assert branch(schema, "settings")["properties"]["mode"] == {
        "type": "string",
        "enum": ["fast", "slow"],
    }
    assert branch(schema, "settings")["properties"]["ratio"] == {"type": "number"}
    # The tool's own schema is left as it was.
    assert "maxLength" not in CALCULATOR.parameters["properties"]["expression"]


def test_finish_and_delegate_branches() -> None:
    schema = action_schema([CALCULATOR], teammates=["alice", "bob"])
    finish = branch(schema, "finish")
    assert list(finish["properties"]) == ["tool", "answer", "thought"]
    assert finish["properties"]["answer"]["type"] == "string"
    delegate = branch(schema, "delegate")
    assert list(delegate["properties"]) == ["tool", "agent", "task", "thought"]
    assert delegate["properties"]["agent"] == {"type": "string", "enum": ["alice", "bob"]}
    assert "maxLength" in delegate["properties"]["task"]

    without_finish = action_schema([CALCULATOR], can_finish=False)
    assert [b["properties"]["tool"]["const"] for b in without_finish["anyOf"]] == ["calculator"]
    assert not any(
        b["properties"]["tool"]["const"] == "delegate" for b in action_schema([CALCULATOR])["anyOf"]
    )


def test_values_match_exactly_their_own_branch() -> None:
    validator = Draft202012Validator(action_schema(TOOLS, teammates=["alice"]))
    good = [
        {"tool": "calculator", "expression": "17*23", "thought": "multiply"},
        {"tool": "finish", "answer": "391", "thought": ""},
        {"tool": "delegate", "agent": "alice", "task": "add", "thought": ""},
    ]
    bad = [
        {"tool": "calculator", "expression": "17*23"},  # no thought
        {"tool": "calculator", "path": "a.txt", "thought": ""},  # another tool's key
        {"tool": "calculator", "arguments": {"expression": "1"}, "thought": ""},  # nested
        {"tool": "delegate", "agent": "zed", "task": "add", "thought": ""},
        {"tool": "calculator", "expression": "x" * 201, "thought": ""},
    ]
    assert all(validator.is_valid(value) for value in good)
    assert not any(validator.is_valid(value) for value in bad)


@pytest.mark.parametrize(
    ("tools", "kwargs", "message"),
    [
        ([CALCULATOR, CALCULATOR], {}, "Two tools"),
        ([tool("finish", "x", {}, [])], {}, "reserved"),
        ([tool("t", "x", {"thought": {"type": "string"}}, [])], {}, "parameter called"),
        ([tool("t", "x", {"items": {"type": "array"}}, [])], {}, "flat"),
        ([], {"can_finish": False}, "at least one"),
    ],
)
def test_tools_that_cannot_be_offered_are_refused(
    tools: list[Tool], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        action_schema(tools, **kwargs)


def test_described_actions_show_the_schema_one_line_per_choice() -> None:
    text = describe_actions([CALCULATOR, READ_FILE, SETTINGS], teammates=["alice", "bob"])
    assert text.splitlines() == [
        '{"tool": "calculator", "expression": string, "thought": string}'
        '  — Evaluate arithmetic like "17*23".',
        '{"tool": "read_file", "path": string, "limit": integer, "thought": string}'
        "  — Read a text file in the workspace.",
        '{"tool": "settings", "ratio": number, "loud": boolean, "mode": "fast"|"slow", '
        '"thought": string}  — Change a setting.',
        '{"tool": "finish", "answer": string, "thought": string}'
        "  — Give the final answer to the task.",
        '{"tool": "delegate", "agent": "alice"|"bob", "task": string, "thought": string}'
        "  — Hand a task to a teammate.",
    ]
    assert "finish" not in describe_actions([CALCULATOR], can_finish=False)


# --- validation ---------------------------------------------------------------------------


def test_a_valid_value_becomes_an_action() -> None:
    value = {"tool": "read_file", "path": "a.txt", "limit": 3, "thought": "look"}
    assert validate_action(value, TOOLS) == Action(
        "read_file", {"path": "a.txt", "limit": 3}, "look"
    )
    assert validate_action({"tool": "finish", "answer": "391"}, TOOLS) == Action(
        "finish", {"answer": "391"}
    )


@pytest.mark.parametrize(
    ("value", "arguments"),
    [
        ({"tool": "calculator", "expression": 391}, {"expression": "391"}),
        ({"tool": "calculator", "expression": 2.5}, {"expression": "2.5"}),
        ({"tool": "read_file", "path": "a", "limit": "3"}, {"path": "a", "limit": 3}),
        ({"tool": "read_file", "path": "a", "limit": 3.0}, {"path": "a", "limit": 3}),
        ({"tool": "read_file", "path": "a", "limit": None}, {"path": "a"}),  # optional null
        (
            {"tool": "settings", "ratio": "0.5", "loud": "True", "mode": "FAST"},
            {"ratio": 0.5, "loud": True, "mode": "fast"},
        ),
        (
            {"tool": "settings", "ratio": " 2 ", "loud": False, "mode": "slow"},
            {"ratio": 2, "loud": False, "mode": "slow"},
        ),
        ({"tool": "finish", "answer": 391}, {"answer": "391"}),
    ],
)
def test_obvious_scalar_mismatches_are_coerced(
    value: dict[str, Any], arguments: dict[str, Any]
) -> None:
    assert dict(validate_action(value, TOOLS).arguments) == arguments


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"tool": "Calculator", "expression": "1"}, Action("calculator", {"expression": "1"})),
        ({"action": "calculator", "expression": "1"}, Action("calculator", {"expression": "1"})),
        (
            {"tool": "calculator", "arguments": {"expression": "1"}, "thought": "t"},
            Action("calculator", {"expression": "1"}, "t"),
        ),
        (
            {"tool": "calculator", "arguments": '{"expression": "1"}'},
            Action("calculator", {"expression": "1"}),
        ),
        (
            {"name": "read_file", "arguments": {"path": "a", "limit": "2"}},
            Action("read_file", {"path": "a", "limit": 2}),
        ),
        ({"tool": "read_file", "input": "a.txt"}, Action("read_file", {"path": "a.txt"})),
        ({"action": "Final Answer", "action_input": "391"}, Action("finish", {"answer": "391"})),
        (
            {"tool": "delegate", "agent": "ALICE", "task": "add"},
            Action("delegate", {"agent": "alice", "task": "add"}),
        ),
        (
            {"tool": "calculator", "expression": "1", "result": 1},  # an undeclared key
            Action("calculator", {"expression": "1"}),
        ),
        (
            {"tool": "calculator", "expression": "1", "thought": 7},
            Action("calculator", {"expression": "1"}, "7"),
        ),
    ],
)
def test_older_and_looser_shapes_are_read(value: dict[str, Any], expected: Action) -> None:
    assert validate_action(value, TOOLS, ["alice", "bob"]) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1, 2], 'Expected a JSON object with a "tool" key, got an array'),
        ({"expression": "1"}, 'no "tool" key'),
        ({"tool": 3}, '"tool" must be a string naming one of calculator, read_file'),
        ({"tool": "calculatr", "expression": "1"}, 'Unknown tool "calculatr": choose one of'),
        ({"tool": "delegate", "agent": "alice", "task": "x"}, 'Unknown tool "delegate"'),
        ({"tool": "read_file"}, 'The "read_file" action needs "path" (string).'),
        (
            {"tool": "read_file", "path": "a", "limit": "many"},
            """The "read_file" action's "limit" should be integer: 'many' is not of type""",
        ),
        ({"tool": "calculator", "expression": ["1"]}, """"expression" should be string"""),
        ({"tool": "settings", "ratio": 1, "loud": "maybe", "mode": "fast"}, '"loud"'),
        (
            {"tool": "settings", "ratio": 1, "loud": True, "mode": "medium"},
            """"mode" should be "fast"|"slow": 'medium' is not one of""",
        ),
        ({"tool": "write_file", "input": "x"}, 'single "input" value but takes "content", "path"'),
    ],
)
def test_invalid_values_are_refused_naming_the_field(value: Any, message: str) -> None:
    with pytest.raises(ActionParseError) as caught:
        validate_action(value, TOOLS)
    assert message in str(caught.value)
    assert isinstance(caught.value, ModelError)
    assert caught.value.text == json.dumps(value)


def test_the_raw_text_is_carried_by_the_error() -> None:
    with pytest.raises(ActionParseError) as caught:
        validate_action({"tool": "nope"}, TOOLS, text="the raw answer")
    assert caught.value.text == "the raw answer"


def test_delegate_checks_the_teammate_and_finish_can_be_withheld() -> None:
    with pytest.raises(ActionParseError, match=re.escape('"agent" should be "alice"|"bob"')):
        validate_action({"tool": "delegate", "agent": "zed", "task": "x"}, TOOLS, ["alice", "bob"])
    with pytest.raises(ActionParseError, match='Unknown tool "finish"'):
        validate_action({"tool": "finish", "answer": "1"}, TOOLS, can_finish=False)


# --- the real grammar -------------------------------------------------------------------


@pytest.mark.model
def test_smollm2_under_the_grammar_writes_a_valid_action(tmp_path: Path) -> None:
    schema = action_schema([CALCULATOR])
    messages = [
        ChatMessage(
            "system",
            "You act by writing one JSON object, one of:\n" + describe_actions([CALCULATOR]),
        ),
        ChatMessage("user", "What is 17 * 23?"),
    ]

    async def scenario() -> tuple[Any, str]:
        pool = LocalModelPool(tmp_path, n_ctx=1024, n_threads=2)
        try:
            async with pool.use("bundled:smollm2-135m", tmp_path, lambda status: None) as model:
                result = await generate_json(
                    model,
                    messages,
                    schema,
                    GenerationOptions(max_tokens=160, temperature=0.0, seed=1),
                )
            return result.value, result.text
        finally:
            await pool.aclose()

    value, text = asyncio.run(scenario())
    action = validate_action(value, [CALCULATOR])
    assert action.tool in {"calculator", "finish"}
    assert list(value) == list(branch(schema, action.tool)["properties"])
    assert parse_action(text, [CALCULATOR]) == parse_action(json.dumps(value), [CALCULATOR])
    assert parse_action(text, [CALCULATOR]).method == "json"
