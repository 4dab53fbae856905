"""Each boundary where input from outside enters the app, as one call on a file's bytes: what
the fuzz tests feed. Every call returns what was accepted or raises the boundary's own error;
the file is written to a folder of its own, removed after."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from purpose_desktop.config import Paths, Settings, load_settings
from purpose_desktop.engine.specs import TeamSpec
from purpose_desktop.engine.team_file import load_team
from purpose_desktop.store.memory_files import MemoryDocument, read_memory_file
from purpose_desktop.store.run_files import RunFile, read_run_file

T = TypeVar("T")


def _from_file(name: str, content: bytes, read: Callable[[Path], T]) -> T:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        return read(path)


def team_file(content: bytes, suffix: str) -> TeamSpec:
    """A team file, as ``run`` and ``teams save`` read it."""
    return _from_file(f"team{suffix}", content, lambda path: load_team(path).spec)


def settings_file(content: bytes) -> tuple[Settings, list[str], dict[str, bytes]]:
    """The settings file, as every command reads it: the settings, the problems said, and
    the files left in the home folder after, by name."""

    def read(path: Path) -> tuple[Settings, list[str], dict[str, bytes]]:
        problems: list[str] = []
        settings = load_settings(Paths(path.parent), problems)
        return settings, problems, {left.name: left.read_bytes() for left in path.parent.iterdir()}

    return _from_file("settings.json", content, read)


def run_file(content: bytes) -> RunFile:
    """A run file, as ``runs import`` reads it before writing anything."""
    return _from_file("run.jsonl", content, read_run_file)


def memory_file(content: bytes) -> MemoryDocument:
    """A memory file, as ``memory import`` reads it before writing anything."""
    return _from_file("memory.json", content, read_memory_file)
