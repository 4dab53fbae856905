"""The actions an agent may take, as a JSON schema, as prompt text, and as a validator.

One object per choice, the tool's arguments beside its name, united with ``anyOf``::

    {"tool": "calculator", "expression": "17*23", "thought": "multiply"}

Measured with SmolLM2-135M under a llama.cpp grammar: branches whose ``tool`` key comes first,
then the tool's required parameters, then ``thought`` work well (with the thought first the
model rambles, and a nested ``arguments`` object goes badly). Those keys are required and no
other key is allowed, so the grammar leaves the model no room to wander. A tool's optional
parameters follow the thought and may be left out. Every string has a ``maxLength`` and every
array a ``maxItems``, so that an answer cannot run to the token limit inside one; parameters
may be objects, arrays, enums and unions as the tool's schema says, its local ``$ref`` s
written out in place.

The same schema is written into the prompt by :func:`describe_actions`, because some backends
drop schema features they cannot enforce. Whatever comes back, constrained or not, is checked
by :func:`validate_action`, which also repairs what is obviously meant (a number where a string
is wanted, an older ``{"tool": ..., "arguments": {...}}`` shape).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jsonschema.exceptions import ValidationError

from purpose_desktop.engine.text import one_line
from purpose_desktop.engine.tools.base import Tool
from purpose_desktop.engine.trajectory import DELEGATE, FINISH, Action
from purpose_desktop.models.structured import ModelOutputError, validator_for

TOOL_KEY = "tool"
THOUGHT_KEY = "thought"
THOUGHT_MAX_LENGTH = 100
DEFAULT_STRING_MAX_LENGTH = 200
"""Given to a tool's string parameter that sets no ``maxLength`` of its own. A tool whose
parameter carries longer text (the content of a file) sets its own, e.g. 2000."""
DEFAULT_MAX_ITEMS = 4
"""Given to a tool's array that sets no ``maxItems`` of its own; small models tend to fill an
array to its limit, repeating themselves."""
NESTED_MAX_ITEMS = 3
"""Given instead of :data:`DEFAULT_MAX_ITEMS` to an array inside an array."""
ITEM_STRING_MAX_LENGTH = 60
"""Given instead of :data:`DEFAULT_STRING_MAX_LENGTH` to a string inside an array: a small
model that repeats items should still close the answer within the token limit."""
OPTIONAL_MARK = " (optional)"
_QUOTED_STRING = '"..."'  # a string in a list, as prompt text
_TYPE_TEXT_DEPTH = 3  # nesting shown in the prompt; deeper parts are shown as "object" or "array"
ANSWER_MAX_LENGTH = 500
TASK_MAX_LENGTH = 160
DESCRIPTION_MAX_CHARS = 120
ONE_LINE_TEMPLATE = r'^[^"\\{{}}\x00-\x1f]{{0,{max_length}}}$'
"""The pattern (a template for its length) of a string on one line, with no quote,
backslash or brace: what a hand-over's task and a thought are. Raw, so that a grammar can
hold it without escapes; without braces, so that a model that means to close its JSON closes
the string first."""

# Keys that older prompts and other agent frameworks use for the tool's name, and for its
# arguments (an object, or a single value for a tool with one parameter).
_TOOL_ALIASES = ("tool", "action", "tool_name", "function", "name")
_ARGUMENT_CONTAINERS = ("arguments", "args", "parameters", "action_input", "tool_input", "input")
_FINISH_ALIASES = frozenset({"finish", "final_answer", "answer", "final", "done"})
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class ActionParseError(ModelOutputError):
    """The model's answer is not a valid action; ``text`` holds the answer as it came.

    A :class:`~purpose_desktop.models.structured.ModelOutputError`, so a
    :class:`~purpose_desktop.errors.ModelError`: the message says what was expected and is
    fit to show to the model on a retry, or to a person.
    """


# --- the schema -------------------------------------------------------------------------


def action_schema(
    tools: Sequence[Tool], *, can_finish: bool = True, teammates: Sequence[str] = ()
) -> dict[str, Any]:
    """The JSON schema of one action: ``anyOf`` one object per tool, ``finish`` (when
    ``can_finish``) and ``delegate`` (when there are ``teammates``).

    The schema guides generation; it is not the whole check. What a grammar cannot hold (a
    recursive ``$ref``, ``not``, formats) is left open here and checked by
    :func:`validate_action` against the tool's own schema.

    Raises :class:`ValueError` for tools that cannot be offered: a duplicate or reserved name
    (``finish``, ``delegate``), or a parameter called ``tool`` or ``thought``.
    """
    _check_tools(tools)
    branches = [
        _branch(tool.name, _generation_properties(tool), _required_order(tool)) for tool in tools
    ]
    if can_finish:
        branches.append(_branch(FINISH, _finish_properties(), _FINISH_KEYS))
    if teammates:
        branches.append(_branch(DELEGATE, _delegate_properties(teammates), _DELEGATE_KEYS))
    if not branches:
        raise ValueError("An action schema needs at least one tool, finish or a teammate.")
    return {"anyOf": branches}


def _check_tools(tools: Sequence[Tool]) -> None:
    seen: set[str] = set()
    for tool in tools:
        check_tool(tool)
        if tool.name in seen:
            raise ValueError(f'Two tools are called "{tool.name}".')
        seen.add(tool.name)


def check_tool(tool: Tool) -> None:
    """Raise :class:`ValueError` when ``tool`` cannot be offered in an action: its name is
    reserved (``finish``, ``delegate``), or it has a parameter called ``tool`` or
    ``thought``."""
    if tool.name in (FINISH, DELEGATE):
        raise ValueError(f'A tool cannot be called "{tool.name}": the name is reserved.')
    for name in _properties(tool.parameters):
        if name in (TOOL_KEY, THOUGHT_KEY):
            raise ValueError(
                f'The {tool.name} tool has a parameter called "{name}", which actions '
                "use for themselves."
            )


def _properties(parameters: Mapping[str, Any]) -> dict[str, Any]:
    properties = parameters.get("properties") or {}
    return {str(name): spec for name, spec in properties.items()}


def _types(spec: Any) -> set[str]:
    if not isinstance(spec, Mapping):
        return set()
    declared = spec.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {str(t) for t in declared}
    return set()


# Keywords that only annotate a schema: left out of the one a grammar is built from.
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "definitions", "title", "description", "default", "examples"}
)
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
# Every key of finish and delegate is required.
_FINISH_KEYS = ("answer",)
_DELEGATE_KEYS = ("agent", "task")


def _generation_properties(tool: Tool) -> dict[str, Any]:
    """The tool's parameters as a grammar should generate them: local ``$ref`` s written out,
    every string bounded by a ``maxLength`` and every array by a ``maxItems``."""
    root = tool.parameters
    return {
        name: _for_generation(spec, root, (), in_array=False)
        for name, spec in _properties(root).items()
    }


def _for_generation(
    spec: Any, root: Mapping[str, Any], refs: tuple[str, ...], *, in_array: bool
) -> Any:
    if not isinstance(spec, Mapping):
        return spec  # true or false: any value, or none
    ref = spec.get("$ref")
    if isinstance(ref, str):
        target = _referenced(ref, root)
        if target is None or ref in refs:
            # A reference elsewhere, or back into itself: no grammar can follow it, so the
            # value is left open here and checked after generation.
            return {}
        rest = {key: value for key, value in spec.items() if key != "$ref"}
        return _for_generation({**target, **rest}, root, (*refs, ref), in_array=in_array)
    copy: dict[str, Any] = {}
    for key, value in spec.items():
        if key in _ANNOTATIONS:
            continue
        if key in _SUBSCHEMA_LISTS and isinstance(value, list):
            inside = in_array or key == "prefixItems"
            copy[key] = [_for_generation(item, root, refs, in_array=inside) for item in value]
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            copy[key] = _for_generation(value, root, refs, in_array=in_array or key == "items")
            if key == "items" and not copy[key]:
                # Items of any kind. llama-cpp-python's converter reads an empty "items" as
                # missing and then fails looking for "prefixItems".
                del copy[key]
        elif key == "properties" and isinstance(value, Mapping):
            copy[key] = {
                str(name): _for_generation(item, root, refs, in_array=in_array)
                for name, item in value.items()
            }
        else:
            copy[key] = value
    types = _types(copy)
    bounded = "enum" in copy or "const" in copy
    if "string" in types and "maxLength" not in copy and not bounded:
        copy["maxLength"] = ITEM_STRING_MAX_LENGTH if in_array else DEFAULT_STRING_MAX_LENGTH
    if "array" in types and "maxItems" not in copy and not bounded:
        copy["maxItems"] = NESTED_MAX_ITEMS if in_array else DEFAULT_MAX_ITEMS
    return copy


def _referenced(ref: str, root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """What a local reference (``#/$defs/Name``) in ``root`` points at; ``None`` for any
    other."""
    if not ref.startswith("#/"):
        return None
    target: Any = root
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or key not in target:
            return None
        target = target[key]
    return target if isinstance(target, Mapping) else None


def _required_order(tool: Tool) -> tuple[str, ...]:
    return tuple(str(name) for name in tool.parameters.get("required", ()))


def _finish_properties() -> dict[str, Any]:
    return {"answer": {"type": "string", "maxLength": ANSWER_MAX_LENGTH}}


def _one_line(max_length: int) -> dict[str, Any]:
    # A pattern as well as a length: under a grammar, a small model that may not start a new
    # line closes the string instead of rambling on below it.
    return {
        "type": "string",
        "maxLength": max_length,
        "pattern": ONE_LINE_TEMPLATE.format(max_length=max_length),
    }


def _delegate_properties(teammates: Sequence[str]) -> dict[str, Any]:
    return {
        "agent": {"type": "string", "enum": list(teammates)},
        "task": _one_line(TASK_MAX_LENGTH),
    }


def _branch(name: str, properties: Mapping[str, Any], required: Sequence[str]) -> dict[str, Any]:
    # The tool's own required parameters come first, in their order, then the thought, then
    # the optional ones: llama.cpp's grammar writes required keys before optional ones, and
    # the prompt shows the keys in this same order.
    needed = [key for key in required if key in properties]
    all_properties: dict[str, Any] = {TOOL_KEY: {"const": name}}
    all_properties.update((key, properties[key]) for key in needed)
    all_properties[THOUGHT_KEY] = _one_line(THOUGHT_MAX_LENGTH)
    all_properties.update((key, spec) for key, spec in properties.items() if key not in needed)
    return {
        "type": "object",
        "properties": all_properties,
        "required": [TOOL_KEY, *needed, THOUGHT_KEY],
        "additionalProperties": False,
    }


# --- the prompt text ----------------------------------------------------------------------


def describe_actions(
    tools: Sequence[Tool],
    *,
    can_finish: bool = True,
    teammates: Sequence[str] = (),
    finish_first: bool = False,
) -> str:
    """One line per choice, the JSON to write and what it does, e.g.::

        {"tool": "calculator", "expression": string, "thought": string}  — evaluate arithmetic

    The lines follow the order and keys of :func:`action_schema`, finishing last unless
    ``finish_first``; an optional key is marked :data:`OPTIONAL_MARK`, and nested objects and
    arrays are shown in the same notation.
    """
    lines = [
        _describe(tool.name, _generation_properties(tool), _required_order(tool), tool.description)
        for tool in tools
    ]
    if can_finish:
        finish = _describe(
            FINISH, _finish_properties(), _FINISH_KEYS, "Give the final answer to the task."
        )
        lines.insert(0 if finish_first else len(lines), finish)
    if teammates:
        lines.append(
            _describe(
                DELEGATE,
                _delegate_properties(teammates),
                _DELEGATE_KEYS,
                "Hand a task to a teammate.",
                # The teammates' names are nowhere else in the prompt.
                values=True,
            )
        )
    return "\n".join(lines)


def _describe(
    name: str,
    properties: Mapping[str, Any],
    required: Sequence[str],
    description: str,
    *,
    values: bool = False,
) -> str:
    branch = _branch(name, properties, required)
    needed = set(branch["required"])
    fields = [f'"{TOOL_KEY}": {json.dumps(name, ensure_ascii=False)}']
    fields += [
        _field_text(key, spec, key in needed, values=values)
        for key, spec in branch["properties"].items()
        if key != TOOL_KEY
    ]
    summary = _first_line(description)
    return "{" + ", ".join(fields) + "}" + (f"  — {summary}" if summary else "")


def _first_line(text: str) -> str:
    line = text.strip().split("\n", 1)[0].strip()
    if len(line) > DESCRIPTION_MAX_CHARS:
        line = line[: DESCRIPTION_MAX_CHARS - 1].rstrip() + "…"
    return line


def _field_text(key: str, spec: Any, required: bool, depth: int = 0, *, values: bool) -> str:
    text = f"{json.dumps(key, ensure_ascii=False)}: {type_text(spec, depth, values=values)}"
    return text if required else text + OPTIONAL_MARK


def type_text(spec: Any, depth: int = 0, *, values: bool = True) -> str:
    """A parameter's type as prompt text: ``string``, ``integer``, ``"a"|"b"``,
    ``["...", ...]``, ``{"name": string, "size": integer (optional)}``.

    Without ``values`` a choice of strings (a parameter's own, not a nested part's) is shown
    as ``string``: shown its values in an action line, SmolLM2 writes the first whatever the
    task says, while the grammar holds it to them anyway and the task's own word is then its
    likeliest (docs/benchmarks.md)."""
    if not isinstance(spec, Mapping):
        return "value"
    if "const" in spec:
        return json.dumps(spec["const"], ensure_ascii=False)
    if isinstance(spec.get("enum"), list):
        return _enum_text(spec["enum"], values)
    for key in ("anyOf", "oneOf"):
        if isinstance(spec.get(key), list):
            texts = [type_text(item, depth, values=values) for item in spec[key]]
            return "|".join(dict.fromkeys(texts))
    types = _types(spec)
    nested = _nested_text(spec, types, depth) if depth < _TYPE_TEXT_DEPTH else None
    if nested is not None:
        return nested
    return "|".join(sorted(types)) if types else "value"


def _enum_text(enum: list[Any], values: bool) -> str:
    if not values and enum and all(isinstance(value, str) for value in enum):
        return "string"
    return "|".join(json.dumps(value, ensure_ascii=False) for value in enum)


def _nested_text(spec: Mapping[str, Any], types: set[str], depth: int) -> str | None:
    """An array's or object's shape as prompt text, ``None`` when it has none to show. Its
    parts' choices are shown: given a nested part's as ``string``, SmolLM2 rambled on."""
    if "array" in types and isinstance(spec.get("items"), Mapping):
        item = type_text(spec["items"], depth + 1)
        # Shown "[string, ...]", SmolLM2 writes [""] for a list of names or paths the task
        # gives; shown quoted, it copies them in.
        return f"[{_QUOTED_STRING if item == 'string' else item}, ...]"
    properties = spec.get("properties")
    if "object" in types and isinstance(properties, Mapping) and properties:
        needed = set(spec.get("required", ()))
        fields = [
            _field_text(str(key), item, key in needed, depth + 1, values=True)
            for key, item in properties.items()
        ]
        return "{" + ", ".join(fields) + "}"
    return None


# --- validation -------------------------------------------------------------------------


def validate_action(
    value: Any,
    tools: Sequence[Tool],
    teammates: Sequence[str] = (),
    *,
    can_finish: bool = True,
    text: str | None = None,
) -> Action:
    """The :class:`Action` ``value`` (a parsed JSON object) stands for.

    Checked against the chosen tool's own ``parameters`` with jsonschema, whatever of them a
    grammar could not hold included (the ``maxLength`` and ``maxItems`` that
    :func:`action_schema` adds guard generation only, and are not enforced here). Before
    checking, what is obviously meant is repaired:

    * a tool named in another case or with spaces (``"Calculator"``), ``"Final Answer"`` for
      finish, and a teammate's name in another case;
    * the tool under ``action``/``name`` instead of ``tool``; its arguments nested under
      ``arguments``/``args``/``action_input``/``input`` (an object, a JSON string of one, or a
      single value for a tool with a single required parameter);
    * scalar mismatches: a number or boolean where a string is wanted becomes its JSON text,
      ``"3"`` where an integer is wanted becomes 3, ``"2.5"`` for a number 2.5, ``"true"`` for
      a boolean True; inside objects and arrays too;
    * an array or object written as JSON text in a string, and a single value where an array
      of such values is wanted (``"a.txt"`` for ``["a.txt"]``);
    * a text, object or array repeated in an array right after itself, which is kept once.

    Keys the tool does not declare are dropped, unless its schema allows more, and so is a
    ``null`` for a parameter that is not required. Raises
    :class:`ActionParseError` naming the field at fault; ``text`` is the raw answer it
    carries (by default ``value`` as JSON).
    """
    raw = text if text is not None else _as_json(value)
    if not isinstance(value, Mapping):
        raise ActionParseError(
            f'Expected a JSON object with a "{TOOL_KEY}" key, got {_kind(value)}.', raw
        )
    fields = {str(key): item for key, item in value.items()}
    by_name = {tool.name: tool for tool in tools}
    choices = [*by_name, *([FINISH] if can_finish else []), *([DELEGATE] if teammates else [])]
    name = _resolve_name(_pop_tool_name(fields, raw, choices), choices, raw)
    thought = _as_text(fields.pop(THOUGHT_KEY, fields.pop("thoughts", "")))

    parameters = _parameters_of(name, by_name, teammates)
    properties = _properties(parameters)
    _unpack_containers(name, fields, parameters, raw)
    extra = parameters.get("additionalProperties", False) is not False
    required = set(parameters.get("required", ()))
    arguments = {
        key: fields[key]
        for key in properties
        if key in fields and (fields[key] is not None or key in required)
    }
    if extra:
        arguments.update((k, v) for k, v in fields.items() if k not in properties)
    for key, spec in properties.items():
        if key in arguments:
            arguments[key] = _coerce(arguments[key], spec)

    errors = sorted(
        validator_for(parameters).iter_errors(arguments),
        key=lambda e: (list(map(str, e.path)), str(e.validator)),
    )
    if errors:
        raise ActionParseError(_explain(name, errors[0], properties), raw)
    if name == DELEGATE:
        arguments["task"] = _subtask(arguments["task"], raw)
    return Action(tool=name, arguments=arguments, thought=thought)


def _subtask(task: str, raw: str) -> str:
    """A hand-over's task as one clean line: a teammate given a model's rambling as its task
    rambles on."""
    line = one_line(task)
    if not line:
        raise ActionParseError('The "delegate" action\'s "task" is empty: say what to do.', raw)
    return line


def _as_json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "an array"
    if value is None:
        return "null"
    return type(value).__name__


def _pop_tool_name(fields: dict[str, Any], raw: str, choices: Sequence[str]) -> Any:
    for key in _TOOL_ALIASES:
        if key in fields and isinstance(fields[key], str):
            return fields.pop(key)
    if TOOL_KEY in fields:
        return fields.pop(TOOL_KEY)
    raise ActionParseError(
        f'The action has no "{TOOL_KEY}" key: write {{"{TOOL_KEY}": ...}} with one of '
        f"{', '.join(choices)}.",
        raw,
    )


def _normal(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().casefold())


def _resolve_name(name: Any, choices: Sequence[str], raw: str) -> str:
    listed = ", ".join(choices)
    if not isinstance(name, str):
        raise ActionParseError(
            f'"{TOOL_KEY}" must be a string naming one of {listed}, got {_kind(name)}.', raw
        )
    if name in choices:
        return name
    normal = _normal(name)
    for choice in choices:
        if _normal(choice) == normal:
            return choice
    if FINISH in choices and normal in _FINISH_ALIASES:
        return FINISH
    raise ActionParseError(f'Unknown tool "{name}": choose one of {listed}.', raw)


def _parameters_of(
    name: str, by_name: Mapping[str, Tool], teammates: Sequence[str]
) -> Mapping[str, Any]:
    if name == FINISH:
        return {
            "type": "object",
            "properties": {"answer": {"type": "string"}},
            "required": ["answer"],
        }
    if name == DELEGATE:
        # The task's length and pattern guard generation; a task of several lines is cut to
        # its first line after validation.
        return {
            "type": "object",
            "properties": {**_delegate_properties(teammates), "task": {"type": "string"}},
            "required": ["agent", "task"],
        }
    return by_name[name].parameters


def _single_parameter(parameters: Mapping[str, Any]) -> str | None:
    """The parameter a lone value goes to: the only required one, or the only one."""
    required = list(parameters.get("required", ()))
    if len(required) == 1:
        return str(required[0])
    properties = _properties(parameters)
    if not required and len(properties) == 1:
        return next(iter(properties))
    return None


def _unpack_containers(
    name: str, fields: dict[str, Any], parameters: Mapping[str, Any], raw: str
) -> None:
    """Move arguments nested under ``arguments``/``input``/... up into ``fields``."""
    properties = _properties(parameters)
    for key in _ARGUMENT_CONTAINERS:
        if key not in fields or key in properties:
            continue
        content = fields.pop(key)
        if content is None or (isinstance(content, str) and not content.strip()):
            continue  # an empty input, as for a tool without parameters
        if isinstance(content, str) and content.strip().startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                content = json.loads(content, strict=False)
        if isinstance(content, Mapping):
            for inner, item in content.items():
                fields.setdefault(str(inner), item)
            continue
        target = _single_parameter(parameters)
        if target is None:
            wanted = ", ".join(f'"{p}"' for p in properties) or "no arguments"
            raise ActionParseError(
                f'The "{name}" action got a single "{key}" value but takes {wanted}: '
                "write each as its own key.",
                raw,
            )
        fields.setdefault(target, content)


def _coerce(value: Any, spec: Any) -> Any:
    """``value`` turned into the type ``spec`` wants, when that is obviously what was meant,
    inside objects and arrays too."""
    if not isinstance(spec, Mapping):
        return value
    enum = spec.get("enum")
    if isinstance(enum, list) and isinstance(value, str) and value not in enum:
        matches = [e for e in enum if isinstance(e, str) and e.casefold() == value.casefold()]
        if len(matches) == 1:
            value = matches[0]
    types = _types(spec)
    if types & {"array", "object"}:
        return _coerce_container(value, spec, types)
    declared = spec.get("type")
    coercion = _COERCIONS.get(declared) if isinstance(declared, str) else None
    return value if coercion is None else coercion(value)


def _coerce_container(value: Any, spec: Mapping[str, Any], types: set[str]) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        # An array or object written as JSON text inside a string.
        with contextlib.suppress(json.JSONDecodeError, RecursionError):
            value = json.loads(value, strict=False)
    items = spec.get("items")
    if "array" in types and isinstance(items, Mapping):
        if not isinstance(value, list | Mapping) and not _types(items) & {"array"}:
            value = [value]  # one value where a list of such values is wanted
        if isinstance(value, list):
            return _without_repeats([_coerce(item, items) for item in value])
    properties = spec.get("properties")
    if "object" in types and isinstance(value, Mapping) and isinstance(properties, Mapping):
        return {
            key: _coerce(item, properties[key]) if key in properties else item
            for key, item in value.items()
        }
    return value


def _without_repeats(items: list[Any]) -> list[Any]:
    """``items`` without a text, object or array that repeats the one before it: small models
    under a grammar write the same item again until the array is full."""
    kept: list[Any] = []
    for item in items:
        structured = isinstance(item, str | Mapping | list)
        if not (kept and structured and item == kept[-1]):
            kept.append(item)
    return kept


def _to_string(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, bool | int | float) else value


def _to_integer(value: Any) -> Any:
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _to_number(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    stripped = value.strip()
    if _INTEGER.fullmatch(stripped):
        return int(stripped)
    if not _NUMBER.fullmatch(stripped):
        return value
    number = float(stripped)
    return number if math.isfinite(number) else value


def _to_boolean(value: Any) -> Any:
    if isinstance(value, str) and value.strip().casefold() in ("true", "false"):
        return value.strip().casefold() == "true"
    return value


_COERCIONS: dict[str, Callable[[Any], Any]] = {
    "string": _to_string,
    "integer": _to_integer,
    "number": _to_number,
    "boolean": _to_boolean,
}


def _explain(name: str, error: ValidationError, properties: Mapping[str, Any]) -> str:
    if error.validator == "required" and not error.path and isinstance(error.instance, Mapping):
        wanted = error.validator_value if isinstance(error.validator_value, list) else []
        missing = [str(k) for k in wanted if k not in error.instance]
        field = missing[0] if missing else "?"
        return f'The "{name}" action needs "{field}" ({type_text(properties.get(field))}).'
    if len(error.path) == 1:
        field = str(error.path[0])
        return (
            f'The "{name}" action\'s "{field}" should be {type_text(properties.get(field))}: '
            f"{error.message}."
        )
    if error.path:
        return f'The "{name}" action\'s {_location(error.path)} is not valid: {error.message}.'
    return f'The "{name}" action is not valid: {error.message}.'


def _location(path: Sequence[Any]) -> str:
    """Where in the arguments a value is: ``"edits"[0]."newText"``."""
    return "".join(
        f"[{part}]" if isinstance(part, int) else ("." if index else "") + json.dumps(part)
        for index, part in enumerate(path)
    )


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return _as_json(value)
