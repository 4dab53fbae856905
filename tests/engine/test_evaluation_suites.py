"""Suite files: the built-in suites, a user's suites, and what a bad file is told."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from purpose_desktop.config import resources_dir
from purpose_desktop.engine.evaluation.checks import check_outcome
from purpose_desktop.engine.evaluation.suites import (
    SuiteFileError,
    find_suite,
    list_suites,
    load_suite,
    read_suites,
    suite_team,
)

BUILTIN = resources_dir() / "suites"

GOOD = """\
name: mine
description: Two tasks.
tasks:
  - id: sum
    task: What is 2 + 3?
    check: {answer_contains: "5"}
  - id: shout
    task: Write note.txt in capitals to loud.txt.
    setup_files: {note.txt: "hi"}
    check: {file_equals: {path: loud.txt, text: "HI"}}
"""


def write(folder: Path, text: str, name: str = "mine.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_suites_have_at_least_thirty_tasks_of_every_kind() -> None:
    entries = list_suites(BUILTIN, Path("/nonexistent"))
    counts = {entry.suite.name: len(entry.suite.tasks) for entry in entries}
    assert counts == {"arithmetic": 40, "files": 32, "multistep": 32, "text": 34}
    assert sum(counts.values()) >= 30
    assert all(entry.builtin for entry in entries)
    checks = {
        name
        for entry in entries
        for task in entry.suite.tasks
        for name, value in task.check.model_dump().items()
        if value is not None
    }
    assert checks == {"answer_contains", "answer_equals", "file_contains", "file_equals"}
    # Each names the sample team it is meant for, and that team is there.
    teams = {
        entry.suite.name: suite_team(entry.suite, BUILTIN.parent / "teams") for entry in entries
    }
    assert {name: path.name for name, path in teams.items()} == {
        "arithmetic": "calculator.yaml",
        "files": "files.yaml",
        "multistep": "files.yaml",
        "text": "example.yaml",
    }


def test_every_builtin_task_belongs_to_a_family_of_at_least_three() -> None:
    # A held-out split keeps some of each family for training: a family needs members to spare.
    for entry in list_suites(BUILTIN, Path("/nonexistent")):
        tasks = entry.suite.tasks
        assert len(tasks) >= 30, entry.suite.name
        assert [task.id for task in tasks if task.family is None] == [], entry.suite.name
        sizes = Counter(task.family for task in tasks)
        assert {family: n for family, n in sizes.items() if n < 3} == {}, entry.suite.name
        assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", str(family)) for family in sizes)


def test_no_arithmetic_answer_is_a_number_the_task_already_gives() -> None:
    # Else a model that repeats the task would pass answer_contains.
    suite = load_suite(BUILTIN / "arithmetic.yaml")
    given = {
        task.id: task.check.answer_contains
        for task in suite.tasks
        if task.check.answer_contains is not None
        and re.search(rf"(?<!\w){re.escape(task.check.answer_contains)}(?!\w)", task.task)
    }
    assert len(suite.tasks) >= 30 and given == {}
    # Nor does the check itself, with its normalising, find the answer in the task.
    echoed = [t.id for t in suite.tasks if check_outcome(t.check, t.task, BUILTIN).passed]
    assert echoed == []


def test_a_good_file_loads_and_a_users_suite_is_listed_and_found(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, GOOD))
    assert [task.id for task in suite.tasks] == ["sum", "shout"]
    assert suite.tasks[1].setup_files == {"note.txt": "hi"}
    assert suite.tasks[1].check.file_equals is not None
    entries = list_suites(BUILTIN, tmp_path)
    assert [(e.suite.name, e.builtin) for e in entries][-1] == ("mine", False)
    assert find_suite("mine", BUILTIN, tmp_path).name == "mine"
    assert find_suite(str(tmp_path / "mine.yaml"), BUILTIN, Path("/none")).name == "mine"
    with pytest.raises(SuiteFileError, match=r"No suite called 'other'.*arithmetic"):
        find_suite("other", BUILTIN, tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("name: mine", "name: ''"), r"name: String should have at least 1 character"),
        (
            (GOOD[GOOD.index("tasks:") :], "tasks: []\n"),
            r"mine.yaml: tasks: Tuple should have at least 1 item",
        ),
        (
            ('check: {answer_contains: "5"}', "check: {}"),
            r"task 'sum' \(tasks\[0\]\), check: give exactly one of .*\(found none\)",
        ),
        (
            ('check: {answer_contains: "5"}', 'check: {answer_contains: "5", answer_equals: "5"}'),
            r"task 'sum' \(tasks\[0\]\), check: .*found answer_contains, answer_equals",
        ),
        (
            ('check: {answer_contains: "5"}', 'check: {answer_contain: "5"}'),
            r"task 'sum' \(tasks\[0\]\), check.answer_contain: unknown field",
        ),
        (
            ("  - id: sum\n    task: What is 2 + 3?\n", "  - id: sum\n"),
            r"task 'sum' \(tasks\[0\]\), task: this field is required but missing",
        ),
        (
            ('setup_files: {note.txt: "hi"}', 'setup_files: {../note.txt: "hi"}'),
            r"task 'shout' \(tasks\[1\]\), setup_files: .*relative path inside the workspace",
        ),
        (
            ("path: loud.txt", "path: /etc/loud.txt"),
            r"task 'shout' \(tasks\[1\]\), check.file_equals.path: .*inside the workspace",
        ),
        (("id: shout", "id: sum"), r"the suite: task id 'sum' is used twice"),
        (("name: mine", "name: [mine"), r"line 2, column 12: not valid YAML"),
        (
            ("name: mine", "name: mine\nteam: ../teams/x.yaml"),
            r"team: '../teams/x.yaml' is not the file name of a sample team",
        ),
    ],
)
def test_a_bad_file_is_named_with_its_task_and_field(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(SuiteFileError, match=message) as caught:
        load_suite(path)
    assert str(caught.value).startswith(str(path))


def test_files_that_are_no_suite_at_all(tmp_path: Path) -> None:
    with pytest.raises(SuiteFileError, match="must hold a mapping"):
        load_suite(write(tmp_path, "- just a list\n"))
    with pytest.raises(SuiteFileError, match="is YAML"):
        load_suite(write(tmp_path, GOOD, "mine.json"))
    with pytest.raises(SuiteFileError, match="not found"):
        load_suite(tmp_path / "missing.yaml")
    write(tmp_path, "name: broken\n")
    with pytest.raises(SuiteFileError, match=r"mine.yaml: tasks: this field is required"):
        list_suites(BUILTIN, tmp_path)


def test_reading_the_folders_keeps_the_good_suites_beside_the_problems(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a-mine.yaml")
    write(tmp_path, "name: broken\n", "b-broken.yaml")
    write(tmp_path, GOOD.replace("name: mine", "name: arithmetic"), "c-arithmetic.yaml")
    listing = read_suites(BUILTIN, tmp_path)
    assert [(e.suite.name, e.builtin) for e in listing.entries] == [
        ("arithmetic", False),
        ("files", True),
        ("multistep", True),
        ("text", True),
        ("mine", False),
    ]  # a user's suite takes the place of the built-in one of its name
    (problem,) = listing.problems
    assert problem.startswith(f"{tmp_path / 'b-broken.yaml'}: tasks: this field is required")
