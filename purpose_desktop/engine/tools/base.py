"""What a tool is: a name, a description, JSON-schema arguments, and an async function.

The built-in tools take flat arguments (strings, numbers, booleans), which small models fill
most reliably; an MCP server's tool may take arrays and nested objects as its schema says.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from purpose_desktop.errors import UserError

#: What a tool that worked and gave nothing back is observed to have given.
NOTHING_GIVEN = "done"


class ToolError(UserError):
    """The tool could not do what was asked; the message becomes the agent's observation.

    ``retryable`` marks a passing failure (a busy resource) worth trying again.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass
class Notes:
    """The run's scratchpad: what the notes tool wrote, shared by the run's agents."""

    entries: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ToolContext:
    """What a tool may touch during one run: its workspace folder and the run's notes."""

    workspace: Path
    notes: Notes = field(default_factory=Notes)


ToolFunction = Callable[[Mapping[str, Any], ToolContext], Awaitable[str]]


@dataclass(frozen=True)
class ToolHints:
    """What an MCP server says about one of its tools (its annotations ``readOnlyHint``,
    ``destructiveHint`` and ``openWorldHint``); ``None`` where it says nothing."""

    read_only: bool | None = None
    destructive: bool | None = None
    open_world: bool | None = None


@dataclass(frozen=True)
class Tool:
    """A tool an agent can call.

    ``parameters`` is the JSON schema of the arguments object (an MCP server's tool has the
    schema its server gives). ``risky`` tools (they run code or change
    files) ask for review under the "risky" policy. A call that runs longer than ``timeout``
    seconds is stopped; timeouts and retryable :class:`ToolError` are tried ``retries`` more
    times. ``keywords`` help choose the tool for a task (tool RAG) beyond its description.
    ``hints`` are an MCP server's annotations of its tool (``None`` for other tools).
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    function: ToolFunction
    risky: bool = False
    timeout: float = 30.0
    retries: int = 0
    keywords: tuple[str, ...] = ()
    hints: ToolHints | None = None
