"""File ▸ Settings…: the dialog on its own with real widgets, checking what is typed, and
through the main window, saving to the home folder's settings file that the next start reads."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from purpose_desktop.app import AppParts, build_app_parts
from purpose_desktop.config import STORE_URL_ENV, Paths, Settings, load_settings
from purpose_desktop.ui.application import build_main_window
from purpose_desktop.ui.error_dialog import ErrorReporter
from purpose_desktop.ui.main_window import MainWindow
from purpose_desktop.ui.qt import QtCore, QtWidgets
from purpose_desktop.ui.settings_dialog import ELSEWHERE_NOTE, RESTART_NOTE, SettingsDialog
from pytestqt.qtbot import QtBot
from tests.support.waiting import wait_until

Screenshot = Callable[[Any, str], Path]


def in_window(
    home: Paths,
    run_in_qt_loop: Callable[[Any], Any],
    scenario: Callable[[AppParts, MainWindow, ErrorReporter], Coroutine[Any, Any, None]],
) -> AppParts:
    """Run ``scenario`` on a main window of ``home``, which is closed afterwards; the app's
    parts, closed by the scenario."""
    parts = build_app_parts(home)
    reporter = ErrorReporter(None, home.log_file)
    window = build_main_window(
        paths=home, settings=parts.settings, runner=parts.runner, reporter=reporter
    )
    window.show()
    try:
        run_in_qt_loop(scenario(parts, window, reporter))
    finally:
        window.close()
        window.deleteLater()
    return parts


def dialog_for(qtbot: QtBot, settings: Settings) -> SettingsDialog:
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_the_dialog_shows_the_settings_and_reports_only_what_changed(
    qtbot: QtBot, tmp_path: Path, screenshot: Screenshot
) -> None:
    settings = Settings(n_threads=2, context_size=2048, tracing_endpoint="http://lab:4318")
    dialog = dialog_for(qtbot, settings)
    assert (dialog.threads.value(), dialog.context_size.value()) == (2, 2048)
    assert dialog.answer_tokens.value() == settings.max_answer_tokens
    assert dialog.tracing_endpoint.text() == "http://lab:4318" and dialog.store_url.text() == ""
    assert not dialog.tracing_endpoint.isEnabled()  # tracing is off
    assert dialog.note.text().startswith(RESTART_NOTE)
    assert dialog.changes() == {}
    screenshot(dialog, "settings-dialog")

    reported: list[dict[str, Any]] = []
    dialog.changed.connect(reported.append)
    dialog.threads.setValue(3)
    dialog.tracing_endpoint.clear()  # back to the usual address
    database = tmp_path / "runs.sqlite3"
    dialog.store_url.setText(f"sqlite:///{database}")
    dialog.tracing.setChecked(True)
    assert dialog.tracing_endpoint.isEnabled()
    qtbot.keyClick(dialog, QtCore.Qt.Key.Key_Return)  # Enter saves
    assert reported == [
        {
            "n_threads": 3,
            "store_url": f"sqlite:///{database}",
            "tracing": True,
            "tracing_endpoint": None,
        }
    ]
    assert not dialog.isVisible()


def test_an_address_or_database_that_cannot_be_used_is_named_and_not_saved(
    qtbot: QtBot, tmp_path: Path, screenshot: Screenshot
) -> None:
    dialog = dialog_for(qtbot, Settings())
    reported: list[dict[str, Any]] = []
    dialog.changed.connect(reported.append)
    dialog.tracing.setChecked(True)
    dialog.tracing_endpoint.setText("lab:4318")
    assert not dialog.save_button.isEnabled()
    assert dialog.tracing_endpoint.toolTip() == (
        "The address starts with http:// or https://, like http://localhost:4318/v1/traces"
    )
    dialog.tracing_endpoint.setText("http://lab:4318")
    assert dialog.save_button.isEnabled() and dialog.tracing_endpoint.toolTip() == ""
    dialog.store_url.setText("sqlite:///runs.sqlite3")  # a relative path moves with the start
    assert not dialog.save_button.isEnabled()
    assert "must name a SQLite file by its absolute path" in dialog.store_url.toolTip()
    dialog.store_url.setText(f"sqlite:///{tmp_path / 'missing' / 'runs.sqlite3'}")
    assert "does not exist" in dialog.store_url.toolTip()
    screenshot(dialog, "settings-dialog-invalid")
    dialog.accept()  # as Enter would: nothing is reported while something is wrong
    assert reported == [] and dialog.isVisible()
    qtbot.keyClick(dialog, QtCore.Qt.Key.Key_Escape)
    assert reported == [] and not dialog.isVisible()


def test_settings_saved_from_the_window_are_what_the_next_start_reads(
    home: Paths, qtbot: QtBot, run_in_qt_loop: Callable[[Any], Any]
) -> None:
    async def scenario(parts: AppParts, window: MainWindow, _reporter: ErrorReporter) -> None:
        file_menu = window.menuBar().actions()[0].menu()
        assert isinstance(file_menu, QtWidgets.QMenu)
        assert window.settings_action in file_menu.actions()
        assert window.settings_action.shortcut().toString() == "Ctrl+,"
        window.settings_action.trigger()
        dialog = window.settings_dialog
        assert dialog is not None and dialog.isVisible()
        window.settings_action.trigger()  # a second time: the same dialog, not another
        assert window.settings_dialog is dialog
        dialog.threads.setValue(parts.settings.n_threads + 1)
        dialog.answer_tokens.setValue(300)
        dialog.save_button.click()
        assert window.settings_dialog is None  # closed, and deleted
        # Said once the file is written, not when Save is pressed.
        assert window.statusBar().currentMessage() != f"Settings saved. {RESTART_NOTE}"
        await wait_until(home.settings_file.exists, 10)
        await wait_until(lambda: load_settings(home).max_answer_tokens == 300, 10)
        await wait_until(
            lambda: window.statusBar().currentMessage() == f"Settings saved. {RESTART_NOTE}", 10
        )
        await window.stop_background_work()
        await parts.aclose()

    parts = in_window(home, run_in_qt_loop, scenario)
    again = build_app_parts(home)
    try:
        assert again.settings.n_threads == parts.settings.n_threads + 1
        assert again.settings.max_answer_tokens == 300
    finally:
        run_in_qt_loop(again.aclose())


def test_settings_that_cannot_be_written_are_reported_and_not_called_saved(
    home: Paths, qtbot: QtBot, run_in_qt_loop: Callable[[Any], Any]
) -> None:
    async def scenario(parts: AppParts, window: MainWindow, reporter: ErrorReporter) -> None:
        home.settings_file.unlink(missing_ok=True)
        home.settings_file.mkdir()  # where the file should go: writing it fails
        dialog = window.open_settings()
        dialog.answer_tokens.setValue(300)
        dialog.save_button.click()
        await wait_until(lambda: bool(reporter.open_dialogs), 10)
        assert "settings" in reporter.open_dialogs[0].text().lower()
        assert window.statusBar().currentMessage() != f"Settings saved. {RESTART_NOTE}"
        for box in reporter.open_dialogs:
            box.close()
        await window.stop_background_work()
        await parts.aclose()

    in_window(home, run_in_qt_loop, scenario)


def test_a_collector_address_is_checked_only_while_tracing_is_on(qtbot: QtBot) -> None:
    # Kept in the file from before, with tracing off: it must not block other changes.
    dialog = dialog_for(qtbot, Settings(tracing_endpoint="lab:4318"))
    assert dialog.save_button.isEnabled() and dialog.tracing_endpoint.toolTip() == ""
    dialog.tracing.setChecked(True)
    assert not dialog.save_button.isEnabled()
    assert dialog.tracing_endpoint.toolTip().startswith("The address starts with http://")


def test_a_password_in_the_database_address_is_refused(qtbot: QtBot) -> None:
    dialog = dialog_for(qtbot, Settings())
    dialog.store_url.setText("postgresql://me:secret@db.example.org/purpose")
    assert not dialog.save_button.isEnabled()
    assert dialog.store_url.toolTip().startswith("Leave the password out")
    dialog.store_url.setText("postgresql://me@db.example.org/purpose")
    assert dialog.save_button.isEnabled()


def test_variables_that_override_a_setting_are_named(qtbot: QtBot) -> None:
    plain = SettingsDialog(Settings(), environ={})
    qtbot.addWidget(plain)
    assert plain.note.text() == f"{RESTART_NOTE} {ELSEWHERE_NOTE}"
    overridden = SettingsDialog(
        Settings(),
        environ={
            STORE_URL_ENV: "postgresql://db.example.org/purpose",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        },
    )
    qtbot.addWidget(overridden)
    assert overridden.note.text().endswith(
        f"{STORE_URL_ENV} is set: the app uses it instead of the database here. "
        "OTEL_EXPORTER_OTLP_ENDPOINT is set: runs are traced to it whatever is chosen here."
    )
    off = SettingsDialog(Settings(), environ={"OTEL_SDK_DISABLED": "true"})
    qtbot.addWidget(off)
    assert off.note.text().endswith(
        "Tracing is turned off in the environment (OpenTelemetry's variables)."
    )
