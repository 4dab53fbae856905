"""The last listing of the user's and the MCP servers' tools, kept in the home folder.

Listing them starts every server of ``mcp.json`` and runs the user's tool files, which can
take seconds (or a server's whole start-up time limit, when one hangs). The Team pane only
needs their names and descriptions for its check boxes, so it reads them from here while
``mcp.json`` and the user's tool files are as they were when the listing was made
(:func:`tools_stamp`), and lists them again only when they changed or a person asks.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from purpose_desktop.config import Paths, write_file_atomically
from purpose_desktop.errors import UserError

log = logging.getLogger(__name__)

#: Changed when what is kept changes shape: a file of another version is listed anew.
VERSION = 1


def tools_stamp(paths: Paths) -> tuple[int, ...]:
    """When the files the tools are listed from last changed, and their sizes (``mcp.json``
    and the user tools): a listing older than that is made again. A few ``stat`` calls,
    cheap enough for the UI thread."""
    files = [paths.mcp_config_file, paths.user_tools_dir]
    with contextlib.suppress(OSError):
        files += sorted(paths.user_tools_dir.glob("*.py"))
    stamps: list[int] = []
    for file in files:
        try:
            status = file.stat()
        except OSError:
            stamps += (0, 0)
        else:
            stamps += (status.st_mtime_ns, status.st_size)
    return tuple(stamps)


def read_kept(paths: Paths) -> list[dict[str, Any]] | None:
    """The tools kept by :func:`keep`, as it was given them, when the files they were listed
    from have not changed since; ``None`` otherwise, or when there is no readable listing
    (it is only a cache: a broken one is listed anew, and logged)."""
    file = paths.tools_listing_file
    try:
        kept = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("Cannot read the kept tool listing %s (%s); listing the tools anew.", file, exc)
        return None
    if not _fresh(kept, tools_stamp(paths)):
        return None
    return [dict(tool) for tool in kept["tools"]]


def _fresh(kept: Any, stamp: tuple[int, ...]) -> bool:
    return (
        isinstance(kept, Mapping)
        and kept.get("version") == VERSION
        and kept.get("stamp") == list(stamp)
        and isinstance(kept.get("tools"), list)
        and all(isinstance(tool, Mapping) for tool in kept["tools"])
    )


def keep(paths: Paths, stamp: tuple[int, ...], tools: Sequence[Mapping[str, Any]]) -> None:
    """Keep ``tools`` (JSON objects), listed when the files were as ``stamp`` says. A listing
    that cannot be written is logged: the tools are then listed again next time."""
    text = json.dumps({"version": VERSION, "stamp": list(stamp), "tools": list(tools)}, indent=1)
    try:
        write_file_atomically(paths.tools_listing_file, text)
    except UserError as exc:
        log.warning("Cannot keep the tool listing: %s", exc)


def forget(paths: Paths) -> None:
    """Drop the kept listing, so that the next one starts the servers. A listing that cannot
    be removed is logged (and is then given again while the files are unchanged)."""
    try:
        paths.tools_listing_file.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("Cannot drop the kept tool listing %s: %s", paths.tools_listing_file, exc)
