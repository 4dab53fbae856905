"""The limits every input from outside is held to: team files, settings, imported files, tasks,
names and command-line numbers. They live here, in one place, so that the checks and the
documentation (docs/team-files.md, docs/persistence.md, the README's settings) agree.

Each check raises :class:`LimitError`, a :class:`~purpose_desktop.errors.UserError` with a
message for the person who wrote the input. It is a ``ValueError`` too, so that a check used
in a pydantic validator becomes a validation error that names the field.
"""

from __future__ import annotations

from purpose_desktop.errors import UserError

#: Lists and mappings inside one another in any file the app reads.
MAX_NESTING = 50
#: Values a document may expand to, YAML aliases counted at every place they stand for.
MAX_VALUES = 100_000
#: Agents in one team.
MAX_AGENTS = 100
#: Characters in a name (a team's, an agent's, a server's).
MAX_NAME_CHARS = 120
#: Characters in a task.
MAX_TASK_CHARS = 100_000
#: The largest integer a database column holds (SQLite and PostgreSQL ``BIGINT``).
MAX_STORED_INT = 2**63 - 1


class LimitError(UserError, ValueError):
    """An input is outside what the app accepts; the message says what and why."""


def check_text(text: str, what: str) -> str:
    """``text`` unchanged when it is text that can be stored and shown: no lone surrogate (a
    byte that was not UTF-8, carried through by the operating system's decoding)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LimitError(
            f"{what} is not valid text: character {exc.start + 1} "
            f"(U+{ord(text[exc.start]):04X}) is half a character or a byte that "
            "is not UTF-8"
        ) from None
    return text


def check_task(task: str) -> str:
    """A task as given, if it says something: not blank, text, at most
    :data:`MAX_TASK_CHARS` characters."""
    check_text(task, "The task")
    if not task.strip():
        raise LimitError("The task is empty: say what the team should do.")
    if len(task) > MAX_TASK_CHARS:
        raise LimitError(
            f"The task is {len(task):,} characters long; at most {MAX_TASK_CHARS:,} are accepted."
        )
    return task


def check_name(name: str, what: str) -> str:
    """``name`` stripped, if it can be shown and used in a file name as it is: printable
    characters only (no control or terminal escape codes), no path separators, not ``.`` or
    ``..``, at most :data:`MAX_NAME_CHARS` characters."""
    check_text(name, what)
    name = name.strip()
    if not name:
        raise LimitError(f"{what} is empty.")
    if len(name) > MAX_NAME_CHARS:
        raise LimitError(f"{what} is {len(name)} characters long; at most {MAX_NAME_CHARS}.")
    if not name.isprintable():
        bad = next(c for c in name if not c.isprintable())
        raise LimitError(
            f"{what} holds the control character U+{ord(bad):04X}; use printable characters only."
        )
    if "/" in name or "\\" in name or name in (".", ".."):
        raise LimitError(f"{what} {name!r} must not contain '/' or '\\' or be '.' or '..'.")
    return name


def check_int(value: object, what: str, low: int, high: int) -> int:
    """``value`` if it is a whole number (``True`` is not one) from ``low`` to ``high``."""
    if type(value) is not int:
        raise LimitError(f"{what} must be a whole number, not {value!r}.")
    if not low <= value <= high:
        shown = f"{value:,}" if abs(value) < 10**18 else "a number that large"
        raise LimitError(f"{what} must be from {low:,} to {high:,}, not {shown}.")
    return value


def shown(text: str, most: int = 80) -> str:
    """``text`` as it may be printed in a message: every character that is not printable
    (a line break, a terminal escape code, half a character) written as its escape, and cut
    to ``most`` characters. What a person typed is echoed back so, never raw."""
    safe = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return safe if len(safe) <= most else safe[: most - 1] + "…"
