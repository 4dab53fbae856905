"""Benchmark results in the database: saved whole and read back equal, listed newest first as
plain data, deleted; a result a newer app wrote is named, not guessed at; and a result is kept
in its file when the database cannot take it."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from purpose_desktop.engine.learning.improvement import ImprovementFileError, load_improvement
from purpose_desktop.engine.learning.kept_results import SavedImprovement
from purpose_desktop.errors import UserError
from purpose_desktop.store.database import open_database, writing
from purpose_desktop.store.improvement_store import ImprovementStore, keep_result
from sqlalchemy import Engine, text
from tests.support.improvement import sample_result


def test_a_result_comes_back_whole_and_the_list_is_newest_first(engine: Engine) -> None:
    store = ImprovementStore(engine)
    older = sample_result()
    newer = dataclasses.replace(
        sample_result("spelling"), team="Writers", created=older.created + timedelta(hours=2)
    )
    # Saved newest first, so the list's order is the benchmarks', not the saving's.
    saved_newer = store.save(newer, Path("/results/spelling.json"))
    saved_older = store.save(older)
    assert saved_newer == SavedImprovement(
        saved_newer.id,
        "spelling",
        "Writers",
        "bundled:smollm2-135m",
        newer.created,
        Path("/results/spelling.json"),
    )
    assert saved_older.file is None and saved_older.id != saved_newer.id

    listed = store.list_saved()
    assert listed == [saved_newer, saved_older]
    with pytest.raises(dataclasses.FrozenInstanceError):
        listed[0].suite = "changed"  # type: ignore[misc]
    assert store.list_saved(limit=1) == [saved_newer]
    assert store.load(saved_older.id) == older
    assert store.load(saved_newer.id) == newer


def test_a_deleted_result_is_gone_and_the_others_stay(engine: Engine) -> None:
    store = ImprovementStore(engine)
    first, second = (store.save(sample_result(suite)) for suite in ("one", "two"))
    assert store.delete(first.id) is True
    assert store.delete(first.id) is False
    assert store.list_saved() == [second]
    with pytest.raises(UserError, match=f"No benchmark result {first.id} is saved"):
        store.load(first.id)
    assert store.load(second.id) == sample_result("two")


def test_a_result_a_newer_app_saved_is_named_with_its_problem(engine: Engine) -> None:
    store = ImprovementStore(engine)
    saved = store.save(sample_result())
    data = json.loads(sample_result().to_json())
    data["version"] = 2
    with writing(engine) as connection:
        connection.execute(
            text("UPDATE improvement_results SET result = :json WHERE id = :id"),
            {"json": json.dumps(data), "id": saved.id},
        )
    assert store.list_saved() == [saved]  # listing reads the columns alone
    with pytest.raises(ImprovementFileError) as raised:
        store.load(saved.id)
    assert str(raised.value) == (
        f"Benchmark result {saved.id} in the database: result version 2 cannot be read, only "
        "version 1; a newer purpose-desktop wrote it"
    )


def test_keeping_a_result_writes_its_file_and_the_database(engine: Engine, tmp_path: Path) -> None:
    result = sample_result()
    file = tmp_path / "benchmarks" / "result.json"  # the folder is made
    kept = keep_result(result, file, lambda: engine)
    assert kept.problem is None and kept.file == file
    assert load_improvement(file) == result
    assert kept.saved is not None and kept.saved.file == file
    assert ImprovementStore(engine).list_saved() == [kept.saved]
    assert ImprovementStore(engine).load(kept.saved.id) == result


def test_a_database_that_cannot_take_the_result_leaves_it_in_its_file(tmp_path: Path) -> None:
    # A database without the table (never migrated): the write itself fails.
    engine = open_database(tmp_path / "unmigrated.sqlite3")
    try:
        file = tmp_path / "result.json"
        kept = keep_result(sample_result(), file, lambda: engine)
    finally:
        engine.dispose()
    assert kept.saved is None
    assert kept.problem is not None
    assert kept.problem.startswith(
        f"The result was saved to {file} but not in the database: "
        "The benchmark result could not be saved: "
    )
    assert "no such table: improvement_results" in kept.problem
    assert load_improvement(file) == sample_result()


def test_a_result_keeps_its_time_zone_and_lists_its_moment(engine: Engine) -> None:
    two_hours_east = timezone(timedelta(hours=2))
    result = dataclasses.replace(
        sample_result(), created=datetime(2025, 6, 1, 16, 30, tzinfo=two_hours_east)
    )
    saved = ImprovementStore(engine).save(result)
    assert saved.created == datetime(2025, 6, 1, 14, 30, tzinfo=UTC)
    loaded = ImprovementStore(engine).load(saved.id)
    assert loaded == result and loaded.created.utcoffset() == timedelta(hours=2)
