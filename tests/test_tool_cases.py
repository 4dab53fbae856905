"""The tool-call benchmark's corpus: real MCP servers' schemas and hand-written cases whose
expected arguments those schemas accept, spread over the servers and the kinds of parameter
that trouble small models; and how the project's path scores an answer, with a scripted model
giving fixed answers."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.bench.tools import (
    OTHER_TOOLS,
    Answer,
    ToolCallBenchmark,
    ToolCase,
    engine_tool,
    format_report,
    load_cases,
    load_no_tool_requests,
    load_schemas,
    no_tool_case,
    no_tool_offer,
    normalised,
    offered,
    project_case,
    raw_case,
    same,
    summarise,
)
from purpose_desktop.engine.tools.names import mcp_tool_name
from purpose_desktop.models.messages import ChatMessage, GenerationOptions
from purpose_desktop.models.scripted import FunctionModel
from purpose_desktop.models.structured import validator_for

ROOT = Path(__file__).resolve().parent.parent
SERVERS = {"time", "git", "sqlite", "fetch", "filesystem", "memory", "everything"}
SCHEMAS = load_schemas()
CASES = load_cases()


def _schema(case: ToolCase) -> Mapping[str, Any]:
    return SCHEMAS[case.server][case.tool].input_schema


def _properties(case: ToolCase) -> Mapping[str, Any]:
    return _schema(case).get("properties") or {}


def _optional(case: ToolCase) -> set[str]:
    return set(_properties(case)) - set(_schema(case).get("required") or ())


def _types(spec: Any) -> set[str]:
    declared = spec.get("type") if isinstance(spec, Mapping) else None
    return {declared} if isinstance(declared, str) else set(declared or ())


def test_the_schemas_are_the_servers_own_and_name_their_package() -> None:
    assert set(SCHEMAS) == SERVERS
    stored = json.loads((ROOT / "purpose_desktop/bench/tool_cases/schemas.json").read_text())
    for server, entry in stored["servers"].items():
        assert entry["package"] and entry["version"] and entry["registry"] in ("pypi", "npm")
        assert len(entry["tools"]) >= 1, server
        for tool in SCHEMAS[server].values():
            assert tool.input_schema["type"] == "object", tool.name
            validator_for(tool.input_schema)  # a valid JSON schema


def test_there_are_enough_cases_spread_over_every_server() -> None:
    assert len(CASES) >= 100
    per_server = Counter(case.server for case in CASES)
    assert set(per_server) == SERVERS
    assert min(per_server.values()) >= 8, per_server
    # Most of each server's tools are asked for, not only the easy ones.
    for server in SERVERS:
        asked = {case.tool for case in CASES if case.server == server}
        assert len(asked) >= len(SCHEMAS[server]) * 3 // 4, server
    assert len({case.request for case in CASES}) == len(CASES), "a request is repeated"


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.server}.{case.tool}")
def test_every_expected_call_is_valid_against_its_tools_schema(case: ToolCase) -> None:
    assert case.tool in SCHEMAS[case.server]
    assert case.request.strip()
    errors = [error.message for error in validator_for(_schema(case)).iter_errors(case.arguments)]
    assert errors == []
    # What is expected is said as it should be given: no optional argument at its default.
    assert dict(case.arguments) == normalised(case.arguments, _schema(case))


def test_the_cases_cover_arrays_objects_enums_and_optional_parameters() -> None:
    def given(case: ToolCase, kind: str) -> bool:
        return any(kind in _types(_properties(case)[name]) for name in case.arguments)

    def array_of_objects(case: ToolCase) -> bool:
        return any(
            "object" in _types(_properties(case)[name].get("items"))
            for name in case.arguments
            if "array" in _types(_properties(case)[name])
        )

    def nested_array(case: ToolCase) -> bool:
        return any(
            isinstance(item, Mapping) and any(isinstance(v, list) for v in item.values())
            for value in case.arguments.values()
            if isinstance(value, list)
            for item in value
        )

    def enum(case: ToolCase) -> bool:
        return any("enum" in _properties(case)[name] for name in case.arguments)

    kinds = {
        "array": sum(given(case, "array") for case in CASES),
        "array of objects": sum(array_of_objects(case) for case in CASES),
        "objects holding arrays": sum(nested_array(case) for case in CASES),
        "enum": sum(enum(case) for case in CASES),
        "optional given": sum(bool(_optional(case) & set(case.arguments)) for case in CASES),
        "optional left out": sum(bool(_optional(case) - set(case.arguments)) for case in CASES),
        "no arguments": sum(not case.arguments for case in CASES),
        "numbers": sum(given(case, "number") or given(case, "integer") for case in CASES),
        "booleans": sum(given(case, "boolean") for case in CASES),
    }
    assert all(count >= 5 for count in kinds.values()), sorted(kinds.items())


def test_each_case_is_offered_its_tool_among_others() -> None:
    places = set()
    for number, case in enumerate(CASES):
        tools = offered(number, case, SCHEMAS)
        names = [(tool.server, tool.name) for tool in tools]
        assert len(set(names)) == len(names) == OTHER_TOOLS + 1
        assert (case.server, case.tool) in names
        places.add(names.index((case.server, case.tool)))
        # Tools of the same server first: choosing among them is the real choice.
        same_server = [server for server, _ in names if server == case.server]
        assert len(same_server) == min(len(SCHEMAS[case.server]), OTHER_TOOLS + 1)
    assert places == set(range(OTHER_TOOLS + 1))


def test_the_corpus_ships_with_the_package() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        package_data = tomllib.load(file)["tool"]["setuptools"]["package-data"]
    assert "tool_cases/*.json" in package_data["purpose_desktop.bench"]
    folder = ROOT / "purpose_desktop/bench/tool_cases"
    assert {path.name for path in folder.glob("*.json")} == {
        "cases.json",
        "no_tool.json",
        "schemas.json",
    }


def test_arguments_compare_as_json_with_defaults_as_left_out() -> None:
    schema = SCHEMAS["git"]["git_log"].input_schema
    expected = {"repo_path": "/r", "max_count": 5}
    assert same(normalised({"repo_path": "/r", "max_count": 5.0}, schema), expected)
    # The default and a null ask for the same call as leaving them out.
    plain = {"repo_path": "/r", "max_count": 10, "start_timestamp": None}
    assert normalised(plain, schema) == {"repo_path": "/r"}
    assert not same(normalised({"repo_path": "/r", "max_count": 6}, schema), expected)
    assert not same(True, 1)
    assert not same({"a": [1, 2]}, {"a": [2, 1]})
    assert same({"a": [{"b": 1}]}, {"a": [{"b": 1.0}]})


def _answers(reply: str) -> FunctionModel:
    def function(messages: Sequence[ChatMessage], options: GenerationOptions) -> str:
        # The project's path asks under the action schema, with the request as the task.
        assert options.json_schema is not None
        assert messages[-1].content.startswith("Task: ")
        return reply

    return FunctionModel(function)


def _case(tool: str) -> tuple[int, ToolCase]:
    return next((n, case) for n, case in enumerate(CASES) if case.tool == tool)


def test_the_project_path_scores_a_right_a_wrong_and_an_unreadable_answer() -> None:
    # A request that points at both time tools alike, so that both are offered.
    found = next(
        ((n, c) for n, c in enumerate(CASES) if c.request.startswith("If it is 09:00")), None
    )
    assert found is not None
    number, case = found
    name = mcp_tool_name(case.server, case.tool)
    right = json.dumps({"tool": name, **case.arguments, "thought": "convert"})
    wrong_arguments = json.dumps({**json.loads(right), "time": "23:59"})
    wrong_tool = json.dumps({"tool": "time.get_current_time", "timezone": "Etc/UTC"})
    results = [
        asyncio.run(project_case(_answers(reply), number, case, SCHEMAS))
        for reply in (right, wrong_arguments, wrong_tool, "no idea", '{"tool": "finish"}')
    ]
    flags = [(r.valid, r.right_tool, r.exact) for r in results]
    assert flags == [
        (True, True, True),
        (True, True, False),
        (True, False, False),
        (False, False, False),
        (False, False, False),
    ]
    assert [r.reason.split(":")[0] for r in results] == [
        "",
        "wrong arguments",
        "wrong tool",
        "not a valid action",
        "not a valid action",
    ]
    summary = summarise(results)
    assert (summary.cases, summary.valid, summary.right_tool, summary.exact_arguments) == (
        5,
        0.6,
        0.4,
        0.2,
    )


def test_a_model_that_keeps_to_schemas_is_offered_only_the_tool_a_request_points_at() -> None:
    number, case = next(
        (n, c) for n, c in enumerate(CASES) if c.request.startswith("Tell me the current time in")
    )
    name = mcp_tool_name(case.server, case.tool)
    seen: list[GenerationOptions] = []

    def function(messages: Sequence[ChatMessage], options: GenerationOptions) -> str:
        seen.append(options)
        return json.dumps({"tool": name, **case.arguments, "thought": "look it up"})

    model = FunctionModel(function, keeps_to_schemas=True)
    result = asyncio.run(project_case(model, number, case, SCHEMAS))
    assert (result.valid, result.exact) == (True, True)
    ((options,),) = [seen]
    assert options.json_schema is not None
    assert [b["properties"]["tool"]["const"] for b in options.json_schema["anyOf"]] == [name]


def test_a_finish_instead_of_a_call_is_no_valid_call() -> None:
    number, case = _case("get_current_time")
    result = asyncio.run(
        project_case(
            _answers('{"tool": "finish", "answer": "noon", "thought": ""}'), number, case, SCHEMAS
        )
    )
    assert (result.valid, result.right_tool, result.tool) == (False, False, "finish")
    assert result.reason.startswith("no tool called")


def test_a_tool_with_nested_parameters_is_scored_or_counted_as_not_offered() -> None:
    # Whether the action schema offers object and array parameters depends on the engine;
    # either way the case gets a result, never an exception.
    number, case = _case("edit_file")
    tools = [engine_tool(tool) for tool in offered(number, case, SCHEMAS)]
    name = mcp_tool_name(case.server, case.tool)
    reply = json.dumps({"tool": name, **case.arguments, "thought": "edit"})
    result = asyncio.run(project_case(_answers(reply), number, case, SCHEMAS))
    assert result.exact or result.reason.startswith("cannot be offered"), result.reason
    assert name in {tool.name for tool in tools}


def test_the_report_puts_the_paths_side_by_side() -> None:
    number, case = _case("get_current_time")
    name = mcp_tool_name(case.server, case.tool)
    right = json.dumps({"tool": name, **case.arguments, "thought": ""})
    project = asyncio.run(project_case(_answers(right), number, case, SCHEMAS))
    raw = dataclasses.replace(project, path="raw", exact=False, reason="wrong arguments")
    report = format_report(
        ToolCallBenchmark("m.gguf", 2, 1, summarise([project]), summarise([raw]), (project, raw))
    )
    lines = report.splitlines()
    assert lines[0] == "m.gguf, 2 threads, 1 cases"
    assert lines[2].startswith("project (action schema)") and "100.0%" in lines[2]
    assert lines[3].startswith("raw llama-cpp-python") and lines[3].count("100.0%") == 2
    assert "raw failures: wrong arguments 1" in lines


def test_the_raw_path_checks_the_answer_against_the_schema_as_it_is() -> None:
    number, case = _case("git_log")
    tool = SCHEMAS[case.server][case.tool]

    def scored(text: str, error: str = "") -> tuple[bool, bool, str]:
        result = raw_case(number, case, tool, Answer(text, 9, 0.5), error)
        assert result.right_tool and result.path == "raw"
        return result.valid, result.exact, result.reason.split(":")[0]

    assert scored(json.dumps(case.arguments)) == (True, True, "")
    # The default given outright asks for the same call.
    assert scored(json.dumps({**case.arguments, "max_count": 10})) == (True, True, "")
    assert scored('{"repo_path": "/elsewhere"}') == (True, False, "wrong arguments")
    # Nothing is repaired on the raw path: a number as a string is not valid.
    assert scored('{"repo_path": "/r", "max_count": "5"}') == (False, False, "not valid")
    assert scored('{"repo_path": "/r"') == (False, False, "not JSON")
    assert scored("[]") == (False, False, "not a JSON object")
    assert scored("", "ValueError: bad grammar") == (False, False, "llama-cpp-python failed")


def test_the_requests_that_need_no_tool_are_offered_every_servers_tools() -> None:
    requests = load_no_tool_requests()
    assert len(requests) >= 20 and len(set(requests)) == len(requests)
    at = [no_tool_offer(number, len(requests), len(CASES)) for number in range(len(requests))]
    assert at == sorted(set(at)) and at[-1] < len(CASES)
    assert {CASES[n].server for n in at} == SERVERS


def test_a_request_that_needs_no_tool_is_answered_well_by_finishing() -> None:
    def answered(reply: str) -> tuple[str, bool]:
        tools = offered(0, CASES[0], SCHEMAS)  # request 0's: no_tool_offer(0, ...) is case 0
        result = asyncio.run(no_tool_case(_answers(reply), 0, load_no_tool_requests()[0], tools))
        assert len(result.offered) == OTHER_TOOLS + 1 and result.answer == reply
        return result.tool, result.finished

    assert answered('{"tool": "finish", "answer": "red", "thought": ""}') == ("finish", True)
    call = json.dumps({"tool": "time.get_current_time", "timezone": "Etc/UTC", "thought": ""})
    assert answered(call) == ("time.get_current_time", False)
    assert answered("no idea") == ("", False)
