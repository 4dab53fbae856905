"""``purpose-desktop bench improve`` as a user runs it, in an empty home folder: the whole
command in-process, saving into the home folder's benchmarks folder and database, with a
scripted model in place of the model layer (a real model's answers vary, and on a busy machine
take minutes; tests/engine/test_evaluation_real.py runs the benchmark on the bundled SmolLM2),
and a bad suite name in a real subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from purpose_desktop import app
from purpose_desktop.cli import main
from purpose_desktop.config import Paths, example_team_file
from purpose_desktop.engine.learning.improvement import list_results
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.store.improvement_store import ImprovementStore
from purpose_desktop.store.opening import open_store
from tests.support.benchmarks import SUITE
from tests.support.cli import purpose_desktop
from tests.support.scripted_team import act, team_model


def answering_42(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The tiny suite's file and the arithmetic sample team, with a model in the app's place
    that answers 42 to everything: the sum checks out, the product does not."""
    model = team_model(lambda messages: act("finish", answer="42"), score=6)
    monkeypatch.setattr(
        app.AppParts,
        "models",
        property(lambda self: ScriptedProvider({"bundled:smollm2-135m": model})),
    )
    suite = tmp_path / "tiny.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    return suite, example_team_file().with_name("arithmetic.yaml")


def test_improve_prints_the_curve_and_saves_it_for_the_benchmarks_pane(
    home: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    suite, team = answering_42(tmp_path, monkeypatch)
    code = main(
        [
            "bench",
            "improve",
            "--suite",
            str(suite),
            "--iterations",
            "2",
            "--team",
            str(team),
            "--arm",
            "learning off",
            "--arm",
            "with overrides",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    printed = json.loads(out)
    assert printed["suite"] == "tiny" and printed["team"] == "Arithmetic"
    assert [series["name"] for series in printed["series"]] == ["learning off", "with overrides"]
    rates = [[it["success_rate"] for it in series["iterations"]] for series in printed["series"]]
    # The person's 0 for the product's answer makes it a dead end, so the second iteration
    # with overrides gets the product right; learning off never does.
    assert rates == [[0.5, 0.5], [0.5, 1.0]]
    assert "[8/8] with overrides, iteration 2, product: passed" in err
    (listed,) = list_results(home.benchmarks_dir)
    assert listed.problem is None and listed.result is not None
    assert json.loads(listed.result.to_json()) == printed
    # In the database the app uses, too, naming the file it was saved to.
    store = open_store(home.database_file)
    try:
        results = ImprovementStore(store.engine)
        (saved,) = results.list_saved()
        assert (saved.suite, saved.team, saved.file) == ("tiny", "Arithmetic", listed.path)
        assert results.load(saved.id) == listed.result
    finally:
        store.engine.dispose()
    assert f"Saved to {listed.path} and in the database (result {saved.id})" in err

    code = main(
        [
            "bench",
            "improve",
            "--suite",
            str(suite),
            "--iterations",
            "1",
            "--team",
            str(team),
            "--out",
            str(tmp_path / "out.json"),
        ]
    )
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[2].split()[:5] == ["learning", "on", "1", "50%", "1.00"]
    assert (tmp_path / "out.json").is_file()
    assert len(list_results(home.benchmarks_dir)) == 1


def test_held_out_and_repeated_the_table_gives_both_parts_and_the_spread(
    home: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    suite, team = answering_42(tmp_path, monkeypatch)
    argv = ["bench", "improve", "--suite", str(suite), "--team", str(team), "--iterations", "2"]
    code = main([*argv, "--arm", "learning off", "--holdout", "50%", "--repeats", "2"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].endswith("50% held out, mean of 2 repeats")
    assert lines[1].split()[:4] == ["arm", "iter", "success", "range"]
    assert [" ".join(line.split()[:5]) for line in lines[2:]] == [
        "learning off · training 1",
        "learning off · training 2",
        "learning off · test 1",
        "learning off · test 2",
    ]
    assert "[8/8] repeat 2 of 2: learning off, iteration 2, " in err
    (listed,) = list_results(home.benchmarks_dir)
    assert listed.result is not None and listed.result.repeats == 2

    # A suite too small to hold a task out says so before anything runs.
    one = tmp_path / "one.yaml"
    one.write_text(
        'name: one\ntasks:\n  - {id: a, task: "What is 2 + 2?", check: {answer_contains: "4"}}\n',
        encoding="utf-8",
    )
    code = main([*argv, "--holdout", "0.5", "--suite", str(one)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "The benchmark cannot be run on one: holding out 50% leaves no test task" in err
    assert len(list_results(home.benchmarks_dir)) == 1


def test_without_a_team_the_suite_names_the_sample_team_it_is_meant_for(
    home: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    suite, _team = answering_42(tmp_path, monkeypatch)
    argv = ["bench", "improve", "--iterations", "1", "--arm", "learning off", "--json"]
    # A suite that names no team asks for one, before anything runs.
    code = main([*argv, "--suite", str(suite)])
    assert code == 2
    assert (
        "The suite 'tiny' names no team to run it: give one with --team TEAM_FILE."
        in capsys.readouterr().err
    )
    assert list_results(home.benchmarks_dir) == []
    # One that names a sample team runs it; one whose team is not among the samples says so.
    suite.write_text(SUITE.replace("name: tiny\n", "name: tiny\nteam: calculator.yaml\n"))
    code = main([*argv, "--suite", str(suite)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["team"] == "Calculator"
    suite.write_text(SUITE.replace("name: tiny\n", "name: tiny\nteam: gone.yaml\n"))
    assert main([*argv, "--suite", str(suite)]) == 2
    assert "meant for the sample team gone.yaml, which is not in " in capsys.readouterr().err


def test_an_unknown_suite_is_named_with_the_known_ones(tmp_path: Path) -> None:
    team = example_team_file().with_name("arithmetic.yaml")
    result = purpose_desktop(
        "bench",
        "improve",
        "--suite",
        "nope",
        "--iterations",
        "1",
        "--team",
        str(team),
        home=tmp_path / "home",
    )
    assert result.returncode == 2
    assert "No suite called 'nope'. The suites are: arithmetic, files, multistep, text." in (
        result.stderr
    )


@pytest.mark.model
def test_improve_runs_the_bundled_model_in_a_real_process(tmp_path: Path) -> None:
    """The command as a user runs it on SmolLM2: one arithmetic task, learning on and off. A
    135M model's answers vary, so what is checked is the measurement, not the success."""
    suite = tmp_path / "one.yaml"
    suite.write_text(
        "name: one\ntasks:\n"
        "  - id: apple-crates\n    family: crates\n"
        "    task: A crate holds 24 apples. How many apples are in 17 crates?\n"
        '    check: {answer_contains: "408"}\n'
        "  - id: egg-boxes\n    family: crates\n"
        "    task: A box holds 12 eggs. How many eggs are in 15 boxes?\n"
        '    check: {answer_contains: "180"}\n',
        encoding="utf-8",
    )
    home = tmp_path / "home"
    team = example_team_file().with_name("arithmetic.yaml")
    result = purpose_desktop(
        "bench",
        "improve",
        "--suite",
        str(suite),
        "--iterations",
        "1",
        "--team",
        str(team),
        "--arm",
        "learning on",
        "--arm",
        "learning off",
        "--holdout",
        "0.5",
        "--json",
        home=home,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    printed = json.loads(result.stdout)
    assert (printed["suite"], printed["model"]) == ("one", "bundled:smollm2-135m")
    assert printed["holdout"] == 0.5
    assert [(series["arm"], series["part"]) for series in printed["series"]] == [
        ("learning on", "training"),
        ("learning on", "test"),
        ("learning off", "training"),
        ("learning off", "test"),
    ]
    for series in printed["series"]:
        (metrics,) = series["iterations"]
        assert metrics["success_rate"] in (0.0, 1.0)
        assert metrics["tokens"] > 0 and metrics["average_steps"] >= 1
    for arm in ("learning on", "learning off"):
        assert f"] {arm}, iteration 1, training, " in result.stderr
        assert f"] {arm}, iteration 1, test, " in result.stderr
    (listed,) = list_results(Paths(home).benchmarks_dir)
    assert listed.result is not None and json.loads(listed.result.to_json()) == printed
    assert "and in the database (result 1)" in result.stderr
