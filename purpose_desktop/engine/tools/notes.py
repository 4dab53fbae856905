"""The notes tools: a scratchpad the agents of one run share (``context.notes``).

``note`` appends a line; ``read_notes`` shows them all, numbered. A small model forgets what
scrolled out of its context: a note keeps a fact for later steps and for its teammates.
"""

from __future__ import annotations

from typing import Annotated, Final

from purpose_desktop.engine.tools.base import Tool, ToolContext, ToolError
from purpose_desktop.engine.tools.functions import tool_from_function

__all__ = ["MAX_NOTE_CHARS", "NOTE", "READ_NOTES", "note", "read_notes"]

MAX_NOTE_CHARS: Final = 500
MAX_NOTES: Final = 200  # a model stuck in a loop should not fill the run's memory


async def note(text: Annotated[str, {"maxLength": MAX_NOTE_CHARS}], context: ToolContext) -> str:
    """Write down a fact to remember for later steps; teammates can read it too.

    Args:
        text: the fact to keep, in one or two sentences
    """
    entry = " ".join(text.split())  # one line: notes are read back one per line
    if not entry:
        raise ToolError("the note is empty: give the text to remember")
    if len(entry) > MAX_NOTE_CHARS:
        raise ToolError(f"the note is too long ({len(entry)} characters; at most {MAX_NOTE_CHARS})")
    entries = context.notes.entries
    if len(entries) >= MAX_NOTES:
        raise ToolError(f"the notes are full ({MAX_NOTES}); read_notes shows what is kept")
    entries.append(entry)
    return f"noted ({len(entries)} note{'s' if len(entries) != 1 else ''} so far)"


async def read_notes(context: ToolContext) -> str:
    """Read the notes written so far in this run."""
    entries = context.notes.entries
    if not entries:
        return "no notes yet"
    return "\n".join(f"{number}. {entry}" for number, entry in enumerate(entries, start=1))


NOTE: Final[Tool] = tool_from_function(
    note,
    keywords=(
        "note",
        "notes",
        "remember",
        "record",
        "jot",
        "keep",
        "memo",
        "scratchpad",
        "fact",
        "later",
    ),
)
"""``note(text)``: appends to the run's notes; not risky."""

READ_NOTES: Final[Tool] = tool_from_function(
    read_notes,
    keywords=(
        "notes",
        "note",
        "recall",
        "remember",
        "earlier",
        "previous",
        "memo",
        "scratchpad",
        "remembered",
        "noted",
    ),
)
"""``read_notes()``: the run's notes, numbered, or ``no notes yet``; not risky."""
