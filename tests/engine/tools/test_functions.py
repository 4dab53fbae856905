"""Tools from Python functions, and calling tools: schemas, validation, time limits, retries."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from purpose_desktop.engine.tools.base import Tool, ToolContext, ToolError
from purpose_desktop.engine.tools.functions import (
    call_tool,
    tool_from_function,
    validate_arguments,
)


def search(
    query: str,
    *,
    limit: int = 5,
    threshold: float = 0.5,
    exact: bool = False,
    order: Literal["newest", "oldest"] = "newest",
    tag: str | None = None,
    note: Annotated[str, {"maxLength": 20}] = "",
) -> str:
    """Search the archive for documents.

    Longer explanation that is not part of the description.

    Args:
        query: the words to look for,
            over two lines
        limit (int): how many results
        threshold: how close a match must be
        exact: whether to match exactly
        order: which come first

    Returns:
        the matches
    """
    return f"{query}|{limit}|{threshold!r}|{exact}|{order}|{tag}|{note}"


def test_schema_from_the_signature_and_docstring() -> None:
    tool = tool_from_function(search, keywords=("find",))
    assert tool.name == "search"
    assert tool.description == "Search the archive for documents."
    assert tool.keywords == ("find",)
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "the words to look for, over two lines"},
            "limit": {"type": "integer", "description": "how many results", "default": 5},
            "threshold": {
                "type": "number",
                "description": "how close a match must be",
                "default": 0.5,
            },
            "exact": {
                "type": "boolean",
                "description": "whether to match exactly",
                "default": False,
            },
            "order": {
                "type": "string",
                "enum": ["newest", "oldest"],
                "description": "which come first",
                "default": "newest",
            },
            "tag": {"type": "string"},
            "note": {"type": "string", "maxLength": 20, "default": ""},
        },
        "required": ["query"],
        "additionalProperties": False,
    }


def test_options_override_the_defaults() -> None:
    tool = tool_from_function(
        search, name="find-docs", description="Find documents.", risky=True, timeout=3.0, retries=2
    )
    assert (tool.name, tool.description, tool.risky, tool.timeout, tool.retries) == (
        "find-docs",
        "Find documents.",
        True,
        3.0,
        2,
    )


def test_calls_convert_json_numbers_to_the_annotated_types(tmp_path: Path) -> None:
    tool = tool_from_function(search)
    output = asyncio.run(
        call_tool(tool, {"query": "cats", "limit": 2.0, "threshold": 1}, ToolContext(tmp_path))
    )
    assert output == "cats|2|1.0|False|newest|None|"


def test_sync_functions_run_in_a_thread_and_async_ones_in_the_loop(tmp_path: Path) -> None:
    threads: list[int] = []

    def sync_tool(context: ToolContext) -> None:
        """Record the thread."""
        threads.append(threading.get_ident())
        assert context.workspace == tmp_path

    async def async_tool(count: int, context: ToolContext) -> int:
        """Count notes."""
        threads.append(threading.get_ident())
        context.notes.entries.append("seen")
        return count + len(context.notes.entries)

    context = ToolContext(tmp_path)
    sync, asynchronous = tool_from_function(sync_tool), tool_from_function(async_tool)
    assert sync.parameters["properties"] == {}  # the context is not an argument
    assert asynchronous.parameters["required"] == ["count"]

    async def scenario() -> tuple[str, str, int]:
        return (
            await call_tool(sync, {}, context),
            await call_tool(asynchronous, {"count": 1}, context),
            threading.get_ident(),
        )

    none_output, async_output, loop_thread = asyncio.run(scenario())
    assert none_output == "done"  # None becomes "done"
    assert async_output == "2"  # other values become str
    assert threads[0] != loop_thread
    assert threads[1] == loop_thread


def test_definition_mistakes_are_found_when_the_tool_is_made() -> None:
    def no_hint(x) -> str:  # type: ignore[no-untyped-def]
        """Doc."""
        return str(x)

    def varargs(*items: str) -> str:
        """Doc."""
        return ""

    def nested(items: list[str]) -> str:
        """Doc."""
        return ""

    def positional(x: str, /) -> str:
        """Doc."""
        return x

    def undocumented(x: str) -> str:
        return x

    for fn, error, message in (
        (no_hint, TypeError, "needs a type hint"),
        (varargs, TypeError, "*args and **kwargs"),
        (nested, TypeError, "tools take str, int, float, bool or a Literal"),
        (positional, TypeError, "keyword arguments"),
        (undocumented, ValueError, "needs a description"),
    ):
        with pytest.raises(error, match=re.escape(message)):
            tool_from_function(fn)
    with pytest.raises(ValueError, match="cannot name a tool"):
        tool_from_function(lambda: "x", description="A lambda.")
    assert tool_from_function(lambda: "x", name="ok", description="A lambda.").name == "ok"


def test_validation_names_the_argument_and_the_problem() -> None:
    tool = tool_from_function(search)
    cases: list[tuple[Any, str]] = [
        ({}, "search: missing argument 'query'."),
        ({"query": 3}, "search: argument 'query' must be a string, not 3."),
        (
            {"query": "x", "limit": "five"},
            "search: argument 'limit' must be a whole number, not \"five\".",
        ),
        ({"query": "x", "limit": 1.5}, "search: argument 'limit' must be a whole number, not 1.5."),
        (
            {"query": "x", "exact": "yes"},
            "search: argument 'exact' must be true or false, not \"yes\".",
        ),
        (
            {"query": "x", "order": "random"},
            'search: argument \'order\' must be one of "newest", "oldest", not "random".',
        ),
        (
            {"query": "x", "note": "n" * 25},
            "search: argument 'note' is too long (25 characters, at most 20).",
        ),
        (
            {"query": "x", "colour": "red"},
            "search: unknown argument 'colour' (search takes "
            "'query', 'limit', 'threshold', 'exact', 'order', 'tag', 'note').",
        ),
        (["query"], 'search: the arguments must be a JSON object, not ["query"].'),
    ]
    for arguments, message in cases:
        with pytest.raises(ToolError) as caught:
            validate_arguments(tool, arguments)
        assert str(caught.value) == message
    with pytest.raises(ToolError) as caught:
        validate_arguments(tool, {"limit": True, "extra": 1})
    assert str(caught.value) == (  # every problem at once, so one retry can fix them all
        "search: missing argument 'query'; unknown argument 'extra' (search takes 'query', "
        "'limit', 'threshold', 'exact', 'order', 'tag', 'note'); argument 'limit' must be a "
        "whole number, not true."
    )


def counting_tool(
    behaviour: Callable[[int], Awaitable[Any]], *, timeout: float = 0.05, retries: int = 0
) -> tuple[Tool, list[int]]:
    calls: list[int] = []

    async def function(arguments: Mapping[str, Any], context: ToolContext) -> str:
        calls.append(len(calls) + 1)
        result: str = await behaviour(len(calls))
        return result

    tool = Tool(
        name="flaky",
        description="A test tool.",
        parameters={"type": "object", "properties": {}, "additionalProperties": False},
        function=function,
        timeout=timeout,
        retries=retries,
    )
    return tool, calls


def test_a_timeout_is_retried_then_reported(tmp_path: Path) -> None:
    async def slow(attempt: int) -> str:
        await asyncio.sleep(10)
        return "never"

    tool, calls = counting_tool(slow, retries=2)
    with pytest.raises(ToolError) as caught:
        asyncio.run(call_tool(tool, {}, ToolContext(tmp_path)))
    assert str(caught.value) == "flaky took longer than 0.05 s and was stopped"
    assert not caught.value.retryable
    assert calls == [1, 2, 3]

    async def slow_once(attempt: int) -> str:
        if attempt == 1:
            await asyncio.sleep(10)
        return f"attempt {attempt}"

    tool, calls = counting_tool(slow_once, retries=1)
    assert asyncio.run(call_tool(tool, {}, ToolContext(tmp_path))) == "attempt 2"
    assert calls == [1, 2]


def test_retryable_errors_are_retried_and_others_are_not(tmp_path: Path) -> None:
    async def busy_twice(attempt: int) -> str:
        if attempt <= 2:
            raise ToolError("busy", retryable=True)
        return "ok"

    tool, calls = counting_tool(busy_twice, retries=2)
    assert asyncio.run(call_tool(tool, {}, ToolContext(tmp_path), retry_delay=0)) == "ok"
    assert calls == [1, 2, 3]

    tool, calls = counting_tool(busy_twice, retries=1)
    with pytest.raises(ToolError, match="busy"):
        asyncio.run(call_tool(tool, {}, ToolContext(tmp_path), retry_delay=0))
    assert calls == [1, 2]

    async def refuses(attempt: int) -> str:
        raise ToolError("no such thing")

    tool, calls = counting_tool(refuses, retries=3)
    with pytest.raises(ToolError, match="no such thing"):
        asyncio.run(call_tool(tool, {}, ToolContext(tmp_path)))
    assert calls == [1]


def test_bugs_in_a_tool_propagate(tmp_path: Path) -> None:
    async def broken(attempt: int) -> str:
        raise RuntimeError("a bug")

    tool, calls = counting_tool(broken, retries=3)
    with pytest.raises(RuntimeError, match="a bug"):
        asyncio.run(call_tool(tool, {}, ToolContext(tmp_path)))
    assert calls == [1]

    async def own_timeout(attempt: int) -> str:
        raise TimeoutError("the tool's own")

    tool, calls = counting_tool(own_timeout, timeout=5, retries=3)
    with pytest.raises(TimeoutError, match="the tool's own"):
        asyncio.run(call_tool(tool, {}, ToolContext(tmp_path)))
    assert calls == [1]

    async def not_text(attempt: int) -> Any:
        return 42

    tool, _ = counting_tool(not_text)
    with pytest.raises(TypeError, match="returned int, not str"):
        asyncio.run(call_tool(tool, {}, ToolContext(tmp_path)))


def test_invalid_arguments_never_reach_the_tool(tmp_path: Path) -> None:
    async def fine(attempt: int) -> str:
        return "ran"

    tool, calls = counting_tool(fine)
    with pytest.raises(ToolError, match="unknown argument 'x'"):
        asyncio.run(call_tool(tool, {"x": 1}, ToolContext(tmp_path)))
    assert calls == []
