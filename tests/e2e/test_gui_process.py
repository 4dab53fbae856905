"""The desktop app started as its own process, offscreen, and closed again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from purpose_desktop.config import HOME_ENV, Paths


@pytest.mark.parametrize("quit_after", ["0", "2"])
def test_window_opens_and_closes_cleanly_with_no_warnings(tmp_path: Path, quit_after: str) -> None:
    home = tmp_path / "home"
    env = {**os.environ, HOME_ENV: str(home), "QT_QPA_PLATFORM": "offscreen",
           "PYTHONWARNINGS": "error", "PYTHONDEVMODE": "1"}
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-m", "purpose_desktop", "--quit-after-shown", quit_after],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    shown = json.loads(result.stdout.strip().splitlines()[-1])["shown_at"]
    assert started < shown < time.time()
    paths = Paths(home)
    assert paths.window_state_file.is_file()
    if quit_after == "0":
        return  # closed at once: background work was cancelled, nothing more to check
    # The sample team was opened on first launch and remembered for the next one.
    settings = json.loads(paths.settings_file.read_text(encoding="utf-8"))
    assert settings["last_team_file"].endswith("example.yaml")
    log = paths.log_file.read_text(encoding="utf-8")
    assert "Traceback" not in log
    assert "ERROR" not in log


def test_headless_commands_never_load_qt_or_llama_cpp() -> None:
    code = (
        "import sys, purpose_desktop.cli, purpose_desktop.app, purpose_desktop.engine.run;"
        "bad = [m for m in ('PySide6', 'qasync', 'llama_cpp') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_gui_process_never_loads_llama_cpp() -> None:
    code = (
        "import sys, purpose_desktop.ui.application;"
        "sys.exit(1 if 'llama_cpp' in sys.modules else 0)"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_termination_signal_closes_the_window_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, HOME_ENV: str(home), "QT_QPA_PLATFORM": "offscreen",
           "PYTHONWARNINGS": "error"}
    process = subprocess.Popen(
        [sys.executable, "-m", "purpose_desktop", "--quit-after-shown", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    assert process.stdout is not None
    assert "shown_at" in process.stdout.readline()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert stderr == ""
    # Closing went through the window, which saved its layout on the way out.
    assert Paths(home).window_state_file.is_file()
