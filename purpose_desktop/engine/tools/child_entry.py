"""How the tools' child processes start, from source or from a frozen build.

From source a child is the interpreter (``python -c`` the python tool's program, ``python -m``
the user tools' worker). A frozen build has no interpreter of its own to run that way: its
executable starts again with one of these arguments first, and the ``purpose-desktop`` command
hands over to the child's program before anything else. Kept apart from the tools so that the
command recognises a child without importing them.
"""

from __future__ import annotations

import sys

PYTHON_TOOL_ARGUMENT = "__python-tool"
"""Makes a frozen build's executable run the python tool's child program."""
USER_TOOL_ARGUMENT = "__user-tool"
"""Makes a frozen build's executable run the user tools' worker."""


def frozen_command(argument: str) -> list[str] | None:
    """The frozen build's command for a child, ``[executable, argument]``; None from source.
    A frozen build whose executable is unknown cannot start one: that is an error."""
    if not getattr(sys, "frozen", False):
        return None
    if not sys.executable:
        raise RuntimeError("this build cannot find its own executable to start a tool with")
    return [sys.executable, argument]
