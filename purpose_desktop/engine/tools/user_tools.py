"""The user's own tools: Python functions in the home folder's ``tools`` folder.

Every ``*.py`` file of the folder whose name does not start with ``_`` is read, and each
public function defined in it (not imported, its name not starting with ``_``) becomes a
tool named after the function, described by its docstring and type hints as
:func:`~purpose_desktop.engine.tools.functions.tool_from_function` describes it::

    # tools/greetings.py
    def greet(name: str, excited: bool = False) -> str:
        '''Greet someone by name.

        Args:
            name: who to greet
        '''
        return f"Hello, {name}{'!' if excited else '.'}"

The user's code never runs in the app's process: finding the tools imports the files in a
child process (:mod:`~purpose_desktop.engine.tools.user_tool_worker`), and each call runs
the function in a fresh child process of the same interpreter, with the run's workspace as
its working folder, the app's environment, and limits like the python tool's: wall time
(:data:`DEFAULT_TIMEOUT` unless given), CPU time, address space (:data:`MEMORY_LIMIT`) and no
core dumps. An exception the function raises becomes a
:class:`~purpose_desktop.engine.tools.base.ToolError` with its last traceback line; so does
a crash or a timeout. User tools are risky: they run code the app cannot vouch for.

A file that cannot be imported and a function that cannot be described are problems,
reported with the file and the reason; the other tools still load. So is a function named
like a built-in tool, or like a function of another file (the later file's is left out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from purpose_desktop.engine.tools.base import Tool, ToolContext, ToolError
from purpose_desktop.engine.tools.child_entry import USER_TOOL_ARGUMENT, frozen_command
from purpose_desktop.engine.tools.names import BUILTIN_TOOL_NAMES, tool_key, user_tool_files
from purpose_desktop.engine.tools.python_runner import kill_process_group, signal_name

__all__ = [
    "DEFAULT_TIMEOUT",
    "DISCOVERY_TIMEOUT",
    "MEMORY_LIMIT",
    "USER",
    "UserTools",
    "discover_user_tools",
    "folder_state",
    "joined",
]

#: The ``source`` of a user tool in listings.
USER: Final = "user"
DEFAULT_TIMEOUT: Final = 30.0
"""Seconds one call of a user tool may take."""
DISCOVERY_TIMEOUT: Final = 60.0
"""Seconds importing all the files of the folder may take."""
MEMORY_LIMIT: Final = 2 * 1024 * 1024 * 1024
"""Bytes of address space a user tool's process may use (POSIX; not enforced on macOS)."""
MAX_ANSWER_BYTES: Final = 4 * 1024 * 1024
"""More than this from the child (a huge result) stops it."""
_KILL_GRACE: Final = 5.0  # the tool's own limit exceeds its child's, whose message is clearer
_STDERR_TAIL: Final = 2000  # characters of the child's stderr kept to explain a crash
_WORKER: Final = "purpose_desktop.engine.tools.user_tool_worker"


@dataclass(frozen=True)
class UserTools:
    """The tools found in ``folder`` and what is wrong with the rest, one line each
    (``/home/me/tools/weather.py: cannot be loaded: ModuleNotFoundError: ...``)."""

    folder: Path
    tools: tuple[Tool, ...] = ()
    problems: tuple[str, ...] = ()
    _by_key: Mapping[str, Tool] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {tool_key(tool.name): tool for tool in self.tools})

    def get(self, name: str) -> Tool | None:
        """The tool called ``name`` (case, ``-`` and spaces forgiven), or ``None``."""
        return self._by_key.get(tool_key(name))

    def describe_missing(self, name: str) -> str:
        """Why there is no tool ``name``: the built-in and user tools there are, and the
        problems that may have kept the one meant from loading."""
        mine = ", ".join(tool.name for tool in self.tools) or "none"
        text = (
            f"There is no tool called '{name}'. The built-in tools are: "
            f"{', '.join(BUILTIN_TOOL_NAMES)}; your own tools (in {self.folder}): {mine}."
        )
        if self.problems:
            text += f" Problems with your tools: {joined(self.problems)}"
        return text


async def discover_user_tools(
    folder: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (each tool's limit, not this call's)
    discovery_timeout: float = DISCOVERY_TIMEOUT,
) -> UserTools:
    """The tools of the Python files in ``folder``, found in a child process.

    A missing or empty folder has none and no problems, and starts no process. Each tool may
    run ``timeout`` seconds per call. Nothing is raised for the user's files: what goes wrong
    (a file that does not import, a function that cannot be described, a duplicate name,
    importing that takes longer than ``discovery_timeout`` seconds or crashes) is in
    :attr:`UserTools.problems`.
    """
    files = await asyncio.to_thread(user_tool_files, folder)
    if not files:
        return UserTools(folder)
    command = _interpreter_command()
    if command is None:
        return UserTools(folder, problems=(f"{folder}: {_NO_INTERPRETER}",))
    request = {"action": "discover", "folder": str(folder), "limits": _limits(discovery_timeout)}
    try:
        ended = await _run_worker(command, request, cwd=folder, seconds=discovery_timeout)
    except ToolError as exc:  # the interpreter could not be started at all
        return UserTools(folder, problems=(f"{folder}: {exc}",))
    tools: list[Tool] = []
    problems: list[str] = []
    taken: dict[str, str] = {tool_key(name): "a built-in tool" for name in BUILTIN_TOOL_NAMES}
    loading: str | None = None
    for answer in ended.answers:
        if "loading" in answer:
            loading = str(answer["loading"])
            continue
        loading = None
        file = folder / str(answer["file"])
        problems += [f"{file}: {problem}" for problem in answer["problems"]]
        for entry in answer["tools"]:
            key = tool_key(entry["name"])
            if key in taken:
                problems.append(
                    f"{file}: {entry['name']}: {taken[key]} has this name; this one is left out"
                )
                continue
            taken[key] = f"the function in {file}"
            tools.append(_user_tool(folder, file.name, entry, timeout))
    if not ended.finished:
        if loading is not None:  # the file being imported when it ended
            problems.append(f"{folder / loading}: {ended.describe('importing it')}")
        else:
            problems.append(f"{folder}: {ended.describe('finding the tools')}")
    return UserTools(folder, tuple(tools), tuple(problems))


def folder_state(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when a Python file of ``folder`` is added, removed or edited (names,
    sizes and modification times): tools found earlier are found again when it changes."""
    state: list[tuple[str, int, int]] = []
    with contextlib.suppress(OSError):
        for file in sorted(folder.glob("*.py")):
            with contextlib.suppress(OSError):
                info = file.stat()
                state.append((file.name, info.st_size, info.st_mtime_ns))
    return tuple(state)


def joined(problems: Iterable[str]) -> str:
    """``problems`` in one sentence: "a; b; c."."""
    return "; ".join(problem.rstrip(".") for problem in problems) + "."


# --- one tool -----------------------------------------------------------------------------


def _user_tool(folder: Path, file: str, entry: Mapping[str, Any], timeout: float) -> Tool:
    name = str(entry["name"])
    function = str(entry["function"])

    async def call(arguments: Mapping[str, Any], context: ToolContext) -> str:
        command = _interpreter_command()
        if command is None:
            raise ToolError(f"{name}: {_NO_INTERPRETER}")
        try:
            await asyncio.to_thread(context.workspace.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            raise ToolError(f"{name}: cannot prepare the workspace: {exc}") from exc
        request = {
            "action": "call",
            "folder": str(folder),
            "file": file,
            "function": function,
            "arguments": dict(arguments),
            "limits": _limits(timeout),
        }
        ended = await _run_worker(command, request, cwd=context.workspace, seconds=timeout)
        for answer in ended.answers:
            if "error" in answer:
                raise ToolError(f"{name} failed: {answer['error']}")
            if "result" in answer:
                return str(answer["result"])
        raise ToolError(ended.describe(name))

    return Tool(
        name=name,
        description=str(entry["description"]),
        parameters=entry["parameters"],
        function=call,
        risky=True,
        timeout=timeout + _KILL_GRACE,
        keywords=tuple(part for part in name.lower().split("_") if part),
    )


# --- the child process ----------------------------------------------------------------------

_NO_INTERPRETER: Final = "your own tools need a Python interpreter to run in, and none was found"


@dataclass(frozen=True)
class _Ended:
    """How a child ended: its answers (JSON lines), whether it wrote them all, and why not."""

    answers: tuple[dict[str, Any], ...]
    exit_code: int | None
    timed_out: bool
    overflow: bool
    stderr_tail: str
    seconds: float

    @property
    def finished(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.overflow

    def describe(self, what: str) -> str:
        """Why the child gave no (complete) answer, in one line."""
        if self.timed_out:
            return f"{what} took longer than {self.seconds:g} s and was stopped"
        if self.overflow:
            return f"{what} gave more than {MAX_ANSWER_BYTES // (1024 * 1024)} MiB and was stopped"
        if self.exit_code is not None and self.exit_code < 0:
            how = f"was killed by {signal_name(-self.exit_code)}"
        else:
            how = f"ended its process (exit status {self.exit_code})"
        last = next(
            (ln.strip() for ln in reversed(self.stderr_tail.splitlines()) if ln.strip()), ""
        )
        return f"{what} {how} before answering" + (f": {last[:300]}" if last else "")


def _interpreter_command() -> list[str] | None:
    frozen = frozen_command(USER_TOOL_ARGUMENT)
    if frozen is not None:
        return frozen
    if not sys.executable:
        return None
    # -I: no user site-packages or PYTHON* variables; -X utf8: the same encoding everywhere.
    return [sys.executable, "-I", "-B", "-X", "utf8", "-m", _WORKER]


def _limits(seconds: float) -> dict[str, list[int]]:
    cpu = math.ceil(seconds) + 1  # wall time stops it first; this catches a busy loop's CPU
    return {
        "RLIMIT_CPU": [cpu, cpu + 1],
        "RLIMIT_CORE": [0, 0],
        "RLIMIT_AS": [MEMORY_LIMIT, MEMORY_LIMIT],
    }


async def _run_worker(
    command: list[str], request: dict[str, Any], *, cwd: Path, seconds: float
) -> _Ended:
    """Start the worker, send ``request``, read its answers within ``seconds``; the child is
    killed and waited for on every way out, cancellation included."""
    options: dict[str, Any] = {}
    if os.name == "posix":
        options["start_new_session"] = True  # its own process group, killed as a whole
    else:
        options["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(
            subprocess, "CREATE_NO_WINDOW", 0
        )
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            limit=MAX_ANSWER_BYTES,  # the longest answer line read
            **options,
        )
    except OSError as exc:
        raise ToolError(f"could not start Python for your tools: {exc}") from exc
    answers: list[dict[str, Any]] = []
    tail: list[str] = [""]
    overflow = timed_out = False
    try:
        try:
            async with asyncio.timeout(seconds):
                await _send(process, json.dumps(request).encode("utf-8"))
                stderr = asyncio.ensure_future(_stderr(process, tail))
                try:
                    overflow = not await _answers(process, answers)
                    if overflow:
                        kill_process_group(process)
                    await stderr
                finally:
                    stderr.cancel()
                await process.wait()
        except TimeoutError:
            timed_out = True
    finally:
        if process.returncode is None:
            kill_process_group(process)
            await process.wait()
    return _Ended(tuple(answers), process.returncode, timed_out, overflow, tail[0], seconds)


async def _send(process: asyncio.subprocess.Process, data: bytes) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write(data)
        await process.stdin.drain()
        process.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the child died before reading; how it ended says why


async def _answers(process: asyncio.subprocess.Process, answers: list[dict[str, Any]]) -> bool:
    """Read the child's JSON lines into ``answers``; ``False`` when it sent too much."""
    assert process.stdout is not None
    received = 0
    while True:
        try:
            line = await process.stdout.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            return True  # the end, or a last line cut short by a crash
        except asyncio.LimitOverrunError:
            return False
        received += len(line)
        if received > MAX_ANSWER_BYTES:
            return False
        with contextlib.suppress(ValueError):  # a line cut short by a crash
            answer = json.loads(line)
            if isinstance(answer, dict):
                answers.append(answer)


async def _stderr(process: asyncio.subprocess.Process, tail: list[str]) -> None:
    """Keep the last characters of what the child wrote to stderr in ``tail[0]``."""
    assert process.stderr is not None
    while chunk := await process.stderr.read(64 * 1024):
        tail[0] = (tail[0] + chunk.decode("utf-8", "replace"))[-_STDERR_TAIL:]
