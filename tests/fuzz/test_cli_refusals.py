"""A handful of bad inputs through the real ``purpose-desktop`` command: each is refused with
exit code 2 and one line, or (bad settings) said in one warning while the command goes on;
never a traceback, a signal or a hang."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from purpose_desktop.config import HOME_ENV

pytestmark = pytest.mark.process

CORPUS = Path(__file__).with_name("corpus")
HANG_SECONDS = 60


def purpose_desktop(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "purpose_desktop", *args],
        capture_output=True,
        text=True,
        timeout=HANG_SECONDS,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, HOME_ENV: str(home)},
    )
    assert result.returncode >= 0, f"killed by signal {-result.returncode}"
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["teams", "save", str(CORPUS / "team/billion-laughs.yaml")],
            "refused: it holds more than 100,000 values",
        ),
        (
            ["run", str(CORPUS / "team/esc.yaml"), "--task", "Hello"],
            "the control character U+001B is not allowed",
        ),
        (
            ["runs", "import", str(CORPUS / "runs/deep.jsonl")],
            "line 1: it is nested more than 50 levels deep",
        ),
        (["memory", "import", str(CORPUS / "memory/surrogate.json")], "is not valid text"),
    ],
)
def test_a_bad_file_is_refused_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = purpose_desktop(*args, home=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("purpose-desktop: ")
    assert message in line


def test_settings_nested_too_deep_cost_only_themselves(tmp_path: Path) -> None:
    shutil.copy(CORPUS / "settings/deep.json", tmp_path / "settings.json")
    result = purpose_desktop("runs", "list", home=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("No runs yet.")
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"purpose-desktop: warning: {tmp_path / 'settings.json'} could not "
        "be read (it is nested more than 50 levels deep)"
    )


def test_adding_a_model_that_is_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "a.gguf", tmp_path / "b.gguf"
    first.symlink_to(second)
    second.symlink_to(first)
    result = purpose_desktop("models", "add", str(first), home=tmp_path / "home")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"purpose-desktop: {first} cannot be added: it is a symbolic link that leads back to "
        "itself, not to a file."
    ]
