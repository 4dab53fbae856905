"""An agent's action as a person reads it: one line in place of the JSON its model wrote.

The GUI's streams and the CLI show a step this way once its action is known; the raw tokens
stay available for whoever wants to see exactly what the model produced.
"""

from __future__ import annotations

import json
import re
from typing import Any

from purpose_desktop.engine.trajectory import DELEGATE, FINISH, Action

#: A tool argument's value is cut to about this many characters: the line is a summary, and a
#: file's whole content or a long script would bury the call it belongs to.
ARGUMENT_CHARS = 120
# Backslashes at the end of cut JSON text, with the start of a \uXXXX escape after them.
_OPEN_ESCAPE = re.compile(r"(\\+)(u[0-9a-fA-F]{0,3})?$")


def describe_action(action: Action) -> str:
    """``action`` on one line, its thought left out (show it apart, more quietly):

    - a tool call reads as a call, ``calculator(expression="17*23")``, each value as JSON and
      long ones cut to :data:`ARGUMENT_CHARS` with an ellipsis;
    - finishing reads ``Final answer: 391``, the whole answer with its line breaks as spaces;
    - delegating reads ``Hand over to helper: "multiply 17 by 23"``.
    """
    arguments = dict(action.arguments)
    if action.tool == FINISH:
        return f"Final answer: {_flat(str(arguments.get('answer', '')))}".rstrip()
    if action.tool == DELEGATE:
        task = json.dumps(_flat(str(arguments.get("task", ""))), ensure_ascii=False)
        return f"Hand over to {arguments.get('agent', '?')}: {task}"
    shown = ", ".join(f"{name}={_value(value)}" for name, value in arguments.items())
    return f"{action.tool}({shown})"


def _flat(text: str) -> str:
    return " ".join(text.split())


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    if len(text) <= ARGUMENT_CHARS:
        return text
    cut = text[: ARGUMENT_CHARS - 2]
    if not isinstance(value, str):
        return cut + "…"
    # Not in the middle of an escape (\n, \u0001), and closed again, so the value
    # still reads as a string.
    escape = _OPEN_ESCAPE.search(cut)
    if escape is not None and len(escape[1]) % 2:
        cut = cut[: escape.end(1) - 1]
    return cut + '…"'
