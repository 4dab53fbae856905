"""The benchmark service over a real SQLite database and results folder: results listed from
both, read, deleted with their own file; suites and team files to choose from; a benchmark
run (on a scripted model, whose answers are exact) kept in both places; and the words a person
reads when something cannot be done."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from purpose_desktop.engine.evaluation.runner import Arm, Progress
from purpose_desktop.engine.evaluation.suites import find_suite
from purpose_desktop.engine.learning.improvement import (
    ImprovementFileError,
    list_results,
    result_file,
    save_improvement,
)
from purpose_desktop.errors import UserError
from purpose_desktop.services.benchmarks import (
    BenchmarkRequest,
    BenchmarkService,
    BenchmarkSetup,
)
from purpose_desktop.services.store import StoreService
from purpose_desktop.store.improvement_store import ImprovementStore, keep_result
from purpose_desktop.store.opening import Store, StoreError
from tests.support.benchmarks import learning_result, scripted_setup
from tests.support.scripted_team import act, team_model
from tests.support.stores import store_at


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with store_at(tmp_path / "purpose-desktop.sqlite3") as opened:
        yield opened


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "benchmarks"


@pytest.fixture
def setup(tmp_path: Path) -> BenchmarkSetup:
    # Answers 42 to everything: the sum checks out, the product does not.
    return scripted_setup(tmp_path, team_model(lambda messages: act("finish", answer="42")))


@pytest.fixture
def benchmarks(folder: Path, store: Store, setup: BenchmarkSetup) -> BenchmarkService:
    return BenchmarkService(folder, StoreService(lambda: store), setup)


def test_results_are_listed_from_the_database_and_the_folder_and_read(
    benchmarks: BenchmarkService, folder: Path, store: Store
) -> None:
    base = learning_result(3)
    kept = keep_result(base, result_file(folder, base), lambda: store.engine)
    copied = replace(base, suite="copied", created=base.created - timedelta(days=1))
    save_improvement(copied, folder / "copied.json")
    # A file is listed by when it was written.
    os.utime(folder / "copied.json", (copied.created.timestamp(),) * 2)

    listing = asyncio.run(benchmarks.list_results())
    assert listing.problem is None
    assert [entry.saved for entry in listing.entries] == [kept.saved, None]
    assert listing.entries[1].result == copied  # the file the database does not name
    assert kept.saved is not None
    assert asyncio.run(benchmarks.read_saved(kept.saved)) == base
    assert asyncio.run(benchmarks.read_file(folder / "copied.json")) == copied
    (folder / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(ImprovementFileError):
        asyncio.run(benchmarks.read_file(folder / "broken.json"))


def test_a_database_that_cannot_be_opened_leaves_the_files_listed(
    folder: Path, tmp_path: Path
) -> None:
    save_improvement(learning_result(), folder / "arithmetic.json")

    def locked() -> Store:
        raise StoreError("The database x.sqlite3 is in use by another program.")

    listing = asyncio.run(BenchmarkService(folder, StoreService(locked)).list_results())
    assert listing.problem == (
        "The results saved in the database cannot be read: The database x.sqlite3 is in use "
        "by another program."
    )
    assert [entry.result for entry in listing.entries] == [learning_result()]
    without = asyncio.run(BenchmarkService(folder).list_results())
    assert without.problem is None and len(without.entries) == 1


def test_a_deleted_result_takes_its_own_file_but_not_one_elsewhere(
    benchmarks: BenchmarkService, folder: Path, store: Store, tmp_path: Path
) -> None:
    ours, theirs = learning_result(3), replace(learning_result(4), suite="theirs")
    kept = keep_result(ours, result_file(folder, ours), lambda: store.engine)
    elsewhere = keep_result(theirs, tmp_path / "elsewhere.json", lambda: store.engine)
    assert kept.saved is not None and elsewhere.saved is not None
    assert benchmarks.own_file(kept.saved) == kept.file
    assert benchmarks.own_file(elsewhere.saved) is None

    asyncio.run(benchmarks.delete(kept.saved))
    asyncio.run(benchmarks.delete(elsewhere.saved))
    assert not kept.file.exists() and elsewhere.file.exists()
    assert ImprovementStore(store.engine).list_saved() == []
    with pytest.raises(UserError, match=f"No benchmark result {kept.saved.id} is saved"):
        asyncio.run(benchmarks.read_saved(kept.saved))


def test_a_deletion_that_fails_says_so(folder: Path, tmp_path: Path, store: Store) -> None:
    result = learning_result(3)
    kept = keep_result(result, result_file(folder, result), lambda: store.engine)
    assert kept.saved is not None
    folderless = BenchmarkService(folder)
    with pytest.raises(UserError, match=r"^The result could not be deleted: No database"):
        asyncio.run(folderless.delete(kept.saved))
    assert kept.file.exists()


def test_the_choices_are_the_suites_and_the_persons_then_the_sample_teams(
    benchmarks: BenchmarkService, tmp_path: Path
) -> None:
    (tmp_path / "teams").mkdir()
    (tmp_path / "teams" / "mine.yaml").write_text("name: Mine\n", encoding="utf-8")
    (tmp_path / "teams" / "notes.txt").write_text("not a team", encoding="utf-8")

    choices = asyncio.run(benchmarks.choices())
    assert [entry.suite.name for entry in choices.suites.entries][-1] == "tiny"
    assert [(team.path.name, team.sample) for team in choices.teams][:2] == [
        ("mine.yaml", False),
        ("arithmetic.yaml", True),
    ]


def test_a_benchmark_reports_each_task_run_and_is_kept_in_both_places(
    benchmarks: BenchmarkService, folder: Path, store: Store, setup: BenchmarkSetup
) -> None:
    suite = find_suite("tiny", setup.builtin_suites, setup.user_suites)
    team = setup.sample_teams / "arithmetic.yaml"
    request = BenchmarkRequest(suite, team, 1, (Arm.LEARNING_ON,))
    seen: list[Progress] = []

    done = asyncio.run(benchmarks.run(request, seen.append))
    assert [(p.done, p.total) for p in seen] == [(1, 2), (2, 2)]
    assert [[m.success_rate for m in s.iterations] for s in done.result.series] == [[0.5]]
    (listed,) = list_results(folder)
    assert done.kept.file == listed.path and listed.result == done.result
    assert done.kept.saved is not None and done.kept.problem is None
    assert ImprovementStore(store.engine).list_saved() == [done.kept.saved]

    out = folder.parent / "out.json"
    elsewhere = asyncio.run(benchmarks.run(request, seen.append, out=out))
    assert elsewhere.kept.file == out and out.is_file()


def test_a_team_file_that_cannot_be_used_and_no_models_are_user_errors(
    benchmarks: BenchmarkService, folder: Path, setup: BenchmarkSetup, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad\nagents: []\n", encoding="utf-8")
    suite = find_suite("tiny", setup.builtin_suites, setup.user_suites)
    request = BenchmarkRequest(suite, bad, 1, (Arm.LEARNING_ON,))
    with pytest.raises(UserError, match=re.escape(str(bad))):
        asyncio.run(benchmarks.run(request, lambda progress: None))
    assert list_results(folder) == []

    results_only = BenchmarkService(folder)
    assert not results_only.can_run and results_only.user_suites is None
    with pytest.raises(UserError, match="no models"):
        asyncio.run(results_only.choices())
