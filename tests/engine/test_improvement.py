"""Benchmark results as JSON files: written and read back equal, every malformed file refused
with the place of its first problem, and a folder of them listed newest first."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.engine.learning.improvement import (
    FORMAT,
    METRICS,
    ImprovementFileError,
    list_results,
    load_improvement,
    parse_improvement,
    result_file,
    save_improvement,
)
from purpose_desktop.errors import UserError
from tests.support.improvement import sample_result


def document(**changes: Any) -> dict[str, Any]:
    data = json.loads(sample_result().to_json())
    data.update(changes)
    return data


def test_a_result_is_written_and_read_back_equal(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    result = sample_result()
    save_improvement(result, path)
    assert load_improvement(path) == result
    data = json.loads(path.read_text(encoding="utf-8"))
    assert (data["format"], data["version"]) == (FORMAT, 1)
    assert data["created"] == "2025-06-01T12:30:00+00:00"
    assert data["series"][1]["iterations"][2] == {
        "iteration": 3,
        "success_rate": 0.5,
        "average_phi": 5.0,
        "average_steps": 3.0,
        "average_reward": -0.5,
        "tokens": 900,
        "seconds": 12.5,
        "success_low": None,
        "success_high": None,
    }
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary file left


def test_every_metric_can_be_read_as_points_of_a_curve() -> None:
    series = sample_result().series[0]
    assert [metric.name for metric in METRICS] == [
        "success_rate",
        "average_phi",
        "average_steps",
        "average_reward",
        "tokens",
        "seconds",
    ]
    assert series.points("success_rate") == ((1, 0.4), (2, 0.6), (3, 0.8))
    assert series.points("average_phi") == ((1, 5.0), (2, 5.0), (3, 7.5))
    assert METRICS[0].bounds == (0.0, 1.0) and METRICS[3].bounds is None


def test_keys_a_later_version_may_add_are_ignored() -> None:
    data = document(notes="from a later version")
    data["series"][0]["iterations"][0]["median_steps"] = 2
    assert parse_improvement(json.dumps(data), "r.json") == sample_result()


def test_a_file_without_the_held_out_keys_is_one_run_of_the_whole_suite() -> None:
    data = document()
    for key in ("holdout", "repeats"):
        del data[key]
    for series in data["series"]:
        del series["arm"], series["part"]
        for iteration in series["iterations"]:
            del iteration["success_low"], iteration["success_high"]
    result = parse_improvement(json.dumps(data), "old.json")
    assert result == sample_result()
    assert (result.holdout, result.repeats) == (0.0, 1)
    assert all(s.part == "all" and s.condition == s.name and not s.spread() for s in result.series)


def broken(path: list[Any], value: Any) -> str:
    """The sample document with the value at ``path`` replaced (``...``: removed)."""
    data = document()
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (
            ["series", 0, "iterations", 1, "success_rate"],
            1.5,
            "series[0].iterations[1].success_rate: should be from 0 to 1, not 1.5",
        ),
        (
            ["series", 0, "iterations", 1, "success_rate"],
            "0.5",
            "series[0].iterations[1].success_rate: should be a number, not '0.5'",
        ),
        (
            ["series", 1, "iterations", 0, "tokens"],
            True,
            "series[1].iterations[0].tokens: should be a whole number, not True",
        ),
        (
            ["series", 1, "iterations", 0, "tokens"],
            12.5,
            "series[1].iterations[0].tokens: should be a whole number, not 12.5",
        ),
        (
            ["series", 1, "iterations", 0, "seconds"],
            -1,
            "series[1].iterations[0].seconds: should be at least 0, not -1",
        ),
        (
            ["series", 0, "iterations", 2, "average_phi"],
            11,
            "series[0].iterations[2].average_phi: should be from 0 to 10, not 11",
        ),
        (
            ["series", 0, "iterations", 0, "average_steps"],
            ...,
            "series[0].iterations[0].average_steps: missing",
        ),
        (
            ["series", 0, "iterations", 2, "iteration"],
            2,
            "series[0].iterations[2].iteration: 2 does not come after 2",
        ),
        (
            ["series", 0, "iterations", 0, "iteration"],
            0,
            "series[0].iterations[0].iteration: should be at least 1, not 0",
        ),
        (
            ["series", 1, "name"],
            "learning on",
            "series[1].name: 'learning on' names an earlier series too",
        ),
        (["series", 1, "name"], " ", "series[1].name: should not be empty"),
        (["series", 1], [1, 2], "series[1]: should be an object, not a list"),
        (["series"], [], "series: there must be at least one"),
        (["series"], {"learning on": []}, "series: should be a list, not an object"),
        (["suite"], None, "suite: should be text, not null"),
        (
            ["series", 0, "part"],
            "tests",
            "series[0].part: should be one of ['all', 'test', 'training'], not 'tests'",
        ),
        (
            ["series", 0, "iterations", 1, "success_low"],
            2,
            "series[0].iterations[1].success_low: should be from 0 to 1, not 2",
        ),
        (["repeats"], 0, "repeats: should be at least 1, not 0"),
        (["holdout"], "30%", "holdout: should be a number, not '30%'"),
        (
            ["created"],
            "last Tuesday",
            "created: 'last Tuesday' is not a date and time such as 2025-06-01T12:00:00+00:00",
        ),
    ],
)
def test_a_malformed_result_names_its_first_problem(
    path: list[Any], value: Any, problem: str
) -> None:
    with pytest.raises(ImprovementFileError) as raised:
        parse_improvement(broken(path, value), "results/run.json")
    assert str(raised.value) == f"results/run.json: {problem}"


def test_a_reward_that_is_not_a_finite_number_is_refused() -> None:
    text = broken(["series", 0, "iterations", 0, "average_reward"], 0).replace(
        '"average_reward": 0', '"average_reward": NaN', 1
    )
    with pytest.raises(ImprovementFileError, match=r"average_reward: should be a number, not nan"):
        parse_improvement(text, "r.json")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "r.json is not JSON: Expecting property name enclosed in double quotes"),
        (
            "[]",
            'r.json is not a benchmark result: it must have "format": '
            '"purpose-desktop-improvement"',
        ),
        (
            json.dumps({"format": "purpose-desktop-memory", "version": 1}),
            "r.json is not a benchmark result",
        ),
        (
            json.dumps({"format": FORMAT, "version": 2}),
            "r.json: result version 2 cannot be read, only version 1; a newer purpose-desktop "
            "wrote it",
        ),
        (json.dumps({"format": FORMAT}), "r.json: result version None cannot be read"),
    ],
)
def test_a_file_of_another_kind_or_version_says_so_first(text: str, problem: str) -> None:
    with pytest.raises(ImprovementFileError) as raised:
        parse_improvement(text, "r.json")
    assert str(raised.value).startswith(problem)


def test_files_that_cannot_be_read_or_written_say_why(tmp_path: Path) -> None:
    with pytest.raises(ImprovementFileError, match=r"missing\.json cannot be read: No such"):
        load_improvement(tmp_path / "missing.json")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ImprovementFileError, match="is not a result file: it is not UTF-8"):
        load_improvement(binary)
    with pytest.raises(UserError, match=r"^Cannot write .*result.json: Not a directory"):
        save_improvement(sample_result(), binary / "result.json")


def test_a_result_is_saved_under_its_suite_and_time_in_a_folder_made_for_it(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "home" / "benchmarks"
    path = result_file(folder, sample_result())
    assert path == folder / "improve-arithmetic-20250601-123000.json"
    save_improvement(sample_result(), path)
    assert load_improvement(path) == sample_result()
    # A suite's name is free text; the file stays in the folder.
    assert result_file(folder, sample_result("../my suite: v2")).name == (
        "improve-my-suite-v2-20250601-123000.json"
    )


def test_a_folder_of_results_is_listed_newest_first_with_the_unreadable_ones(
    tmp_path: Path,
) -> None:
    assert list_results(tmp_path / "not there") == []
    for name, age in (("old.json", 300), ("new.json", 0), ("bad.json", 100)):
        path = tmp_path / name
        if name == "bad.json":
            path.write_text(
                '{"format": "purpose-desktop-improvement", "version": 1}', encoding="utf-8"
            )
        else:
            save_improvement(sample_result(name.removesuffix(".json")), path)
        moment = datetime.now().timestamp() - age
        os.utime(path, (moment, moment))
    (tmp_path / "notes.txt").write_text("not a result", encoding="utf-8")
    listed = list_results(tmp_path)
    assert [entry.path.name for entry in listed] == ["new.json", "bad.json", "old.json"]
    assert [entry.result.suite if entry.result else None for entry in listed] == [
        "new",
        None,
        "old",
    ]
    assert listed[1].problem == f"{tmp_path / 'bad.json'}: suite: missing"


def test_a_part_that_is_not_text_is_named_not_a_crash() -> None:
    with pytest.raises(ImprovementFileError, match=r"series\[0\]\.part: should be one of"):
        parse_improvement(broken(["series", 0, "part"], []), "r.json")
