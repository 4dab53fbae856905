"""The desktop app started as its own process, offscreen, and closed again."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from purpose_desktop.config import Paths
from tests.support.gui_process import gui_env, start_app

REQUIRE_XVFB_ENV = "PURPOSE_DESKTOP_REQUIRE_XVFB"
"""When ``1`` (CI sets it), a missing Xvfb fails the test that needs it instead of skipping it."""


def run_script(script: str, home: Path) -> subprocess.CompletedProcess[str]:
    """``script`` run by Python with the app's environment for ``home``."""
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=gui_env(home),
        timeout=120,
        check=False,
    )


def test_window_closed_at_once_shuts_down_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-m", "purpose_desktop", "--quit-after-shown", "0"],
        capture_output=True,
        text=True,
        env=gui_env(home),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    shown = json.loads(result.stdout.strip().splitlines()[-1])["shown_at"]
    assert started < shown < time.time()
    assert Paths(home).window_state_file.is_file()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_first_launch_opens_the_sample_team_and_a_signal_closes_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    paths = Paths(home)
    process = start_app(gui_env(home))
    try:
        assert process.stdout is not None
        assert "shown_at" in process.stdout.readline()
        deadline = time.monotonic() + 120
        # The sample team is opened on first launch and remembered for the next one.
        while not paths.settings_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        settings = json.loads(paths.settings_file.read_text(encoding="utf-8"))
        assert settings["last_team_file"].endswith("example.yaml")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert stderr == ""
    assert paths.window_state_file.is_file()  # closed through the window, which saved it
    log = paths.log_file.read_text(encoding="utf-8")
    assert "Traceback" not in log
    assert " ERROR " not in log


OPEN_AND_CLOSE_FILE_DIALOG = """
import asyncio, sys
from purpose_desktop.app import build_app_parts
from purpose_desktop.ui.application import build_main_window, create_qapplication
from purpose_desktop.ui.error_dialog import ErrorReporter
from purpose_desktop.ui.qt import QtWidgets

services = build_app_parts()
app = create_qapplication(services.paths)
window = build_main_window(
    paths=services.paths, settings=services.settings, runner=services.runner,
    reporter=ErrorReporter(None, services.paths.log_file),
)
window.show()
window.open_team_dialog()
dialog = window.findChild(QtWidgets.QFileDialog)
dialog.reject()
window.close()
app.processEvents()
"""


def test_nothing_is_written_outside_the_home_folder(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = gui_env(
        home,
        HOME=str(elsewhere),
        XDG_CONFIG_HOME=str(elsewhere / "config"),
        XDG_DATA_HOME=str(elsewhere / "data"),
        XDG_CACHE_HOME=str(elsewhere / "cache"),
        XDG_STATE_HOME=str(elsewhere / "state"),
        APPDATA=str(elsewhere / "appdata"),
        LOCALAPPDATA=str(elsewhere / "localappdata"),
    )
    env.pop("PYTHONDEVMODE")
    result = subprocess.run(
        [sys.executable, "-c", OPEN_AND_CLOSE_FILE_DIALOG],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert list(elsewhere.rglob("*")) == []
    assert (home / "qt").is_dir()  # Qt's own settings went to the home folder instead


def test_headless_commands_never_load_qt_or_llama_cpp() -> None:
    code = (
        "import sys, purpose_desktop.cli, purpose_desktop.app, purpose_desktop.engine.loop.run;"
        "bad = [m for m in ('PySide6', 'qasync', 'llama_cpp') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_gui_process_never_loads_llama_cpp() -> None:
    code = (
        "import sys, purpose_desktop.ui.application;"
        "sys.exit(1 if 'llama_cpp' in sys.modules else 0)"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def xvfb() -> str:
    """The path of Xvfb; skips the test without it, or fails it where it is required."""
    found = shutil.which("Xvfb")
    if found is None:
        reason = "needs Xvfb, an X server to take away (Debian's package: xvfb)"
        if os.environ.get(REQUIRE_XVFB_ENV) == "1":
            pytest.fail(f"{REQUIRE_XVFB_ENV}=1 but this {reason}", pytrace=False)
        pytest.skip(reason)
    return found


def start_xvfb(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """An X server on a display number it chose itself among those free on this machine (a
    fixed one may be taken), and that display's name. What it says goes to ``log``."""
    read, write = os.pipe()
    try:
        with log.open("wb") as messages:
            # -displayfd: Xvfb picks the display and writes its number there once it listens.
            server = subprocess.Popen(
                [xvfb(), "-displayfd", str(write), "-nolisten", "tcp"],
                pass_fds=(write,),
                stdout=subprocess.DEVNULL,
                stderr=messages,
            )
    finally:
        os.close(write)
    with os.fdopen(read, encoding="ascii") as numbers:
        number = numbers.readline().strip()  # at its end, should Xvfb stop without a display
    if not number.isdigit():
        server.kill()
        server.wait()
        pytest.fail(f"Xvfb did not start: {log.read_text(errors='replace')}", pytrace=False)
    return server, f":{number}"


def test_losing_the_display_closes_the_app_with_a_message_not_a_traceback(
    tmp_path: Path,
) -> None:
    server, display = start_xvfb(tmp_path / "xvfb.log")
    env = {**gui_env(tmp_path / "home"), "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    app = start_app(env)
    try:
        assert app.stdout is not None
        if "shown_at" not in app.stdout.readline():
            pytest.fail(
                f"the app did not start on Xvfb: {app.communicate(timeout=60)[1]}", pytrace=False
            )
        server.terminate()  # the display goes away under the running app
        server.wait(10)
        _, stderr = app.communicate(timeout=60)
    finally:
        app.kill()
        server.kill()
        server.wait()
    assert app.returncode == 1
    assert "connection to the display was lost" in stderr
    assert "Traceback" not in stderr


BREAK_A_SLOT_AFTER_START = """
import json, sys
from purpose_desktop import cli
from purpose_desktop.ui import application
from purpose_desktop.ui.qt import QtCore, QtWidgets

started = application._after_shown


def broken_slot():
    raise ValueError("a slot broke after start-up")


def report_dialogs():
    texts = [widget.text() for widget in QtWidgets.QApplication.topLevelWidgets()
             if widget.objectName() == "errorDialog" and widget.isVisible()]
    print(json.dumps({"error_dialogs": texts}), flush=True)


def after_shown(app, window, quit_after_shown):
    started(app, window, quit_after_shown)
    QtCore.QTimer.singleShot(100, broken_slot)
    QtCore.QTimer.singleShot(600, report_dialogs)


application._after_shown = after_shown
sys.exit(cli.main(["--quit-after-shown", "1.5"]))
"""


def test_an_error_in_a_slot_of_the_running_app_is_shown_and_logged(tmp_path: Path) -> None:
    # Through the app's own start-up: it is the application that installs the hook.
    home = tmp_path / "home"
    result = run_script(BREAK_A_SLOT_AFTER_START, home)
    assert result.returncode == 0, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines() if "error_dialogs" in line]
    assert reports, result.stdout
    assert any("a slot broke after start-up" in text for text in reports[0]["error_dialogs"])
    log = Paths(home).log_file.read_text(encoding="utf-8")
    assert "ValueError: a slot broke after start-up" in log
    assert "Traceback" in log


REPORT_WHAT_WAS_LOADED_WHEN_SHOWN = """
import json, sys
from purpose_desktop import cli
from purpose_desktop.ui import application
from purpose_desktop.ui.qt import QtCore

started = application._after_shown


def after_shown(app, window, quit_after_shown):
    loaded = [name for name in ("purpose_desktop.engine.loop.run", "purpose_desktop.engine.events",
                                "purpose_desktop.models.router", "sqlalchemy", "pydantic",
                                "purpose_desktop.ui.run.pane")
              if name in sys.modules]
    # PySide6 builds every QtCore.Qt enum on the first touch of QtCore.Qt; until then the
    # module has no such attribute.
    print(json.dumps({"loaded": loaded, "qt_enums_built": "Qt" in vars(QtCore)}), flush=True)
    started(app, window, quit_after_shown)


application._after_shown = after_shown
sys.exit(cli.main(["--quit-after-shown", "0"]))
"""


def test_the_window_shows_before_the_engine_the_models_and_the_database_are_loaded(
    tmp_path: Path,
) -> None:
    # What the window does not show waits until it is on screen (docs/benchmarks.md).
    result = run_script(REPORT_WHAT_WAS_LOADED_WHEN_SHOWN, tmp_path / "home")
    assert result.returncode == 0, result.stderr
    report = json.loads(next(line for line in result.stdout.splitlines() if "loaded" in line))
    assert report == {"loaded": [], "qt_enums_built": False}


BREAK_THE_START = """
import json, sys
from purpose_desktop import cli
from purpose_desktop.ui import application
from purpose_desktop.ui.qt import QtCore, QtWidgets


def broken_window(**kwargs):
    QtCore.QTimer.singleShot(500, report_and_close)  # runs inside the dialog's own loop
    raise RuntimeError("the window could not be built")


def report_and_close():
    boxes = [widget for widget in QtWidgets.QApplication.topLevelWidgets()
             if widget.objectName() == "errorDialog" and widget.isVisible()]
    print(json.dumps({"error_dialogs": [[box.text(), box.informativeText(), box.detailedText()]
                                        for box in boxes]}), flush=True)
    for box in boxes:
        box.close()


application.build_main_window = broken_window
sys.exit(cli.main([]))
"""


def test_a_start_that_fails_is_shown_with_the_log_file_and_logged(tmp_path: Path) -> None:
    # Started from a menu there is no terminal: the dialog is all the person sees.
    home = tmp_path / "home"
    result = run_script(BREAK_THE_START, home)
    assert result.returncode == 1, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines() if "error_dialogs" in line]
    assert reports, result.stdout + result.stderr
    ((text, informative, details),) = reports[0]["error_dialogs"]
    assert "the window could not be built" in text
    assert str(Paths(home).log_file) in informative
    assert "RuntimeError: the window could not be built" in details
    log = Paths(home).log_file.read_text(encoding="utf-8")
    assert "RuntimeError: the window could not be built" in log and "Traceback" in log
