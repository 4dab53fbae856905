"""Memory files: a team's memory exported as one JSON document from a real SQLite file and
imported into another reads back the same; duplicates merge; bad records change nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.engine.learning.memory import Heuristic
from purpose_desktop.errors import UserError
from purpose_desktop.store.database import writing
from purpose_desktop.store.memory_files import (
    MemoryFileError,
    MemoryImport,
    export_memory,
    import_memory,
    read_memory,
)
from purpose_desktop.store.opening import Store
from sqlalchemy import URL, text
from tests.support.memories import remember
from tests.support.stores import counts, store_at

MEMORY_TABLES = ("heuristics", "heuristic_runs", "experiences", "score_anchors")


def heuristics(store: Store, team: str) -> list[Heuristic]:
    """The team's heuristics as the store lists them, without their database ids."""
    found = asyncio.run(store.memory.list_heuristics(team))
    return [replace(h, id=None) for h in found]


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Store]:
    with store_at(tmp_path / "source.sqlite3") as store:
        remember(store)
        yield store


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Store]:
    with store_at(tmp_path / "empty.sqlite3") as store:
        yield store


@pytest.fixture
def memory_file(source: Store, tmp_path: Path) -> Path:
    path = tmp_path / "memory.json"
    export_memory(source.engine, path)
    return path


def document(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_the_document_is_readable_and_versioned(memory_file: Path) -> None:
    data = document(memory_file)
    assert (data["format"], data["version"], data["team"]) == ("purpose-desktop-memory", 1, None)
    assert memory_file.read_text(encoding="utf-8").startswith('{\n  "format"')
    lab = [h for h in data["heuristics"] if h["team"] == "lab"]
    # Best first: pinned, then by Q-value; each with the runs that used it.
    assert [(h["strategy"], h["pinned"]) for h in lab] == [
        ("read first", True),
        ("add digits", False),
        ("use * for products", False),
    ]
    assert lab[1]["run_ids"] == ["r1", "r2"] and lab[2]["source"] == "human"
    assert "id" not in lab[0]
    assert len(data["experiences"]) == len(data["score_anchors"]) == 2


def test_an_imported_memory_is_the_original(
    source: Store, target: Store, memory_file: Path, tmp_path: Path
) -> None:
    done = import_memory(target.engine, memory_file)
    assert done == MemoryImport(heuristics_added=6, experiences_added=2, anchors_added=2)
    for team in ("lab", "ops"):
        assert heuristics(target, team) == heuristics(source, team)
    again = read_memory(target.engine)
    assert again.model_dump(exclude={"exported_at"}) == read_memory(source.engine).model_dump(
        exclude={"exported_at"}
    )
    # Imported memory is found as stored memory is.
    found = asyncio.run(target.memory.find_experiences("lab", "what is 17*23"))
    assert [e.summary for e in found] == ["calculator, then finish"]


def test_one_teams_memory(source: Store, target: Store, tmp_path: Path) -> None:
    path = tmp_path / "lab.json"
    assert export_memory(source.engine, path, "lab").heuristics == 3
    assert document(path)["team"] == "lab"
    import_memory(target.engine, path)
    assert heuristics(target, "ops") == []
    assert heuristics(target, "lab") == heuristics(source, "lab")
    with pytest.raises(UserError, match="No memory is stored for a team called 'nobody'"):
        export_memory(source.engine, tmp_path / "nobody.json", "nobody")
    assert not (tmp_path / "nobody.json").exists()


def test_importing_twice_merges_instead_of_doubling(target: Store, memory_file: Path) -> None:
    import_memory(target.engine, memory_file)
    before = counts(target, MEMORY_TABLES)
    done = import_memory(target.engine, memory_file)
    assert done == MemoryImport(heuristics_merged=6, experiences_skipped=2, anchors_skipped=2)
    assert counts(target, MEMORY_TABLES) == before


def _heuristic_file(path: Path, **fields: Any) -> Path:
    record = {
        "team": "lab",
        "tier": "strategic",
        "pattern": "sums",
        "strategy": "add digits",
        **fields,
    }
    path.write_text(
        json.dumps({"format": "purpose-desktop-memory", "version": 1, "heuristics": [record]}),
        encoding="utf-8",
    )
    return path


def test_a_duplicate_takes_the_better_evidenced_counts_and_keeps_both_runs(
    source: Store, tmp_path: Path
) -> None:
    # Stored: q 0.7 after 3 uses, runs r1 and r2, not pinned, distilled.
    more = _heuristic_file(
        tmp_path / "more.json", q_value=0.9, uses=5, successes=5, run_ids=["r3", "r1"]
    )
    assert import_memory(source.engine, more).heuristics_merged == 1
    merged = next(h for h in heuristics(source, "lab") if h.strategy == "add digits")
    assert (merged.q_value, merged.uses, merged.successes) == (0.9, 5, 5)
    assert merged.run_ids == ("r1", "r2", "r3")

    fewer = _heuristic_file(
        tmp_path / "fewer.json", q_value=0.1, uses=1, pinned=True, source="human", run_ids=["r4"]
    )
    import_memory(source.engine, fewer)
    merged = next(h for h in heuristics(source, "lab") if h.strategy == "add digits")
    assert (merged.q_value, merged.uses, merged.pinned, merged.source) == (0.9, 5, True, "human")
    assert merged.run_ids == ("r1", "r2", "r3", "r4")


def _spoil(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], Path]:
    def spoil(path: Path) -> Path:
        data = document(path)
        change(data)
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
        return path

    return spoil


def _bad_json(path: Path) -> Path:
    path.write_text(
        '{\n  "format": "purpose-desktop-memory",\n  "version": 1,,\n}', encoding="utf-8"
    )
    return path


def _nested_beyond_python(path: Path) -> Path:
    path.write_text(
        '{"format": "purpose-desktop-memory", "version": 1, "extra": '
        + "[" * 100_000
        + "]" * 100_000
        + "}",
        encoding="utf-8",
    )
    return path


def _extra_heuristic(data: dict[str, Any]) -> None:
    data["heuristics"].append(dict(data["heuristics"][0], pattern="new", q_value=1.5))


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_bad_json, "line 3: not valid JSON: Expecting property name"),
        (
            _spoil(_extra_heuristic),
            "heuristics[6].q_value: Input should be less than or equal to 1",
        ),
        (
            _spoil(lambda d: d["heuristics"][2].update(tier="cosmic")),
            "heuristics[2].tier: Input should be 'strategic', 'procedural' or 'tool'",
        ),
        (
            _spoil(lambda d: d["heuristics"][1].update(successes=9)),
            "heuristics[1]: 9 successes in 3 uses",
        ),
        (
            _spoil(lambda d: d["heuristics"][0].update(colour="red")),
            "heuristics[0].colour: Extra inputs are not permitted",
        ),
        (
            _spoil(lambda d: d["experiences"][1].update(outcome="won")),
            "experiences[1].outcome: Input should be 'completed', 'failed' or 'cancelled'",
        ),
        (
            _spoil(lambda d: d["score_anchors"][0].update(human_score="high")),
            "score_anchors[0].human_score: Input should be a valid number",
        ),
        (
            _spoil(lambda d: d["score_anchors"][1].pop("run_id")),
            "score_anchors[1].run_id: Field required",
        ),
        (
            _spoil(lambda d: d.update(format="purpose-desktop-run")),
            'not a memory file: it must begin with "format": "purpose-desktop-memory"',
        ),
        (
            _spoil(lambda d: d.update(version=3)),
            "memory file version 3 cannot be read, only version 1; a newer purpose-desktop",
        ),
        (
            _spoil(lambda d: d["heuristics"][0].update(uses=10**30)),
            "the number 100000000000... (31 digits) is too large",
        ),
        (
            _spoil(lambda d: d["experiences"][0].update(summary="half \ud800")),
            "The text 'half \\ud800' is not valid text: character 6 (U+D800)",
        ),
        (
            _spoil(lambda d: d.update(extra=json.loads("[" * 60 + "]" * 60))),
            "it is nested more than 50 levels deep",
        ),
        (_nested_beyond_python, "it is nested more than 50 levels deep"),
    ],
)
def test_a_bad_record_is_named_and_changes_nothing(
    spoil: Callable[[Path], Path],
    message: str,
    target: Store,
    memory_file: Path,
    tmp_path: Path,
) -> None:
    import_memory(target.engine, _heuristic_file(tmp_path / "one.json"))
    before = counts(target, MEMORY_TABLES)
    path = spoil(memory_file)
    with pytest.raises(MemoryFileError) as raised:
        import_memory(target.engine, path)
    assert str(raised.value).startswith(f"{path}: {message}")
    assert counts(target, MEMORY_TABLES) == before


def test_a_write_the_database_refuses_leaves_nothing_behind(
    target: Store, memory_file: Path
) -> None:
    # Anchors are written last: fail there, after the heuristics and experiences.
    with writing(target.engine) as connection:
        connection.execute(
            text(
                "CREATE TRIGGER no_room BEFORE INSERT ON score_anchors "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        )
    with pytest.raises(UserError, match="memory could not be stored, so nothing was imported"):
        import_memory(target.engine, memory_file)
    assert counts(target, MEMORY_TABLES) == dict.fromkeys(MEMORY_TABLES, 0)


def test_a_missing_file(target: Store, tmp_path: Path) -> None:
    with pytest.raises(MemoryFileError, match="Memory file not found"):
        import_memory(target.engine, tmp_path / "nothing.json")


def test_memory_moves_to_postgresql_and_back(
    source: Store, target: Store, memory_file: Path, postgres_url: URL, tmp_path: Path
) -> None:
    with store_at(postgres_url) as shared:
        assert import_memory(shared.engine, memory_file) == MemoryImport(
            heuristics_added=6, experiences_added=2, anchors_added=2
        )
        assert import_memory(shared.engine, memory_file) == MemoryImport(
            heuristics_merged=6, experiences_skipped=2, anchors_skipped=2
        )
        back = tmp_path / "back.json"
        export_memory(shared.engine, back)
    import_memory(target.engine, back)
    for team in ("lab", "ops"):
        assert heuristics(target, team) == heuristics(source, team)
