"""Absolute paths a small model copies from its task wrongly, put right.

SmolLM2-135M, asked for a call whose argument is a path the task gives
(``/home/ana/report.pdf``), writes ``home/ana/report.pdf`` or ``~/etc/hosts`` under the
agent's prompt: the leading ``/`` dropped, or a ``~`` put before it. Such a path names another
file, or none. Where the task holds exactly one absolute path that the argument is, but for
its leading ``/`` and ``~``, the argument is that path (docs/benchmarks.md, Tool calls).
"""

from __future__ import annotations

import re
from typing import Any, Final

from purpose_desktop.engine.trajectory import Action

# A path in running text: from a "/" that follows no word, path or address (12/4, and/or,
# https://) to the next space, quote or bracket.
_ABSOLUTE: Final = re.compile(r"(?<![\w~./:-])/[^\s\"'`()<>\[\]{},;]+")
_SENTENCE_END: Final = ".?!:"


def restore_paths(action: Action, task: str) -> Action:
    """``action`` with each string argument (top level, or in a list) that is one of
    ``task``'s absolute paths copied wrongly replaced by that path; ``action`` itself when
    there is none."""
    paths = _absolute_paths(task)
    if not paths:
        return action
    arguments = {key: _restored(value, paths) for key, value in action.arguments.items()}
    if arguments == dict(action.arguments):
        return action
    return Action(action.tool, arguments, action.thought)


def _absolute_paths(task: str) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(found.group().rstrip(_SENTENCE_END) for found in _ABSOLUTE.finditer(task))
    )


def _restored(value: Any, paths: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return _path_meant(value, paths)
    if isinstance(value, list):
        return [_path_meant(item, paths) if isinstance(item, str) else item for item in value]
    return value


def _path_meant(value: str, paths: tuple[str, ...]) -> str:
    if value in paths:
        return value
    bare = value.strip().lstrip("~/")
    meant = [path for path in paths if path.lstrip("/") == bare]
    return meant[0] if bare and len(meant) == 1 else value
