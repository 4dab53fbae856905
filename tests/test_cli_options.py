"""The command line: a plain start of the window skips building the whole parser."""

from __future__ import annotations

import argparse

import pytest
from purpose_desktop import cli


def test_the_command_names_are_those_the_parser_knows() -> None:
    parser = cli._parser()
    commands = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    assert set(commands.choices) == set(cli.COMMANDS)


def test_a_plain_start_of_the_window_is_read_without_the_whole_parser() -> None:
    options = cli._window_options(["--quit-after-shown", "2"])
    assert options is not None
    assert options.quit_after_shown == 2.0
    assert options.command is None
    assert cli._window_options([]) is not None


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "team.yaml", "--task", "x"],
        ["--help"],
        ["-h"],
        ["--version"],
        ["rnu"],
        ["--quit-after-shown"],
    ],
)
def test_anything_else_goes_to_the_whole_parser(argv: list[str]) -> None:
    assert cli._window_options(argv) is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["runs", "list", "--limit", "-1"], "argument --limit: must be from 1 to 10,000, not -1"),
        (["runs", "list", "--limit", "0"], "argument --limit: must be from 1 to 10,000, not 0"),
        (["runs", "list", "--limit", "99999999999999999999"], "must be from 1 to 10,000"),
        (["runs", "list", "--limit", "ten"], "argument --limit: 'ten' is not a whole number"),
        (["teams", "list", "--limit", "-5"], "argument --limit: must be from 1 to 10,000"),
        (["bench", "stream", "--runs", "0"], "argument --runs: must be from 1 to 100, not 0"),
        (["bench", "stream", "--tokens", "-5"], "argument --tokens: must be from 1 to 100,000"),
        (["bench", "ui", "--agents", "0"], "argument --agents: must be from 1 to 64"),
        (["bench", "ui", "--rate", "nan"], "argument --rate: must be above zero, not nan"),
        (["bench", "ui", "--idle-seconds", "-1"], "argument --idle-seconds: must be above zero"),
        (
            ["bench", "improve", "--suite", "s", "--team", "t.yaml", "--iterations", "0"],
            "argument --iterations: must be from 1 to 1,000, not 0",
        ),
        (
            ["bench", "improve", "--suite", "s", "--team", "t.yaml", "--holdout", "95%"],
            "argument --holdout: must be above 0 and at most 0.9 (90%), not 95%",
        ),
        (
            ["bench", "improve", "--suite", "s", "--team", "t.yaml", "--holdout", "0"],
            "argument --holdout: must be above 0 and at most 0.9 (90%), not 0",
        ),
        (
            ["bench", "improve", "--suite", "s", "--team", "t.yaml", "--holdout", "some"],
            "argument --holdout: 'some' is not a share such as 0.3 or 30%",
        ),
        (
            ["bench", "improve", "--suite", "s", "--team", "t.yaml", "--repeats", "0"],
            "argument --repeats: must be from 1 to 100, not 0",
        ),
    ],
)
def test_numbers_out_of_range_are_refused_naming_the_option(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli._parser().parse_args(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_numbers_in_range_are_taken() -> None:
    args = cli._parser().parse_args(["bench", "stream", "--runs", "1", "--tokens", "100000"])
    assert (args.runs, args.tokens) == (1, 100_000)
    assert cli._parser().parse_args(["runs", "list", "--limit", "10000"]).limit == 10_000
    improve = ["bench", "improve", "--suite", "s", "--team", "t.yaml"]
    assert cli._parser().parse_args([*improve, "--holdout", "30%"]).holdout == 0.3
    assert cli._parser().parse_args([*improve, "--holdout", "0.25"]).holdout == 0.25
    assert cli._parser().parse_args(improve).holdout == 0.0
