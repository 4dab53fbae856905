"""The memory files service over real SQLite databases: one team's memory (or every team's)
exported, and merged into another database, with the counts a person is told."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from purpose_desktop.errors import UserError
from purpose_desktop.services.memory_files import MemoryFilesService
from purpose_desktop.services.store import StoreService
from tests.support.memories import remember
from tests.support.stores import store_at


def test_memory_exported_from_one_database_merges_into_another(tmp_path: Path) -> None:
    path, one_team = tmp_path / "memory.json", tmp_path / "lab.json"
    with store_at(tmp_path / "source.sqlite3") as source:
        remember(source)
        files = MemoryFilesService(StoreService(lambda: source))
        every = asyncio.run(files.export(path, None))
        lab = asyncio.run(files.export(one_team, "lab"))
    assert (every.heuristics, every.experiences, every.score_anchors) == (6, 2, 2)
    assert (lab.heuristics, lab.experiences, lab.score_anchors) == (3, 1, 1)

    with store_at(tmp_path / "target.sqlite3") as target:
        files = MemoryFilesService(StoreService(lambda: target))
        first = asyncio.run(files.import_file(one_team))
        again = asyncio.run(files.import_file(path))
    assert (first.heuristics_added, first.experiences_added, first.anchors_added) == (3, 1, 1)
    assert (again.heuristics_added, again.heuristics_merged) == (3, 3)
    assert (again.experiences_skipped, again.anchors_skipped) == (1, 1)


def test_a_file_that_is_not_a_memory_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with store_at(tmp_path / "target.sqlite3") as target:
        files = MemoryFilesService(StoreService(lambda: target))
        with pytest.raises(UserError, match=r"bad\.json"):
            asyncio.run(files.import_file(bad))
