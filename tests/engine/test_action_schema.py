"""The action schema: branches in the measured order, nested parameters and optional ones, the
prompt text, and validation with its repairs; and the schema through the real llama.cpp grammar
on SmolLM2."""

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
    DEFAULT_MAX_ITEMS,
    DEFAULT_STRING_MAX_LENGTH,
    ITEM_STRING_MAX_LENGTH,
    NESTED_MAX_ITEMS,
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


def test_each_tool_is_a_branch_with_the_tool_first_then_its_required_keys_then_the_thought() -> (
    None
):
    schema = action_schema(TOOLS)
    Draft202012Validator.check_schema(schema)
    names = [b["properties"]["tool"]["const"] for b in schema["anyOf"]]
    assert names == ["calculator", "read_file", "write_file", "settings", "finish"]
    for each in schema["anyOf"]:
        keys = list(each["properties"])
        assert keys[0] == "tool"
        assert each["required"][-1] == "thought"
        assert each["required"] == keys[: len(each["required"])]
        assert each["additionalProperties"] is False
        thought = each["properties"]["thought"]
        assert thought["maxLength"] == THOUGHT_MAX_LENGTH
        assert re.fullmatch(thought["pattern"], "multiply them")
        assert not re.search(thought["pattern"], "one\ntwo")
    # The tool's required parameters first, in their order, then the thought, then the
    # optional ones, which an answer may leave out.
    assert list(branch(schema, "write_file")["properties"]) == [
        "tool",
        "path",
        "content",
        "thought",
    ]
    read_file = branch(schema, "read_file")
    assert list(read_file["properties"]) == ["tool", "path", "thought", "limit"]
    assert read_file["required"] == ["tool", "path", "thought"]


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
        {"tool": "read_file", "path": "a.txt", "thought": ""},  # the optional limit left out
        {"tool": "read_file", "path": "a.txt", "thought": "", "limit": 2},
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
        '{"tool": "read_file", "path": string, "thought": string, "limit": integer (optional)}'
        "  — Read a text file in the workspace.",
        # A parameter's choice of words is left to the grammar; the teammates are named.
        '{"tool": "settings", "ratio": number, "loud": boolean, "mode": string, '
        '"thought": string}  — Change a setting.',
        '{"tool": "finish", "answer": string, "thought": string}'
        "  — Give the final answer to the task.",
        '{"tool": "delegate", "agent": "alice"|"bob", "task": string, "thought": string}'
        "  — Hand a task to a teammate.",
    ]
    assert "finish" not in describe_actions([CALCULATOR], can_finish=False)


# --- nested parameters, as MCP servers declare them ---------------------------------------

EDIT_FILE = Tool(
    "edit_file",
    "Make line-based edits to a text file.",
    {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "edits": {
                "type": "array",
                "items": {"$ref": "#/$defs/Edit"},
                "description": "The edits, in order.",
            },
            "dryRun": {"type": "boolean", "default": False},
        },
        "required": ["path", "edits"],
        "$defs": {
            "Edit": {
                "type": "object",
                "title": "Edit",
                "properties": {"oldText": {"type": "string"}, "newText": {"type": "string"}},
                "required": ["oldText", "newText"],
                "additionalProperties": False,
            }
        },
    },
    _nothing,
)
ADD_OBSERVATIONS = Tool(
    "add_observations",
    "Add observations to entities.",
    {
        "type": "object",
        "properties": {
            "observations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "entityName": {"type": "string"},
                        "contents": {"type": "array", "items": {"type": "string"}},
                        "kind": {"type": "string", "enum": ["fact", "guess"]},
                        "weight": {"anyOf": [{"type": "number"}, {"type": "null"}]},
                    },
                    "required": ["entityName", "contents"],
                },
            },
            "tree": {"$ref": "#/$defs/Node"},
        },
        "required": ["observations"],
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
            }
        },
    },
    _nothing,
)


def test_nested_parameters_are_offered_bounded_and_with_their_refs_written_out() -> None:
    schema = action_schema([EDIT_FILE, ADD_OBSERVATIONS])
    Draft202012Validator.check_schema(schema)
    edit = branch(schema, "edit_file")
    assert edit["required"] == ["tool", "path", "edits", "thought"]
    assert list(edit["properties"]) == ["tool", "path", "edits", "thought", "dryRun"]
    edits = edit["properties"]["edits"]
    assert edits["maxItems"] == DEFAULT_MAX_ITEMS
    contents = branch(schema, "add_observations")["properties"]["observations"]["items"]
    assert contents["properties"]["contents"]["maxItems"] == NESTED_MAX_ITEMS
    assert edits["items"] == {
        "type": "object",
        "properties": {
            "oldText": {"type": "string", "maxLength": ITEM_STRING_MAX_LENGTH},
            "newText": {"type": "string", "maxLength": ITEM_STRING_MAX_LENGTH},
        },
        "required": ["oldText", "newText"],
        "additionalProperties": False,
    }
    assert "$defs" not in json.dumps(schema)  # nothing left for a grammar to look up
    item = branch(schema, "add_observations")["properties"]["observations"]["items"]
    assert item["properties"]["kind"] == {"type": "string", "enum": ["fact", "guess"]}
    assert item["properties"]["contents"]["items"]["maxLength"] == ITEM_STRING_MAX_LENGTH
    assert edit["properties"]["path"]["maxLength"] == DEFAULT_STRING_MAX_LENGTH
    # A reference back into itself is followed once, then left open for validation.
    node = branch(schema, "add_observations")["properties"]["tree"]
    assert "items" not in node["properties"]["children"]
    validator = Draft202012Validator(schema)
    assert validator.is_valid(
        {
            "tool": "edit_file",
            "path": "a",
            "edits": [{"oldText": "x", "newText": "y"}],
            "thought": "",
        }
    )
    assert not validator.is_valid(
        {"tool": "edit_file", "path": "a", "edits": [{"oldText": "x"}], "thought": ""}
    )


def test_nested_parameters_are_described_in_the_prompt() -> None:
    assert describe_actions([EDIT_FILE], can_finish=False) == (
        '{"tool": "edit_file", "path": string, "edits": [{"oldText": string, "newText": string}'
        ', ...], "thought": string, "dryRun": boolean (optional)}'
        "  — Make line-based edits to a text file."
    )
    line = describe_actions([ADD_OBSERVATIONS], can_finish=False)
    assert (
        '"observations": [{"entityName": string, "contents": ["...", ...], '
        '"kind": "fact"|"guess" (optional), "weight": number|null (optional)}, ...]'
    ) in line


@pytest.mark.parametrize(
    ("value", "arguments"),
    [
        (  # an array written as JSON text, and a string where a boolean is wanted
            {
                "tool": "edit_file",
                "path": "a",
                "edits": '[{"oldText": "x", "newText": "y"}]',
                "dryRun": "true",
            },
            {"path": "a", "edits": [{"oldText": "x", "newText": "y"}], "dryRun": True},
        ),
        (  # the same item again and again, as a small model writes it: kept once
            {"tool": "edit_file", "path": "a", "edits": [{"oldText": "x", "newText": "y"}] * 3},
            {"path": "a", "edits": [{"oldText": "x", "newText": "y"}]},
        ),
        (  # one value where a list of them is wanted, and a number where a string is
            {"tool": "add_observations", "observations": [{"entityName": 7, "contents": "tall"}]},
            {"observations": [{"entityName": "7", "contents": ["tall"]}]},
        ),
    ],
)
def test_obvious_mismatches_inside_nested_values_are_coerced(
    value: dict[str, Any], arguments: dict[str, Any]
) -> None:
    tools = [EDIT_FILE, ADD_OBSERVATIONS]
    assert dict(validate_action(value, tools).arguments) == arguments


def test_an_invalid_nested_value_is_refused_saying_where() -> None:
    value = {"tool": "edit_file", "path": "a", "edits": [{"oldText": "x"}]}
    with pytest.raises(ActionParseError) as caught:
        validate_action(value, [EDIT_FILE])
    assert str(caught.value) == (
        'The "edit_file" action\'s "edits"[0] is not valid: \'newText\' is a required property.'
    )
    # What the grammar left open is checked here: the recursive tree's children.
    deep = {"tool": "add_observations", "observations": [], "tree": {"children": [3]}}
    with pytest.raises(ActionParseError, match=re.escape('"tree"."children"[0]')):
        validate_action(deep, [ADD_OBSERVATIONS])


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


@pytest.mark.model
def test_smollm2_under_the_grammar_writes_valid_nested_arguments(tmp_path: Path) -> None:
    tools = [EDIT_FILE, ADD_OBSERVATIONS]
    schema = action_schema(tools, can_finish=False)
    requests = [
        'In notes.txt, replace "cat" with "dog".',
        "Note that Alice is tall and likes tea.",
    ]

    async def scenario() -> list[Any]:
        pool = LocalModelPool(tmp_path, n_ctx=1024, n_threads=2)
        values = []
        try:
            async with pool.use("bundled:smollm2-135m", tmp_path, lambda status: None) as model:
                for request in requests:
                    messages = [
                        ChatMessage(
                            "system",
                            "You act by writing one JSON object, one of:\n"
                            + describe_actions(tools, can_finish=False),
                        ),
                        ChatMessage("user", request),
                    ]
                    result = await generate_json(
                        model,
                        messages,
                        schema,
                        GenerationOptions(max_tokens=256, temperature=0.0, seed=1),
                    )
                    values.append(result.value)
            return values
        finally:
            await pool.aclose()

    for value in asyncio.run(scenario()):
        # The grammar held: the answer fits the action schema, nested parts included, and is
        # a valid call of the tool it names.
        assert Draft202012Validator(schema).is_valid(value), value
        action = validate_action(value, tools, can_finish=False)
        assert action.tool in {"edit_file", "add_observations"}
