"""Absolute paths a small model copies from its task wrongly, put right.

SmolLM2-135M, asked for a call whose argument is a path the task gives
(``/home/ana/report.pdf``), writes ``home/ana/report.pdf`` or ``~/etc/hosts`` under the
agent's prompt: the leading ``/`` dropped, or a ``~`` put before it. Such a path names another
file, or none. Where the task holds exactly one absolute path that the argument is, but for
its leading ``/`` and ``~``, and the task does not itself give the argument as it is, the
argument is that path (docs/benchmarks.md, Tool calls). So it is where no path is that, but
exactly one ends as an argument that is not itself absolute does:
``http://localhost:8080/etc/hosts`` for ``/etc/hosts``, ``jr/docs.txt`` for
``/tmp/jr/docs``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

from purpose_desktop.engine.trajectory import DELEGATE, FINISH, Action

# A word of running text: up to the next space, quote or bracket.
_WORD: Final = re.compile(r"[^\s\"'`()<>\[\]{},;]+")
# What ends a sentence or a phrase rather than a path.
_TRAILING: Final = ".?!:…*"
# An argument named for a path: "path", "repo_path", "source", "destination", "folder".
_PATH_KEY: Final = re.compile(r"path|file|dir|folder|source|destination", re.IGNORECASE)


def restore_paths(action: Action, task: str) -> Action:
    """``action`` (a tool's call) with each string argument (top level, or in a list) that
    is one of ``task``'s absolute paths copied wrongly replaced by that path; ``action``
    itself when there is none, or when it finishes or hands over. Only a path of two parts
    or more is put right (``home/ana``, not ``help`` for ``/help`` or ``2`` for ``1 /2``).
    A path written with another start or an extension (:func:`_ends_like`) is put right
    only in an argument named for a path (``path``, ``source``, ``repo_path``...), when no
    other argument of the call is that path already: "copy /a/docs/plan.txt" to
    ``backup/docs/plan.txt`` keeps its destination."""
    if action.tool in (FINISH, DELEGATE):
        return action
    words = {found.group().rstrip(_TRAILING) for found in _WORD.finditer(task)}
    paths = tuple(word for word in words if word.startswith("/") and len(word) > 1)
    if not paths:
        return action
    given = {text.strip() for text in _strings(action.arguments.values())}
    loose = tuple(path for path in paths if path not in given)
    arguments = {
        key: _restored(value, paths, words, loose if _PATH_KEY.search(key) else ())
        for key, value in action.arguments.items()
    }
    if arguments == dict(action.arguments):
        return action
    return dataclasses.replace(action, arguments=arguments)


def _strings(values: Iterable[Any]) -> Iterator[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, list):
            yield from (item for item in value if isinstance(item, str))


def _restored(value: Any, paths: tuple[str, ...], words: set[str], loose: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return _path_meant(value, paths, words, loose)
    if isinstance(value, list):
        return [
            _path_meant(item, paths, words, loose) if isinstance(item, str) else item
            for item in value
        ]
    return value


def _path_meant(value: str, paths: tuple[str, ...], words: set[str], loose: tuple[str, ...]) -> str:
    """The one of ``paths`` that ``value`` is, copied wrongly: but for its leading ``/``
    and ``~``, or, among ``loose``, ending as it does; ``value`` itself otherwise."""
    written = value.strip()
    if written in words:
        return value  # the task gives it as it is: "copy /data/a.csv to data/a.csv"
    bare = written.lstrip("~/")
    if "/" not in bare.rstrip("/"):
        return value
    meant = sorted(path for path in paths if path.strip("/") == bare.rstrip("/"))
    # An absolute one may be a new file; one with spaces is not a path.
    if not meant and not written.startswith("/") and not re.search(r"\s", written):
        meant = sorted(path for path in loose if _ends_like(bare, path))
    return meant[0] if len(meant) == 1 else value


def _ends_like(written: str, path: str) -> bool:
    """Whether ``written`` ends as ``path`` does, in its last two parts, an extension aside
    where ``path`` ends without one: ``http://localhost/etc/hosts`` or ``jr/docs.txt`` for
    ``/tmp/jr/docs``, but not ``/tmp/jr/docs/a.txt``, a path under it, nor
    ``etc/app.conf.bak`` for ``/etc/app.conf``."""
    tail = path.strip("/").split("/")[-2:]
    parts = [part for part in written.rstrip("/").split("/") if part][-2:]
    if len(tail) < 2 or len(parts) < 2:
        return False
    last = parts[-1]
    if "." not in tail[-1]:
        last = last.partition(".")[0]
    return [parts[0], last] == tail
