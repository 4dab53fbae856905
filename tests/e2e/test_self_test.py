"""``purpose-desktop self-test``: the installation check a built bundle runs, from source."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from purpose_desktop.config import HOME_ENV

TIMEOUT = 300


def self_test(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, HOME_ENV: str(home), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "purpose_desktop", "self-test", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )


CHECKS = ("resources", "database", "model", "python", "window")


def verdicts(stdout: str) -> dict[str, str]:
    """Each check's name and its mark (ok or FAILED)."""
    return {
        line.split()[0]: line.split()[1]
        for line in stdout.splitlines()
        if line.split()[:1] and line.split()[0] in CHECKS
    }


def test_every_check_passes_and_the_home_folder_is_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = self_test(home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == {
        "resources": "ok",
        "database": "ok",
        "model": "ok",
        "python": "ok",
        "window": "ok",
    }
    assert "generated 8 tokens" in result.stdout
    assert "ran code in the OS sandbox (namespaces, Landlock, seccomp)" in result.stdout
    assert "All checks passed." in result.stdout
    assert list(home.iterdir()) == []  # everything happened in a throwaway home folder


def test_a_failing_check_is_named_and_the_others_still_run(tmp_path: Path) -> None:
    result = self_test("--model", "missing-model.gguf", home=tmp_path)
    assert result.returncode == 1
    assert verdicts(result.stdout) == {
        "resources": "ok",
        "database": "ok",
        "model": "FAILED",
        "python": "ok",
        "window": "ok",
    }
    assert "missing-model.gguf" in result.stdout
    assert "Failed: model." in result.stdout
