"""File tools confined to the run's workspace: read_file, write_file and list_files.

Every path is taken relative to ``context.workspace`` (an absolute path is accepted only if it
lies inside it), resolved with symbolic links followed, and refused with a :class:`ToolError`
if it ends up outside: ``'../x' is outside the run's workspace``. A link inside the workspace
that points out of it is therefore refused too.

Reads return at most :data:`MAX_READ_CHARS` characters of text, with a note when the file is
longer; binary files are refused. Writes are atomic (a temporary file in the same folder,
then :func:`os.replace`), create missing parent folders, and take at most
:data:`MAX_WRITE_BYTES` (the schema lets a model write :data:`CONTENT_MAX_LENGTH` characters
per call). Listings show at most :data:`MAX_LIST_ENTRIES` entries.

Checking and then opening is not atomic: something else that swaps a folder for a link in
between could redirect an operation. The tools guard against a model's mistakes, while the
workspace belongs to the run alone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import Annotated, Final

from purpose_desktop.engine.tools.base import Tool, ToolContext, ToolError
from purpose_desktop.engine.tools.functions import tool_from_function

__all__ = [
    "CONTENT_MAX_LENGTH",
    "LIST_FILES",
    "MAX_LIST_ENTRIES",
    "MAX_READ_CHARS",
    "MAX_WRITE_BYTES",
    "READ_FILE",
    "WRITE_FILE",
    "list_files",
    "read_file",
    "resolve_in_workspace",
    "write_file",
]

MAX_READ_CHARS: Final = 12_000
MAX_WRITE_BYTES: Final = 1024 * 1024
CONTENT_MAX_LENGTH: Final = 4000
MAX_LIST_ENTRIES: Final = 200
_BINARY_SNIFF_BYTES: Final = 8192


def resolve_in_workspace(path: str, workspace: Path) -> Path:
    """``path`` (relative to ``workspace``, or absolute) resolved, following links.

    Raises :class:`ToolError` if it is empty or lies outside the workspace.
    """
    given = path.strip()
    if not given:
        raise ToolError("give a path inside the workspace, such as notes.txt")
    if "\x00" in given:
        raise ToolError(f"{given!r} is not a valid path")
    root = workspace.resolve()
    # "~" is not expanded: a model writing ~/x means the home folder, which is outside.
    candidate = Path(given)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if given.startswith("~") or not resolved.is_relative_to(root):
        raise ToolError(f"'{given}' is outside the run's workspace")
    return resolved


def read_file(path: str, context: ToolContext) -> str:
    """Read a text file from the workspace.

    Args:
        path: the file's path inside the workspace, such as notes.txt or data/input.csv
    """
    target = resolve_in_workspace(path, context.workspace)
    shown = _shown(target, context.workspace)
    if target.is_dir():
        raise ToolError(f"'{shown}' is a folder, not a file; use list_files to see inside it")
    try:
        size = target.stat().st_size
        with target.open("rb") as file:
            # Up to 4 bytes per character in UTF-8: enough to fill the limit, never the
            # whole of a large file.
            data = file.read(MAX_READ_CHARS * 4 + 1)
    except FileNotFoundError:
        raise ToolError(
            f"'{shown}' does not exist in the workspace; use list_files to see what is there"
        ) from None
    except OSError as exc:
        raise ToolError(f"cannot read '{shown}': {exc.strerror or exc}") from None
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        raise ToolError(f"'{shown}' is a binary file ({size} bytes); read_file reads text")
    text = data.decode("utf-8", errors="replace")
    if len(text) <= MAX_READ_CHARS and len(data) == size:
        return text if text else f"'{shown}' is empty"
    return (
        text[:MAX_READ_CHARS]
        + f"\n[... showed the first {MAX_READ_CHARS} characters of '{shown}', a file of "
        f"{size} bytes ...]"
    )


def write_file(
    path: str,
    content: Annotated[str, {"maxLength": CONTENT_MAX_LENGTH}],
    context: ToolContext,
) -> str:
    """Write a text file in the workspace, replacing it if it exists.

    Args:
        path: the file's path inside the workspace, such as report.md
        content: the whole text to write
    """
    target = resolve_in_workspace(path, context.workspace)
    shown = _shown(target, context.workspace)
    data = content.encode("utf-8", errors="replace")
    if len(data) > MAX_WRITE_BYTES:
        raise ToolError(
            f"the content is too large ({len(data)} bytes; write_file takes at "
            f"most {MAX_WRITE_BYTES})"
        )
    if target.is_dir():
        raise ToolError(f"'{shown}' is a folder; give a file name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _replace_atomically(target, data)
    except OSError as exc:
        raise ToolError(f"cannot write '{shown}': {exc.strerror or exc}") from None
    return f"wrote {len(content)} characters to '{shown}'"


def list_files(context: ToolContext, path: str = ".") -> str:
    """List the files and folders in a folder of the workspace (folders end with /).

    Args:
        path: the folder inside the workspace; "." is the workspace itself
    """
    target = resolve_in_workspace(path, context.workspace)
    shown = _shown(target, context.workspace)
    if target.is_file():
        raise ToolError(f"'{shown}' is a file, not a folder; use read_file to read it")
    try:
        entries = sorted(os.scandir(target), key=lambda entry: entry.name)
    except FileNotFoundError:
        raise ToolError(f"the folder '{shown}' does not exist in the workspace") from None
    except OSError as exc:
        raise ToolError(f"cannot list '{shown}': {exc.strerror or exc}") from None
    if not entries:
        return f"'{shown}' is empty"
    lines = [_describe_entry(entry) for entry in entries[:MAX_LIST_ENTRIES]]
    if len(entries) > MAX_LIST_ENTRIES:
        lines.append(f"[... and {len(entries) - MAX_LIST_ENTRIES} more ...]")
    return "\n".join(lines)


def _describe_entry(entry: os.DirEntry[str]) -> str:
    try:
        if entry.is_dir():
            return f"{entry.name}/"
        return f"{entry.name} ({entry.stat().st_size} bytes)"
    except OSError:  # a dangling link, or one to somewhere unreadable
        return entry.name


def _replace_atomically(target: Path, data: bytes) -> None:
    # The temporary file is made with os.open and mode 0o666 so that the umask applies as it
    # would to a plain new file (mkstemp would make it 0600); an existing file keeps its mode.
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileNotFoundError):
            temporary.chmod(stat.S_IMODE(target.stat().st_mode))
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _shown(target: Path, workspace: Path) -> str:
    """``target`` as the model should name it: relative to the workspace, with / separators."""
    relative = target.relative_to(workspace.resolve()).as_posix()
    return relative if relative != "." else "."


_FILE_KEYWORDS: Final = (
    "file",
    "files",
    "workspace",
    "document",
    "text",
    "txt",
    "csv",
    "md",
    "json",
)

READ_FILE: Final[Tool] = tool_from_function(
    read_file,
    keywords=(
        *_FILE_KEYWORDS,
        "read",
        "open",
        "load",
        "view",
        "show",
        "contents",
        "content",
        "look",
    ),
)
"""``read_file(path)``: a text file of the workspace; not risky."""

WRITE_FILE: Final[Tool] = tool_from_function(
    write_file,
    risky=True,
    keywords=(
        *_FILE_KEYWORDS,
        "write",
        "save",
        "create",
        "store",
        "output",
        "report",
        "draft",
        "edit",
        "update",
        "record",
    ),
)
"""``write_file(path, content)``: creates or replaces a file of the workspace; risky."""

LIST_FILES: Final[Tool] = tool_from_function(
    list_files,
    keywords=(
        *_FILE_KEYWORDS,
        "list",
        "folder",
        "folders",
        "directory",
        "directories",
        "available",
        "exist",
        "ls",
        "dir",
        "contents",
    ),
)
"""``list_files(path=".")``: the entries of a workspace folder; not risky."""
