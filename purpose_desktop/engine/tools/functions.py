"""Tools made from plain Python functions, and calling a tool safely.

:func:`tool_from_function` reads a function's signature and docstring and builds a
:class:`~purpose_desktop.engine.tools.base.Tool` whose flat JSON schema matches it::

    def add(a: int, b: int = 1) -> int:
        '''Add two whole numbers.

        Args:
            a: the first number
            b: the second number
        '''
        return a + b

    ADD = tool_from_function(add)

:func:`call_tool` is how the agent loop runs any tool: it checks the arguments against the
tool's schema, applies the tool's time limit and retries, and turns every failure the model
should hear about into a :class:`~purpose_desktop.engine.tools.base.ToolError`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from purpose_desktop.engine.tools.base import NOTHING_GIVEN, Tool, ToolContext, ToolError
from purpose_desktop.models.structured import validator_for

__all__ = ["call_tool", "tool_from_function", "validate_arguments"]

# OpenAI-compatible servers and llama.cpp grammars both accept names of this shape.
_TOOL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_JSON_TYPES: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
# Google-style section headers; "Args:" is read, the others only end it.
_SECTION = re.compile(
    r"(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Returns?|Yields?|"
    r"Raises|Examples?|Notes?|Attributes|See Also|Warnings?|Todo)\s*:\s*",
)
_ARGS_SECTIONS = frozenset({"Args", "Arguments", "Parameters", "Params"})
_ARG_LINE = re.compile(r"\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)")
_SHOWN_VALUE_CHARS = 60  # of an offending value quoted back in an error message


# --- building a tool from a function ----------------------------------------------------


@dataclass(frozen=True)
class _Parameter:
    name: str
    json_type: str  # what the JSON value is converted to before the call: "integer", ...


def tool_from_function(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    risky: bool = False,
    timeout: float = 30.0,
    retries: int = 0,
    keywords: Sequence[str] = (),
) -> Tool:
    """A :class:`Tool` that calls ``fn`` with the arguments the model gives.

    Parameters must be annotated ``str``, ``int``, ``float``, ``bool``, a ``Literal`` of
    strings or of integers (an ``enum``), ``X | None`` (read as ``X``), or
    ``Annotated[X, ...]``, whose mapping metadata is merged into the parameter's schema
    (``Annotated[str, {"maxLength": 4000}]``) and whose string metadata is its description.
    Parameters with defaults are optional; the schema allows no other keys. A parameter
    annotated :class:`ToolContext` receives the run's context and is left out of the schema.

    ``description`` defaults to the docstring's first paragraph, joined into one line (the
    prompt shows only its first line); parameter descriptions come from a Google-style
    ``Args:`` section. ``name`` defaults to ``fn.__name__``.

    ``fn`` may be async, or sync, in which case it runs in a worker thread (a thread cannot be
    stopped, so a sync function that overruns its time limit runs on in the background: keep
    sync tools bounded). Its return value becomes the observation: a ``str`` as it is,
    ``None`` as ``"done"``, anything else through ``str()``. It reports failures the model
    should hear about by raising :class:`ToolError`.

    Raises :class:`TypeError` for a signature that cannot be described (a missing or
    unsupported annotation, ``*args``/``**kwargs``, a positional-only parameter) and
    :class:`ValueError` for a bad name or a missing description: mistakes in the program,
    found when the tool is defined rather than when a model calls it.
    """
    tool_name = name if name is not None else getattr(fn, "__name__", "")
    if not _TOOL_NAME.fullmatch(tool_name):
        raise ValueError(
            f"{tool_name!r} cannot name a tool: use letters, digits, '_' and '-' (at most 64, "
            "starting with a letter); pass name=... for a lambda or a partial."
        )
    doc = inspect.getdoc(fn) or ""
    summary = description if description is not None else _first_paragraph(doc)
    if not summary.strip():
        raise ValueError(
            f"The {tool_name} tool needs a description: give {fn!r} a docstring "
            "or pass description=..."
        )
    documented = _documented_arguments(doc)

    try:
        signature = inspect.signature(fn, eval_str=True)
    except NameError as exc:  # an annotation that names something only imported for typing
        raise TypeError(f"Cannot read the type hints of {fn!r}: {exc}") from exc

    properties: dict[str, Any] = {}
    required: list[str] = []
    parameters: list[_Parameter] = []
    context_name: str | None = None
    for parameter in signature.parameters.values():
        where = f"parameter {parameter.name!r} of the {tool_name} tool"
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"{where}: *args and **kwargs cannot be described to a model.")
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise TypeError(f"{where}: tools are called with keyword arguments.")
        if parameter.annotation is parameter.empty:
            raise TypeError(f"{where} needs a type hint.")
        if parameter.annotation is ToolContext:
            if context_name is not None:
                raise TypeError(f"{where}: only one parameter can take the ToolContext.")
            context_name = parameter.name
            continue
        schema = _schema_for(parameter.annotation, where)
        if parameter.name in documented and "description" not in schema:
            schema["description"] = documented[parameter.name]
        if parameter.default is parameter.empty:
            required.append(parameter.name)
        elif isinstance(parameter.default, str | int | float | bool):
            schema.setdefault("default", parameter.default)
        properties[parameter.name] = schema
        parameters.append(_Parameter(parameter.name, _json_type(schema)))

    schema_object: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    Draft202012Validator.check_schema(schema_object)  # metadata merged from Annotated
    return Tool(
        name=tool_name,
        description=summary,
        parameters=schema_object,
        function=_caller(fn, tuple(parameters), context_name),
        risky=risky,
        timeout=timeout,
        retries=retries,
        keywords=tuple(keywords),
    )


def _caller(
    fn: Callable[..., Any], parameters: tuple[_Parameter, ...], context_name: str | None
) -> Callable[[Mapping[str, Any], ToolContext], Any]:
    is_async = inspect.iscoroutinefunction(fn) or (
        not inspect.isroutine(fn) and inspect.iscoroutinefunction(type(fn).__call__)
    )

    async def call(arguments: Mapping[str, Any], context: ToolContext) -> str:
        kwargs: dict[str, Any] = {
            p.name: _convert(arguments[p.name], p.json_type)
            for p in parameters
            if p.name in arguments
        }
        if context_name is not None:
            kwargs[context_name] = context
        if is_async:
            result = await fn(**kwargs)
        else:
            result = await asyncio.to_thread(fn, **kwargs)
            if inspect.isawaitable(result):  # a sync callable that hands back a coroutine
                result = await result
        return _as_text(result)

    call.__qualname__ = f"tool_from_function.<{getattr(fn, '__qualname__', fn)!s}>"
    return call


def _schema_for(annotation: Any, where: str) -> dict[str, Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        schema = _schema_for(base, where)
        for item in metadata:
            if isinstance(item, Mapping):
                schema.update(item)
            elif isinstance(item, str):
                schema["description"] = item
        return schema
    if origin in (Union, types.UnionType):
        # ``X | None``: actions are flat and every key is filled, so null never comes; the
        # default (None) applies when the key is left out.
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _schema_for(members[0], where)
        raise TypeError(f"{where}: a union of several types cannot be offered to a model.")
    if origin is Literal:
        values = list(get_args(annotation))
        if values and all(isinstance(v, str) for v in values):
            return {"type": "string", "enum": values}
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return {"type": "integer", "enum": values}
        raise TypeError(f"{where}: a Literal must list only strings or only integers.")
    if isinstance(annotation, type) and annotation in _JSON_TYPES:
        return {"type": _JSON_TYPES[annotation]}
    raise TypeError(
        f"{where} is annotated {annotation!r}; tools take str, int, float, bool or a Literal."
    )


def _json_type(schema: Mapping[str, Any]) -> str:
    declared = schema.get("type")
    return declared if isinstance(declared, str) else ""


def _convert(value: Any, json_type: str) -> Any:
    # JSON has one number type: 3 may arrive for a float and 3.0 for an int (the schema
    # allows both), but the function should get what its annotation says.
    if json_type == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if json_type == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return NOTHING_GIVEN
    return str(value)


def _first_paragraph(doc: str) -> str:
    lines: list[str] = []
    for line in doc.splitlines():
        stripped = line.strip()
        if not stripped or _SECTION.fullmatch(stripped):
            break
        lines.append(stripped)
    return " ".join(lines)


def _documented_arguments(doc: str) -> dict[str, str]:
    """The descriptions in a Google-style ``Args:`` section, by parameter name."""
    found: dict[str, str] = {}
    lines = doc.splitlines()
    in_section = False
    entry_indent: int | None = None
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if not in_section:
            header = _SECTION.fullmatch(stripped)
            in_section = bool(header and header.group(1) in _ARGS_SECTIONS and indent == 0)
            continue
        if not stripped:
            continue
        if indent == 0:  # the next section, or prose after the list
            break
        if entry_indent is None:
            entry_indent = indent
        match = _ARG_LINE.fullmatch(stripped)
        if indent <= entry_indent and match:
            current = match.group(1)
            found[current] = match.group(2).strip()
        elif current is not None:  # a continuation line of the current entry
            found[current] = f"{found[current]} {stripped}".strip()
    return found


# --- calling a tool ------------------------------------------------------------------------


def validate_arguments(tool: Tool, arguments: Any) -> None:
    """Check ``arguments`` against ``tool.parameters`` (JSON Schema 2020-12).

    Raises :class:`ToolError` naming each offending argument and what is wrong with it, in
    words a small model can act on: ``calculator: missing argument 'expression'``.
    """
    if not isinstance(arguments, Mapping):
        raise ToolError(
            f"{tool.name}: the arguments must be a JSON object, not {_shown(arguments)}."
        )
    validator = validator_for(tool.parameters)
    problems: list[str] = []
    for error in sorted(validator.iter_errors(dict(arguments)), key=_error_order):
        for problem in _describe_error(error, tool):
            if problem not in problems:
                problems.append(problem)
    if problems:
        raise ToolError(f"{tool.name}: " + "; ".join(problems) + ".")


async def call_tool(
    tool: Tool,
    arguments: Mapping[str, Any],
    context: ToolContext,
    *,
    retry_delay: float = 0.5,
) -> str:
    """Run ``tool`` with ``arguments``, returning its output (the observation).

    The arguments are checked first (:func:`validate_arguments`). Each attempt is stopped
    after ``tool.timeout`` seconds; a timeout, or a :class:`ToolError` marked ``retryable``,
    is tried ``tool.retries`` more times (waiting ``retry_delay`` seconds before retrying a
    retryable error, none after a timeout). After the last timeout it raises
    ``ToolError("<tool> took longer than N s and was stopped")``; the last retryable error is
    raised as it is.

    Any exception other than :class:`ToolError` (a ``TimeoutError`` the tool raised itself
    included) is a bug in the tool and propagates. Cancelling the caller cancels the tool.
    """
    validate_arguments(tool, arguments)
    attempts = max(0, tool.retries) + 1
    for attempt in range(1, attempts + 1):
        last = attempt == attempts
        # asyncio.timeout rather than wait_for: the tool runs in the caller's task (no extra
        # task to leak), and expired() tells our timeout from a TimeoutError of the tool's.
        scope = asyncio.timeout(tool.timeout)
        try:
            async with scope:
                result = await tool.function(arguments, context)
        except TimeoutError:
            if not scope.expired():
                raise
            if last:
                raise ToolError(
                    f"{tool.name} took longer than {tool.timeout:g} s and was stopped"
                ) from None
            continue
        except ToolError as exc:
            if not exc.retryable or last:
                raise
            await asyncio.sleep(retry_delay)
            continue
        if not isinstance(result, str):
            raise TypeError(f"The {tool.name} tool returned {type(result).__name__}, not str.")
        return result
    raise AssertionError("unreachable: the last attempt returns or raises")


def _error_order(error: ValidationError) -> tuple[str, ...]:
    return tuple(str(part) for part in error.absolute_path)


def _describe_error(error: ValidationError, tool: Tool) -> list[str]:
    path = list(error.absolute_path)
    instance = error.instance
    if error.validator == "required" and isinstance(instance, Mapping):
        wanted = error.validator_value if isinstance(error.validator_value, list) else []
        return [f"missing argument '{key}'" for key in wanted if key not in instance]
    if error.validator == "additionalProperties" and isinstance(instance, Mapping):
        known = (
            list((error.schema or {}).get("properties", {}))
            if isinstance(error.schema, Mapping)
            else []
        )
        takes = ", ".join(f"'{k}'" for k in known) or "no arguments"
        return [
            f"unknown argument '{key}' ({tool.name} takes {takes})"
            for key in instance
            if key not in known
        ]
    subject = f"argument '{path[0]}'" if path else "the arguments"
    return [f"{subject} {_value_problem(error)}"]


def _value_problem(error: ValidationError) -> str:
    """What is wrong with one value, as the end of a sentence about it."""
    instance, expected = error.instance, error.validator_value
    if error.validator == "type":
        return f"must be {_type_words(expected)}, not {_shown(instance)}"
    if error.validator == "enum" and isinstance(expected, list):
        choices = ", ".join(_shown(v) for v in expected)
        return f"must be one of {choices}, not {_shown(instance)}"
    if error.validator == "maxLength" and isinstance(instance, str):
        return f"is too long ({len(instance)} characters, at most {expected})"
    if error.validator == "minLength" and isinstance(instance, str):
        return f"is too short (at least {expected} characters)"
    return f"is not valid: {error.message}"


def _type_words(expected: Any) -> str:
    words = {
        "string": "a string",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "object": "an object",
        "array": "a list",
        "null": "null",
    }
    names = [expected] if isinstance(expected, str) else list(expected or [])
    return " or ".join(words.get(str(n), str(n)) for n in names) or "something else"


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > _SHOWN_VALUE_CHARS:
        text = text[: _SHOWN_VALUE_CHARS - 1] + "…"
    return text
