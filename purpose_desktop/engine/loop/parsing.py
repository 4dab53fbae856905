"""Read an action out of a model's answer when nothing constrained it to JSON.

A grammar (llama.cpp) makes the answer the JSON of
:func:`~purpose_desktop.engine.loop.action_schema.
action_schema`; other backends and models write around it. The fallbacks are tried in order,
and the first thing found that is a valid action wins:

1. ``json``: the whole answer as JSON;
2. ``code-block``: JSON inside a fenced code block (```` ```json ... ``` ```` or ```` ``` ````),
   also one left open at the end of the answer;
3. ``json``: the first balanced ``{...}`` object in the answer, prose around it ignored;
4. ``xml``: tags such as ``<tool>calculator</tool><expression>2+2</expression>``, or
   ``<action>``/``<input>``, or ``<answer>`` for the final answer;
5. ``keywords``: ReAct lines (``Action: calculator`` / ``Action Input: 17*23`` /
   ``Final Answer: 391``) or ``tool: calculator`` with one line per parameter.

JSON is read leniently: raw control characters may stand in strings, a trailing comma before
``}`` or ``]`` is dropped, and an object cut off by the token limit is closed (the thought
comes last, so a cut usually takes only part of it). Single-quoted, Python-style objects are
not accepted. Where a model wrote several steps (inventing the observations in between), the
first action is taken. Every action found goes through :func:`validate_action`; when none is
valid, the error of the first one found is raised, and when none is found at all, an error
saying what was expected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from purpose_desktop.engine.loop.action_schema import (
    THOUGHT_KEY,
    TOOL_KEY,
    ActionParseError,
    validate_action,
)
from purpose_desktop.engine.tools.base import Tool
from purpose_desktop.engine.trajectory import DELEGATE, FINISH, Action

__all__ = ["ActionParseError", "ParseMethod", "ParsedAction", "parse_action"]

ParseMethod = Literal["json", "code-block", "xml", "keywords"]

PREVIEW_CHARS = 120
_MAX_OBJECT_STARTS = 64  # braces tried as the start of an object, to bound the work

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*([\w+-]*)[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_TAG = re.compile(r"<([A-Za-z_][\w-]*)(?:\s[^<>]*)?>(.*?)</\1\s*>", re.DOTALL)
_KEY_LINE = re.compile(
    r"^\s*(?:[-*>]\s+)?\**\s*([A-Za-z][A-Za-z0-9 _-]{0,30}?)\s*\**\s*:\s*\**[ \t]*(.*)$"
)
_CALL = re.compile(r"^([A-Za-z_][\w.-]*)\s*[(\[](.*)[)\]]$", re.DOTALL)
_KEYWORD_ARGUMENT = re.compile(r"^([A-Za-z_]\w*)\s*=\s*(.+)$", re.DOTALL)

_NAME_KEYS = ("tool", "action", "tool_name", "function", "name")
_INPUT_KEYS = ("action_input", "tool_input", "input", "arguments", "args")
_ANSWER_KEYS = ("final_answer", "answer")
_STOP_KEYS = ("observation", "result")  # what a model invents after its action


@dataclass(frozen=True)
class ParsedAction:
    action: Action
    method: ParseMethod


def parse_action(
    text: str,
    tools: Sequence[Tool],
    teammates: Sequence[str] = (),
    *,
    can_finish: bool = True,
) -> ParsedAction:
    """The action in ``text`` and how it was found.

    Raises :class:`ActionParseError` (carrying ``text``) when no valid action is in it.
    """
    cleaned = _THINK.sub("", text).strip()
    first_error: ActionParseError | None = None
    for method, value in _candidates(cleaned, tools):
        try:
            action = validate_action(value, tools, teammates, can_finish=can_finish, text=text)
        except ActionParseError as exc:
            first_error = first_error or exc
            continue
        return ParsedAction(action, method)
    if first_error is not None:
        raise first_error
    raise ActionParseError(_nothing_found(cleaned, tools, teammates, can_finish), text)


def _nothing_found(
    text: str, tools: Sequence[Tool], teammates: Sequence[str], can_finish: bool
) -> str:
    choices = [t.name for t in tools] + [FINISH] * can_finish + [DELEGATE] * bool(teammates)
    example = choices[0] if choices else "..."
    expected = (
        f'Expected one action as a JSON object, like {{"{TOOL_KEY}": "{example}", ...,'
        f' "{THOUGHT_KEY}": "..."}}, with "{TOOL_KEY}" one of {", ".join(choices)}'
    )
    if not text:
        return f"{expected}; the answer was empty."
    if "{" in text:
        return f"{expected}; the answer holds no valid JSON object: {_preview(text)}"
    return f"{expected}; found none in the answer: {_preview(text)}"


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > PREVIEW_CHARS:
        flat = flat[: PREVIEW_CHARS - 1] + "…"
    return json.dumps(flat, ensure_ascii=False)


def _candidates(text: str, tools: Sequence[Tool]) -> Iterator[tuple[ParseMethod, Any]]:
    """What might be the action, best guesses first."""
    whole = _loads(text)
    if isinstance(whole, list) and whole and isinstance(whole[0], dict):
        whole = whole[0]  # an action wrapped in an array
    if isinstance(whole, dict):
        yield "json", whole
    for match in _FENCE.finditer(text):
        for found in _objects(match.group(2)):
            yield "code-block", found
    for found in _objects(text):
        yield "json", found
    from_tags = _from_fields(_xml_fields(text), tools)
    if from_tags is not None:
        yield "xml", from_tags
    from_lines = _from_fields(_keyword_fields(text), tools)
    if from_lines is not None:
        yield "keywords", from_lines


# --- JSON --------------------------------------------------------------------------------


def _loads(text: str) -> Any:
    """``text`` as JSON, forgiving raw control characters and trailing commas; else None."""
    for attempt in (text, _TRAILING_COMMA.sub(r"\1", text)):
        try:
            return json.loads(attempt, strict=False)
        except json.JSONDecodeError:
            continue
    return None


def _objects(text: str) -> Iterator[dict[str, Any]]:
    """The JSON objects that stand in ``text``, in order; one cut off at the end is closed."""
    position = 0
    starts = 0
    while starts < _MAX_OBJECT_STARTS:
        start = text.find("{", position)
        if start < 0:
            return
        starts += 1
        end, attempts = _balanced(text, start)
        for attempt in attempts:
            value = _loads(attempt)
            if isinstance(value, dict):
                yield value
                break
        else:
            position = start + 1  # not an object: one may start inside it
            continue
        if end is None:
            return
        position = end


def _balanced(text: str, start: int) -> tuple[int | None, list[str]]:
    """Where the object starting at ``start`` ends, and the texts to try as that object.

    An object still open at the end of ``text`` (cut off) comes back closed: once with its
    open string and brackets closed, once cut after its last complete member.
    """
    closers: list[str] = []
    in_string = escaped = False
    last_member: tuple[int, str] | None = None  # a comma between members, and what was open
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            escaped, in_string = _in_string(char, escaped)
        elif char == '"':
            in_string = True
        elif char in "{[":
            closers.append("}" if char == "{" else "]")
        elif char in "}]":
            if closers.pop() != char:
                return index + 1, []
            if not closers:
                return index + 1, [text[start : index + 1]]
        elif char == ",":
            last_member = (index, "".join(reversed(closers)))
    cut = text[start:-1] if escaped else text[start:]
    attempts = [cut + ('"' if in_string else "") + "".join(reversed(closers))]
    if last_member is not None:
        comma, closing = last_member
        attempts.append(text[start:comma] + closing)
    return None, attempts


def _in_string(char: str, escaped: bool) -> tuple[bool, bool]:
    """After ``char`` inside a string: whether the next character is escaped, and whether
    the string goes on."""
    if escaped:
        return False, True
    if char == "\\":
        return True, True
    return False, char != '"'


# --- XML ---------------------------------------------------------------------------------


def _xml_fields(text: str) -> list[tuple[str, str]]:
    """The innermost ``<name>value</name>`` pairs in ``text``, in order."""
    fields: list[tuple[str, str]] = []
    for match in _TAG.finditer(text):
        inner = match.group(2)
        nested = _xml_fields(inner) if "<" in inner else []
        if nested:
            fields.extend(nested)
        else:
            fields.append((_key(match.group(1)), inner.strip()))
    return fields


# --- keywords ----------------------------------------------------------------------------


def _keyword_fields(text: str) -> list[tuple[str, str]]:
    """``Key: value`` lines in order (a value runs on over the lines that follow it), up to
    the observation or the next action a model may invent after its first."""
    fields: list[tuple[str, list[str]]] = []
    named = False
    offset = 0
    for line in text.splitlines(keepends=True):
        line_start, offset = offset, offset + len(line)
        match = _KEY_LINE.match(line.rstrip("\r\n"))
        if match is None:
            if fields and not line.strip().startswith("```"):
                fields[-1][1].append(line.rstrip("\r\n"))
            continue
        key = re.sub(r"_\d+$", "", _key(match.group(1)))  # "Action 1:" is "Action:"
        if named and key in (*_STOP_KEYS, *_NAME_KEYS, "final_answer"):
            break
        if key in _ANSWER_KEYS and not named:
            # A final answer runs to the end, over lines that may look like keys.
            fields.append((key, [text[line_start + match.start(2) :]]))
            break
        named = named or key in _NAME_KEYS
        fields.append((key, [match.group(2)]))
    return [(key, "\n".join(lines).strip()) for key, lines in fields]


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().casefold())


# --- from fields to an action ---------------------------------------------------------------


def _strip_quotes(value: str) -> str:
    value = value.strip()
    for left, right in (('"', '"'), ("'", "'"), ("`", "`"), ("“", "”")):
        if len(value) >= 2 and value.startswith(left) and value.endswith(right):
            return value[1:-1].strip()
    return value


def _from_fields(fields: list[tuple[str, str]], tools: Sequence[Tool]) -> dict[str, Any] | None:
    """An action object from named fields (XML tags or keyword lines); the first of each
    name counts. None when they name no tool and give no answer."""
    first: dict[str, str] = {}
    for key, text in fields:
        first.setdefault(key, text)
    name = next((first.pop(k) for k in _NAME_KEYS if k in first), None)
    value: dict[str, Any] = {}
    if name is None:
        answer = next((first[k] for k in _ANSWER_KEYS if k in first), None)
        if answer is None:
            return None
        value = {TOOL_KEY: FINISH, "answer": _strip_quotes(answer)}
    else:
        name = _strip_quotes(name)
        call = _CALL.match(name)
        if call:  # calculator(17*23), calculator[17*23], read_file(path="a.txt")
            name, inside = call.group(1), _strip_quotes(call.group(2))
            keyword = _KEYWORD_ARGUMENT.match(inside)
            if keyword and _declares(tools, name, keyword.group(1)):
                value[keyword.group(1)] = _strip_quotes(keyword.group(2))
            elif inside:
                value["input"] = inside
        value = {TOOL_KEY: name, **value}
        for key in _INPUT_KEYS:
            if key in first:
                value.setdefault("input", _strip_quotes(first.pop(key)))
                break
    if "final_answer" in first:
        first.setdefault("answer", first.pop("final_answer"))
    for key, item in first.items():
        if key not in value:
            value[key] = item if key == THOUGHT_KEY else _strip_quotes(item)
    return value


def _declares(tools: Sequence[Tool], tool: str, parameter: str) -> bool:
    for candidate in tools:
        if _key(candidate.name) == _key(tool):
            return parameter in (candidate.parameters.get("properties") or {})
    return False
