"""The child program behind the user's own tools: ``python -m`` this module.

It is the only place the user's Python files are imported, so that a file that hangs,
crashes the interpreter or leaves threads behind cannot harm the app. It reads one request,
a JSON object, on stdin:

* ``{"action": "discover", "folder": ..., "limits": {...}}`` imports each ``*.py`` file of
  the folder whose name does not start with ``_`` and describes every public function
  defined in it with :func:`~purpose_desktop.engine.tools.functions.tool_from_function`;
* ``{"action": "call", "folder": ..., "file": ..., "function": ..., "arguments": {...},
  "limits": {...}}`` imports that one file and calls the function with the arguments.

It answers in JSON lines on its own copy of stdout: ``{"loading": FILE}`` before a file is
imported, ``{"file": FILE, "tools": [...], "problems": [...]}`` after it; a call answers
``{"result": TEXT}`` or ``{"error": "ValueError: ..."}``. What the user's code prints goes
to stderr, so it cannot garble the answers.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import os
import sys
import traceback
from collections.abc import Awaitable
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from purpose_desktop.engine.tools.python_runner import apply_limits

#: Module names the user's files are imported under: kept apart from any module of the same
#: name (a file called ``json.py`` must not stand in for the standard library's).
MODULE_PREFIX = "purpose_user_tool__"


def main() -> int:
    """Run the request on stdin; the exit status is 0 when an answer was written."""
    channel = _private_stdout()
    request = json.loads(sys.stdin.read())
    apply_limits(request.get("limits", {}))
    folder = Path(request["folder"])
    # Helper modules beside the tools (``_common.py``) import as they would in a script.
    sys.path.insert(0, str(folder))
    if request["action"] == "discover":
        for file in sorted(folder.glob("*.py")):
            if not file.name.startswith("_") and file.is_file():
                _send(channel, {"loading": file.name})
                _send(channel, _describe_file(file))
        return 0
    _send(channel, _call(folder / request["file"], request["function"], request["arguments"]))
    return 0


def _private_stdout() -> IO[str]:
    """A copy of stdout for the answers; file descriptor 1 (and ``print``) goes to stderr."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    return channel


def _send(channel: IO[str], message: dict[str, Any]) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def _import(file: Path) -> ModuleType:
    name = MODULE_PREFIX + file.stem
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"{file.name} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look their module up by name
    spec.loader.exec_module(module)
    return module


def _public_functions(module: ModuleType) -> list[Any]:
    """The functions defined in ``module`` itself, in the order they are defined: not those
    it imported, not those whose names start with ``_``."""
    return [
        value
        for name, value in vars(module).items()
        if not name.startswith("_")
        and inspect.isfunction(value)
        and value.__module__ == module.__name__
    ]


def _describe_file(file: Path) -> dict[str, Any]:
    from purpose_desktop.engine.tools.functions import tool_from_function

    tools: list[dict[str, Any]] = []
    problems: list[str] = []
    try:
        module = _import(file)
    except BaseException as exc:  # anything the user's file raises is reported
        problems.append(f"cannot be loaded: {_reason(exc)}")
        return {"file": file.name, "tools": tools, "problems": problems}
    for function in _public_functions(module):
        if not (inspect.getdoc(function) or "").strip():
            problems.append(f"{function.__name__}: needs a docstring (the tool's description)")
            continue
        try:
            tool = tool_from_function(function)
        except (TypeError, ValueError) as exc:
            problems.append(f"{function.__name__}: {exc}")
            continue
        tools.append(
            {
                "name": tool.name,
                "function": function.__name__,
                "description": tool.description,
                "parameters": dict(tool.parameters),
            }
        )
    return {"file": file.name, "tools": tools, "problems": problems}


def _call(file: Path, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    from purpose_desktop.engine.tools.base import ToolContext, ToolError
    from purpose_desktop.engine.tools.functions import tool_from_function

    try:
        module = _import(file)
        function = vars(module).get(name)
        if not inspect.isfunction(function):
            return {"error": f"{file.name} no longer defines {name}()"}
        tool = tool_from_function(function)
    except BaseException as exc:  # the file changed since it was listed
        return {"error": f"{file.name} cannot be loaded: {_reason(exc)}"}
    try:
        result = asyncio.run(_awaited(tool.function(arguments, ToolContext(Path.cwd()))))
    except ToolError as exc:  # the function's own message for the model, as it is
        return {"error": str(exc)}
    except BaseException as exc:  # the user's exception becomes the answer
        return {"error": _reason(exc)}
    return {"result": result}


async def _awaited(result: Awaitable[str]) -> str:
    return await result


def _reason(exc: BaseException) -> str:
    """The last line of the exception's traceback (``ValueError: no such city``); a syntax
    error says its line."""
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


if __name__ == "__main__":
    sys.exit(main())
