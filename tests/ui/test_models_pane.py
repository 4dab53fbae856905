"""The models pane in the real window, offscreen: files dropped on the window, the bundled
model loaded and unloaded, the memory budget, servers and their API keys, and opening a GGUF
file with the app."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.app import AppParts, build_app_parts
from purpose_desktop.config import HOME_ENV, Paths, load_settings, resources_dir
from purpose_desktop.errors import ModelError
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.ui.application import build_main_window
from purpose_desktop.ui.error_dialog import ErrorReporter
from purpose_desktop.ui.main_window import MainWindow
from purpose_desktop.ui.models.server_dialog import ServerDialog
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets
from purpose_desktop.ui.theme import apply_theme

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]
Screenshot = Callable[[Any, str], Path]
SMOLLM2 = "bundled:smollm2-135m"


@pytest.fixture
def services(home: Paths) -> AppParts:
    return build_app_parts(home)


@pytest.fixture
def window(services: AppParts, run_in_qt_loop: RunInLoop) -> Iterator[MainWindow]:
    """The application's window with the real model manager."""
    reporter = ErrorReporter(None, services.paths.log_file)
    main = build_main_window(
        paths=services.paths,
        settings=services.settings,
        runner=services.runner,
        reporter=reporter,
        models=lambda: services.models,
    )
    main.resize(1200, 760)
    main.show()
    yield main
    main.close()

    async def shut_down() -> None:
        await main.stop_background_work()
        await services.aclose()
        main.deleteLater()

    run_in_qt_loop(shut_down())
    # Any error a task raised would have opened a dialog: the test saw none.
    assert reporter.open_dialogs == []


async def until(condition: Callable[[], bool], within: float = 120.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


async def started(window: MainWindow) -> None:
    """The window's background work done: models described, the budget known."""
    window.start_background_work()
    pane = window.models_pane
    await until(lambda: pane.table.rowCount() >= 2 and pane.budget.isEnabled())


def mime_with_files(paths: list[Path]) -> QtCore.QMimeData:
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path)) for path in paths])
    return mime


def drag_onto(window: MainWindow, mime: QtCore.QMimeData) -> bool:
    """Drag ``mime`` over the middle of the window; whether the window would take it."""
    where = window.rect().center()
    enter = QtGui.QDragEnterEvent(
        where,
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    QtWidgets.QApplication.sendEvent(window, enter)
    return enter.isAccepted()


def drop_onto(window: MainWindow, mime: QtCore.QMimeData) -> None:
    drop = QtGui.QDropEvent(
        QtCore.QPointF(window.rect().center()),
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    QtWidgets.QApplication.sendEvent(window, drop)
    assert drop.isAccepted()


def file_with(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.model
def test_a_drop_adds_the_good_gguf_and_says_why_each_bad_file_was_not_added(
    window: MainWindow,
    home: Paths,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
    qapp_kept: QtWidgets.QApplication,
) -> None:
    qapp = qapp_kept
    downloads = home.home.parent / "Downloads"  # beside the app's home, not in it
    downloads.mkdir()
    good = Path(shutil.copy(smollm2_path(), downloads / "smol.gguf"))
    bad = [
        file_with(downloads / "empty.gguf", b""),
        file_with(downloads / "cut.gguf", smollm2_path().read_bytes()[:3_000_000]),
        file_with(downloads / "notes.gguf", b"Meeting notes, not a model\n" * 40),
        file_with(downloads / "readme.txt", b"read me"),
    ]
    window.tabs.setCurrentWidget(window.team_pane)
    pane = window.models_pane

    async def scenario() -> None:
        await started(window)
        text_only = QtCore.QMimeData()
        text_only.setText("just some text")
        assert not drag_onto(window, text_only)
        mime = mime_with_files([bad[0], good, *bad[1:]])
        assert drag_onto(window, mime)
        drop_onto(window, mime)
        await until(
            lambda: len(pane.notes_text.splitlines()) == 5 and not pane.progress_row.isVisible()
        )
        await until(lambda: pane.status_of("smol.gguf") != "")  # the catalog read it again

    run_in_qt_loop(scenario())
    assert window.tabs.currentWidget() is window.models_tab  # the drop brought the pane forward
    assert sorted(path.name for path in home.models_dir.glob("*.gguf*")) == ["smol.gguf"]
    assert (home.models_dir / "smol.gguf").read_bytes() == good.read_bytes()
    assert pane.status_of("smol.gguf") == "available"
    notes = pane.notes_text.splitlines()
    assert notes[0].startswith("empty.gguf was not added.") and "is empty" in notes[0]
    assert notes[1] == "Added smol.gguf (Smollm2 135M 8k Lc100K Mix1 Ep2) to the models folder."
    assert notes[2].startswith("cut.gguf was not added.") and "truncated" in notes[2]
    assert notes[3].startswith("notes.gguf was not added.")
    assert "not a GGUF model file" in notes[3]
    assert notes[4] == ("readme.txt was not added: only GGUF model files (.gguf) can be added.")
    assert pane.summary.text() == "3 of 3 models available"
    for scheme in ("light", "dark"):
        apply_theme(qapp, scheme)
        qapp.processEvents()  # the widgets take the new palette
        screenshot(window, f"models-bad-drop-{scheme}")


@pytest.fixture
def qapp_kept(qapp: QtWidgets.QApplication) -> Iterator[QtWidgets.QApplication]:
    """The application, whose look a test may change: put back as it was afterwards."""
    before = (qapp.style().name(), QtGui.QPalette(qapp.palette()))
    yield qapp
    qapp.setStyle(before[0])
    qapp.setPalette(before[1])


@pytest.mark.model
def test_the_bundled_model_is_loaded_and_unloaded_from_the_pane(
    window: MainWindow,
    services: AppParts,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    pane = window.models_pane
    pool = services.models.pool
    window.tabs.setCurrentWidget(window.models_tab)
    seen_loading: list[bool] = []

    async def scenario() -> None:
        screenshot(window, "models-empty")  # before the files are read
        assert pane.summary.text() == "Reading model files…"
        assert not pane.budget_button.isEnabled()  # the budget in force is not known yet
        await started(window)
        screenshot(window, "models-pane")
        assert pane.status_of(SMOLLM2) == "available"
        assert pane.memory_bar.text() == (
            f"0 MiB of {pool.memory_budget // 2**20} MiB in use (estimated)"
        )
        assert pane.budget.value() == pool.memory_budget // 2**20
        pane.select(SMOLLM2)
        assert pane.load_button.isEnabled() and not pane.unload_button.isEnabled()
        pane.load_button.click()
        assert pane.progress_row.isVisible() and pane.cancel_button.isEnabled()
        assert not pane.load_button.isEnabled()  # one piece of work at a time
        await until(lambda: pane.status_of(SMOLLM2) != "available")
        seen_loading.append(pane.status_of(SMOLLM2) == "loading…")
        screenshot(window, "models-loading")
        await until(lambda: pane.status_of(SMOLLM2) == "loaded")
        await until(lambda: not pane.progress_row.isVisible())
        screenshot(window, "models-loaded")
        loaded = pool.loaded()
        assert [model.name for model in loaded] == ["smollm2-135m"]
        assert pane.memory_bar.text().startswith(f"{loaded[0].memory_bytes / 2**20:.0f} MiB of ")
        assert pane.notes_text.startswith(f"{SMOLLM2} is loaded and holds about")
        assert pane.unload_button.isEnabled() and not pane.load_button.isEnabled()
        pane.unload_button.click()
        await until(lambda: pane.status_of(SMOLLM2) == "available")
        await until(lambda: not pane.progress_row.isVisible())

    run_in_qt_loop(scenario())
    assert seen_loading == [True]
    assert pool.loaded() == [] and pool.memory_in_use == 0
    assert pane.memory_bar.text().startswith("0 MiB of ")
    assert pane.notes_text == f"{SMOLLM2} is unloaded."


@pytest.mark.model
def test_a_lower_budget_is_saved_and_a_model_over_it_is_refused_with_what_it_needs(
    window: MainWindow,
    services: AppParts,
    home: Paths,
    run_in_qt_loop: RunInLoop,
) -> None:
    pane = window.models_pane
    window.tabs.setCurrentWidget(window.models_tab)

    async def scenario() -> None:
        await started(window)
        pane.budget.setValue(64)
        pane.budget_button.click()
        await until(lambda: "64 MiB" in pane.notes_text)
        pane.select(SMOLLM2)
        pane.load_button.click()
        await until(lambda: pane.status_of(SMOLLM2) == "error")
        await until(lambda: not pane.progress_row.isVisible())

    run_in_qt_loop(scenario())
    assert services.models.pool.memory_budget == 64 * 2**20
    assert services.models.pool.loaded() == []
    assert load_settings(home).model_memory_mib == 64  # kept for the next start
    message = pane.notes_text
    assert "The model 'smollm2-135m' needs about" in message
    assert "the memory budget for models is 64 MiB" in message
    assert "64 MiB of 64 MiB" not in pane.memory_bar.text()


@pytest.mark.model
def test_a_copy_and_a_load_under_way_can_be_cancelled(
    window: MainWindow, services: AppParts, home: Paths, run_in_qt_loop: RunInLoop
) -> None:
    pane = window.models_pane
    window.tabs.setCurrentWidget(window.models_tab)
    # A model file followed by 400 MiB of padding: long enough to copy that Cancel lands
    # while the copy is under way (the padding is sparse, so making it costs nothing).
    big = Path(shutil.copy(smollm2_path(), home.home.parent / "big.gguf"))
    os.truncate(big, 400 * 2**20)
    said: list[str] = []

    def cancel_once_copying() -> None:
        if pane.progress_label.text().startswith("Copying") and pane.cancel_button.isEnabled():
            pane.cancel_button.click()

    async def scenario() -> None:
        await started(window)
        pane.progress.valueChanged.connect(cancel_once_copying)
        window.models_controller.add_files([big])
        await until(lambda: "cancelled" in pane.notes_text)
        await until(lambda: not pane.progress_row.isVisible())
        pane.progress.valueChanged.disconnect(cancel_once_copying)
        said.append(pane.notes_text)
        pane.select(SMOLLM2)
        pane.load_button.click()
        await until(lambda: pane.status_of(SMOLLM2) == "loading…")
        pane.cancel_button.click()
        await until(lambda: not pane.progress_row.isVisible())
        said.append(pane.notes_text)

    run_in_qt_loop(scenario())
    copy_note, load_note = said
    assert copy_note == "Adding big.gguf was cancelled; nothing was added."
    assert list(home.models_dir.glob("big.gguf*")) == []  # no half file either
    assert load_note == f"Loading {SMOLLM2} was cancelled."
    assert pane.status_of(SMOLLM2) == "available"
    assert services.models.pool.loaded() == [] and services.models.pool.memory_in_use == 0


def closed_port() -> int:
    """A local port nothing listens on: a server that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.usefixtures("no_keyring")
def test_a_server_is_added_without_a_keyring_and_a_server_down_is_reported(
    window: MainWindow,
    services: AppParts,
    home: Paths,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    pane = window.models_pane
    servers = pane.servers
    window.tabs.setCurrentWidget(window.models_tab)
    down = closed_port()
    secret = "sk-secret-not-for-files-4711"
    said: list[str] = []

    async def scenario() -> None:
        await started(window)
        # Probed once the pane was seen and the background work had begun.
        await until(lambda: len(servers.reports) == 2)  # llama.cpp and Ollama
        servers.add_server_button.click()
        dialog = window.findChild(ServerDialog)
        assert dialog is not None and dialog.isVisible()
        await until(lambda: "cannot be saved" in dialog.keyring_note.text())
        screenshot(dialog, "models-server-dialog")
        dialog.name_edit.setText("lab")
        dialog.url_edit.setText(f"http://127.0.0.1:{down}/v1")
        dialog.key_edit.setText(secret)
        assert dialog.ok_button.isEnabled()
        dialog.ok_button.click()
        assert not dialog.isVisible()
        await until(lambda: servers.state_of(f"lab (http://127.0.0.1:{down}/v1)") != "")
        said.append(pane.notes_text)
        screenshot(window, "models-servers")
        # Runs find the new server without a restart: it is asked, and found down.
        with pytest.raises(ModelError) as failed:
            async with services.models.use("server:lab/any", home.home, lambda s: None):
                pass
        said.append(str(failed.value))
        servers.ollama_host.setText(f"127.0.0.1:{down}")
        servers.host_button.click()
        await until(lambda: servers.state_of(f"http://127.0.0.1:{down}") != "")
        said.append(pane.notes_text)

    run_in_qt_loop(scenario())
    added, run_error, host_set = said
    assert added.startswith(f"Added the server 'lab' at http://127.0.0.1:{down}/v1.")
    assert "Its API key was not saved: No system keyring is available" in added
    assert "not written anywhere else" in added
    assert "does not name a configured server" not in run_error and "lab" in run_error
    assert host_set == f"Ollama is looked for at http://127.0.0.1:{down}."
    assert servers.state_of(f"lab (http://127.0.0.1:{down}/v1)").startswith("not reachable:")
    assert servers.state_of(f"http://127.0.0.1:{down}").startswith("not reachable:")
    settings = load_settings(home)
    assert [(s.name, s.base_url) for s in settings.servers] == [
        ("lab", f"http://127.0.0.1:{down}/v1")
    ]
    assert settings.ollama_host == f"127.0.0.1:{down}"
    # Nothing the app wrote holds the key: it was refused, not kept in a file instead.
    for path in home.home.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_a_bad_ollama_address_is_refused_and_not_saved(
    window: MainWindow, home: Paths, run_in_qt_loop: RunInLoop
) -> None:
    pane = window.models_pane

    async def scenario() -> None:
        await started(window)
        pane.servers.ollama_host.setText("http://[::1")
        pane.servers.host_button.click()
        await until(lambda: pane.notes_text != "")

    run_in_qt_loop(scenario())
    assert "is not a valid address for an Ollama server" in pane.notes_text
    assert load_settings(home).ollama_host is None


def test_the_server_dialog_says_what_is_wrong_before_it_can_be_accepted(qtbot: Any) -> None:
    dialog = ServerDialog(["lab"])
    qtbot.addWidget(dialog)
    entered: list[tuple[str, str, str]] = []
    dialog.server_entered.connect(lambda *values: entered.append(values))
    dialog.open()
    assert not dialog.ok_button.isEnabled()  # nothing typed yet, and nothing marked
    assert dialog.name_edit.toolTip() == ""
    for name, problem in (("lab", "already set up"), ("a/b", "cannot contain '/'")):
        dialog.name_edit.setText(name)
        assert problem in dialog.name_edit.toolTip() and not dialog.ok_button.isEnabled()
    dialog.name_edit.setText("studio")
    dialog.url_edit.setText("ftp://127.0.0.1/v1")
    assert "http://" in dialog.url_edit.toolTip() and not dialog.ok_button.isEnabled()
    dialog.url_edit.setText(" http://127.0.0.1:1234/v1 ")
    dialog.key_edit.setText("sk-1")
    assert dialog.ok_button.isEnabled()
    dialog.ok_button.click()
    assert entered == [("studio", "http://127.0.0.1:1234/v1", "sk-1")]
    assert dialog.key_edit.text() == ""  # the dialog does not keep the key


def test_the_desktop_entry_opens_gguf_files_with_the_app() -> None:
    entry = (resources_dir() / "purpose-desktop.desktop").read_text(encoding="utf-8")
    lines = dict(line.split("=", 1) for line in entry.splitlines() if "=" in line)
    assert lines["Exec"] == "purpose-desktop %F"
    assert "application/x-gguf" in lines["MimeType"].split(";")
    mime = (resources_dir() / "purpose-desktop-gguf.xml").read_text(encoding="utf-8")
    assert 'type="application/x-gguf"' in mime and 'pattern="*.gguf"' in mime


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.model
def test_opening_a_gguf_file_with_the_app_adds_it(tmp_path: Path) -> None:
    home = Paths(tmp_path / "home")
    download = Path(shutil.copy(smollm2_path(), tmp_path / "smol.gguf"))
    env = {
        **os.environ,
        HOME_ENV: str(home.home),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONWARNINGS": "error",
    }
    # What a file manager runs for "open with" (Exec=purpose-desktop %F).
    command = [sys.executable, "-m", "purpose_desktop", "--quit-after-shown", "300", str(download)]
    added = home.models_dir / "smol.gguf"
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as app:
        try:
            appeared = appears(added, app, within=120)
        finally:
            app.send_signal(signal.SIGTERM)  # closes the window as a person would
            _, stderr = app.communicate(timeout=60)
    assert appeared, stderr
    assert (app.returncode, stderr) == (0, "")
    # The file takes its name only once it is whole.
    assert added.read_bytes() == download.read_bytes()


def appears(path: Path, app: subprocess.Popen[str], within: float) -> bool:
    """Whether ``path`` appears while ``app`` runs, within ``within`` seconds."""
    deadline = time.monotonic() + within
    while app.poll() is None and time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.1)
    return path.exists()
