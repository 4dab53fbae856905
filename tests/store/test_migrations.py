"""Schema versions: a new database, real files of earlier versions, and one from a newer app."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from purpose_desktop.engine.learning.memory import Tier
from purpose_desktop.store import (
    improvement_tables,
    memory_tables,
    run_tables,
    tool_permission_tables,
)
from purpose_desktop.store.database import open_database, reading, writing
from purpose_desktop.store.improvement_store import ImprovementStore
from purpose_desktop.store.memory_store import DatabaseMemoryStore
from purpose_desktop.store.migrations import LATEST, SchemaTooNewError, migrate, schema_version
from purpose_desktop.store.team_store import TeamStore
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel
from tests.support.improvement import sample_result

DATA = Path(__file__).parent / "data"
ALL_TABLES = (
    *memory_tables.TABLE_NAMES,
    *run_tables.TABLE_NAMES,
    *improvement_tables.TABLE_NAMES,
    *tool_permission_tables.TABLE_NAMES,
)


def copy_of(name: str, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / name
    shutil.copy(DATA / name, path)
    engine = open_database(path)
    yield engine
    engine.dispose()


@pytest.fixture
def previous_version(tmp_path: Path) -> Iterator[Engine]:
    """A copy of a database written by the release before versioned schemas: the memory
    tables alone, with a few memories in them."""
    yield from copy_of("memory-v1.sqlite3", tmp_path)


@pytest.fixture
def version_2(tmp_path: Path) -> Iterator[Engine]:
    """A copy of a database written by the release whose schema was version 2: the sample
    arithmetic team saved in it, and no benchmark results."""
    yield from copy_of("store-v2.sqlite3", tmp_path)


def columns(engine: Engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    return {name: {c["name"] for c in inspector.get_columns(name)} for name in ALL_TABLES}


def expected_columns() -> dict[str, set[str]]:
    return {name: set(SQLModel.metadata.tables[name].columns.keys()) for name in ALL_TABLES}


def test_an_empty_database_gets_every_table_of_the_latest_version(tmp_path: Path) -> None:
    engine = open_database(tmp_path / "new.sqlite3")
    try:
        assert schema_version(engine) == 0
        assert migrate(engine) == list(range(1, LATEST + 1))
        assert schema_version(engine) == LATEST
        assert columns(engine) == expected_columns()
        assert migrate(engine) == []  # nothing left to do
    finally:
        engine.dispose()


def test_a_database_of_the_previous_version_keeps_its_memories(
    previous_version: Engine,
) -> None:
    assert schema_version(previous_version) == 1
    assert migrate(previous_version) == [2, 3, 4]
    assert schema_version(previous_version) == LATEST
    assert columns(previous_version) == expected_columns()
    memory = DatabaseMemoryStore(previous_version)
    found = asyncio.run(memory.find_heuristics("arithmetic", "multiply numbers"))
    assert [(h.tier, h.strategy, h.uses, h.run_ids) for h in found[:1]] == [
        (Tier.TOOL, "call the calculator with the product", 3, ("r1", "r2"))
    ]
    (experience,) = asyncio.run(memory.find_experiences("arithmetic", "17 * 23"))
    assert (experience.outcome, experience.final_phi) == ("completed", 9.0)
    (anchor,) = asyncio.run(memory.find_anchors("arithmetic", "17 * 23"))
    assert anchor.human_score == 9.0
    with reading(previous_version) as connection:
        history = connection.execute(
            text("SELECT version, description FROM schema_migrations ORDER BY version")
        ).all()
    assert [v for v, _ in history] == [1, 2, 3, 4]
    assert history[0][1] == "found unversioned"


def test_version_2_gets_the_benchmark_results_and_keeps_its_teams(version_2: Engine) -> None:
    assert schema_version(version_2) == 2
    assert "improvement_results" not in inspect(version_2).get_table_names()
    assert migrate(version_2) == [3, 4]
    assert schema_version(version_2) == LATEST
    assert columns(version_2) == expected_columns()
    (team,) = TeamStore(version_2).list_now()
    assert (team.name, [agent.name for agent in team.agents]) == (
        "Arithmetic",
        ["counter", "helper"],
    )
    results = ImprovementStore(version_2)
    assert results.list_saved() == []
    saved = results.save(sample_result())
    assert results.load(saved.id) == sample_result()


def test_a_database_from_a_newer_app_is_refused_and_left_alone(tmp_path: Path) -> None:
    engine = open_database(tmp_path / "newer.sqlite3")
    try:
        migrate(engine)
        with writing(engine) as connection:
            connection.execute(
                text(
                    "INSERT INTO schema_migrations (version, description, applied_at) "
                    "VALUES (:v, 'from the future', 0)"
                ),
                {"v": LATEST + 1},
            )
        with pytest.raises(SchemaTooNewError, match=f"schema version {LATEST + 1}"):
            migrate(engine)
        assert schema_version(engine) == LATEST + 1
    finally:
        engine.dispose()


def test_a_failing_step_leaves_the_database_as_it_was(
    previous_version: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from purpose_desktop.store import migrations

    def broken(connection: object) -> None:
        raise RuntimeError("step failed")

    failing = (
        *migrations.MIGRATIONS[:1],
        migrations.Migration(2, "runs", migrations.MIGRATIONS[1].apply),
        migrations.Migration(3, "broken", broken),
    )
    monkeypatch.setattr(migrations, "MIGRATIONS", failing)
    monkeypatch.setattr(migrations, "LATEST", 3)
    with pytest.raises(RuntimeError, match="step failed"):
        migrate(previous_version)
    assert schema_version(previous_version) == 1
    assert "runs" not in inspect(previous_version).get_table_names()
