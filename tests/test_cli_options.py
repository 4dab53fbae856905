"""The command line: a plain start of the window skips building the whole parser."""

from __future__ import annotations

import argparse

import pytest
from purpose_desktop import cli


def test_the_command_names_are_those_the_parser_knows() -> None:
    parser = cli._parser()
    commands = next(action for action in parser._actions
                    if isinstance(action, argparse._SubParsersAction))
    assert set(commands.choices) == set(cli.COMMANDS)


def test_a_plain_start_of_the_window_is_read_without_the_whole_parser() -> None:
    options = cli._window_options(["--quit-after-shown", "2"])
    assert options is not None
    assert options.quit_after_shown == 2.0
    assert options.command is None
    assert cli._window_options([]) is not None


@pytest.mark.parametrize("argv", [["run", "team.yaml", "--task", "x"], ["--help"], ["-h"],
                                  ["--version"], ["rnu"], ["--quit-after-shown"]])
def test_anything_else_goes_to_the_whole_parser(argv: list[str]) -> None:
    assert cli._window_options(argv) is None
