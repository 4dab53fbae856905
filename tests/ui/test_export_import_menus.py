"""The File menu's imports and exports, end to end in the main window: the real window over a
real SQLite database in the test's home folder, runs recorded there by the real runner (with
scripted models), real files written and read. Each file dialog is answered the way a person
answers it (a file typed in, then Open or Save); everything after that runs as in the app.

A malformed file shows the service's message (the one ``purpose-desktop`` prints) in the error
dialog and the status bar, and changes nothing in the database."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.app import AppParts, build_app_parts
from purpose_desktop.config import Paths, example_team_file
from purpose_desktop.engine.team_file import load_team
from purpose_desktop.errors import UserError
from purpose_desktop.services.memory_files import MemoryFilesService
from purpose_desktop.services.runs import RunsService
from purpose_desktop.services.store import StoreService
from purpose_desktop.services.teams import TeamsService
from purpose_desktop.ui.application import build_main_window
from purpose_desktop.ui.error_dialog import ErrorReporter
from purpose_desktop.ui.main_window import MainWindow
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets
from pytestqt.qtbot import QtBot
from tests.support.memories import remember
from tests.support.stores import counts, record_run, store_at
from tests.support.waiting import wait_until

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]
Screenshot = Callable[[Any, str], Path]
MEMORY_TABLES = ("heuristics", "experiences", "score_anchors")


@pytest.fixture(autouse=True)
def collect_qt_garbage() -> Iterator[None]:
    """Qt objects the test's loop left in reference cycles are collected here, on the main
    thread (see ``test_run_pane.py``)."""
    yield
    gc.collect()


@dataclass
class App:
    window: MainWindow
    parts: AppParts
    paths: Paths
    run_id: str
    """A run recorded in the home's database before the window opened."""
    files: Path
    """A folder for the files the test writes and reads."""

    def status(self) -> str:
        return self.window.statusBar().currentMessage()

    def error_text(self) -> str | None:
        box = self.window.exchange.error_dialog
        return box.text() if box is not None and box.isVisible() else None

    def table_counts(self, tables: tuple[str, ...] | None = None) -> dict[str, int]:
        with store_at(self.paths.database_file) as store:
            return counts(store) if tables is None else counts(store, tables)


@pytest.fixture
def app(home: Paths, tmp_path: Path, run_in_qt_loop: RunInLoop) -> Iterator[App]:
    files = tmp_path / "files"
    files.mkdir()
    (tmp_path / "recorded").mkdir()
    with store_at(home.database_file) as store:
        run_id = record_run(store, tmp_path / "recorded").run_id
    parts = build_app_parts(home)
    reporter = ErrorReporter(None, home.log_file)
    window = build_main_window(
        paths=home,
        settings=parts.settings,
        runner=lambda: parts.runner,
        reporter=reporter,
        services=parts.services,
        run_history=RunsService(parts.services.store),
    )
    window.resize(1100, 720)
    window.show()
    yield App(window, parts, home, run_id, files)

    for dialog in list(reporter.open_dialogs):
        dialog.close()
    window.close_anyway()  # outside the loop: the last window closing would stop it

    async def shutdown() -> None:
        await window.stop_background_work()
        await parts.aclose()
        window.deleteLater()

    run_in_qt_loop(shutdown())


def answer(window: MainWindow, path: Path) -> None:
    """Type ``path`` into the file dialog the window opened, and press its Open or Save."""
    dialog = window.exchange.file_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.selectFile(str(path))
    dialog.accept()


def menu_action(window: MainWindow, text: str) -> QtGui.QAction:
    """The File menu's action called ``text`` (without its ``&``)."""
    file_menu = window.menuBar().actions()[0].menu()
    assert isinstance(file_menu, QtWidgets.QMenu)
    for action in file_menu.actions():
        if action.text().replace("&", "") == text:
            return action
    raise AssertionError(f"no {text!r} in the File menu")


async def select_listed_run(window: MainWindow, run_id: str) -> None:
    """Show the Runs list and select the run ``run_id`` in it, as a person clicks it."""
    window.tabs.setCurrentWidget(window.run_tab)
    pane = window.run_pane
    pane.details_tabs.setCurrentWidget(pane.runs_list)
    await wait_until(lambda: any(run.id == run_id for run in pane.runs_list.runs))
    pane.runs_list.select(run_id)


def service_error(work: Callable[[StoreService], Coroutine[Any, Any, Any]], folder: Path) -> str:
    """The message the service (so the CLI, after "purpose-desktop: ") gives for ``work``,
    over a database of its own."""
    with store_at(folder / "scratch.sqlite3") as scratch, pytest.raises(UserError) as raised:
        asyncio.run(work(StoreService(lambda: scratch)))
    return str(raised.value)


def test_the_file_menu_offers_every_import_and_export(
    app: App, qtbot: QtBot, screenshot: Screenshot
) -> None:
    window = app.window
    file_menu = window.menuBar().actions()[0].menu()
    assert isinstance(file_menu, QtWidgets.QMenu)
    texts = [a.text().replace("&", "") for a in file_menu.actions() if not a.isSeparator()]
    assert texts[6:] == [
        "Import run…",
        "Import memory…",
        "Import team…",
        "Export run…",
        "Save run as report…",
        "Export memory…",
        "Export all teams' memory…",
        "Export team…",
        "Settings…",
        "Quit",
    ]
    assert menu_action(window, "Export run…").shortcut().toString() == "Ctrl+E"
    assert menu_action(window, "Save run as report…").shortcut().toString() == "Ctrl+Shift+E"
    assert menu_action(window, "Import run…").shortcut().toString() == "Ctrl+Shift+I"
    assert all(menu_action(window, text).isEnabled() for text in texts)
    file_menu.popup(window.mapToGlobal(window.rect().topLeft()))
    qtbot.waitExposed(file_menu)
    screenshot(file_menu, "file-menu-imports-exports")
    file_menu.close()


def test_a_run_selected_in_the_list_is_exported_and_a_run_file_imported(
    app: App, tmp_path: Path, qtbot: QtBot, run_in_qt_loop: RunInLoop, screenshot: Screenshot
) -> None:
    window, exported = app.window, app.files / "run.jsonl"
    # A run from another machine's database, as its person exported it.
    elsewhere = app.files / "elsewhere.jsonl"
    (tmp_path / "other").mkdir()
    with store_at(tmp_path / "elsewhere.sqlite3") as other:
        other_id = record_run(other, tmp_path / "other").run_id
        asyncio.run(RunsService(StoreService(lambda: other)).export(other_id, elsewhere))

    async def scenario() -> None:
        await select_listed_run(window, app.run_id)
        window.activateWindow()
        qtbot.keyClick(window, QtCore.Qt.Key.Key_E, QtCore.Qt.KeyboardModifier.ControlModifier)
        answer(window, exported)
        await wait_until(lambda: app.status().startswith("Exported run"))
        menu_action(window, "Import run…").trigger()
        answer(window, elsewhere)
        await wait_until(lambda: app.status().startswith("Imported run"))
        # The runs list is read again and shows the imported run, selected.
        pane = window.run_pane
        await wait_until(lambda: len(pane.runs_list.runs) == 2)
        await wait_until(lambda: pane.runs_list.selected_run() is not None)

    run_in_qt_loop(scenario())
    lines = exported.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert (header["format"], header["id"]) == ("purpose-desktop-run", app.run_id)
    # The status says what the CLI prints.
    pane = window.run_pane
    selected = pane.runs_list.selected_run()
    assert selected is not None and selected.id == other_id
    assert app.status() == (
        f"Imported run {other_id}: completed, team T, 2 step(s), {selected.events} events."
    )
    assert window.tabs.currentWidget() is window.run_tab
    screenshot(window, "run-imported")


def test_a_malformed_run_file_shows_the_error_and_changes_nothing(
    app: App, run_in_qt_loop: RunInLoop, screenshot: Screenshot
) -> None:
    window, bad = app.window, app.files / "bad.jsonl"
    bad.write_text('{"format": "purpose-desktop-run", "version": 1}\nnot json\n', "utf-8")
    expected = service_error(lambda store: RunsService(store).import_file(bad), app.files)
    before = app.table_counts()

    async def scenario() -> None:
        menu_action(window, "Import run…").trigger()
        answer(window, bad)
        await wait_until(lambda: app.error_text() is not None)

    run_in_qt_loop(scenario())
    assert app.error_text() == expected and app.status() == expected
    assert str(bad) in expected
    assert app.table_counts() == before
    box = window.exchange.error_dialog
    assert box is not None
    screenshot(box, "run-import-refused")


def test_imported_memory_shows_in_the_browser_and_a_teams_memory_is_exported(
    app: App, tmp_path: Path, run_in_qt_loop: RunInLoop
) -> None:
    window, memory_file, exported = app.window, app.files / "memory.json", app.files / "lab.json"
    with store_at(tmp_path / "elsewhere.sqlite3") as other:
        remember(other)  # the teams "lab" and "ops"
        asyncio.run(MemoryFilesService(StoreService(lambda: other)).export(memory_file, None))
    bad = app.files / "bad.json"
    bad.write_text('{"format": "purpose-desktop-memory", "version": 1, "heuristics": [{}]}')
    expected = service_error(lambda s: MemoryFilesService(s).import_file(bad), app.files)

    async def scenario() -> None:
        window.tabs.setCurrentWidget(window.memory_pane)
        await wait_until(lambda: window.memory_pane.browser is not None)
        browser = window.memory_pane.browser
        assert browser is not None
        await wait_until(lambda: browser.teams_listed() == ["T"])
        before = app.table_counts(MEMORY_TABLES)
        menu_action(window, "Import memory…").trigger()
        answer(window, bad)
        await wait_until(lambda: app.error_text() is not None)
        assert app.error_text() == expected == app.status()
        assert app.table_counts(MEMORY_TABLES) == before
        window.exchange.error_dialog.close()  # type: ignore[union-attr]

        menu_action(window, "Import memory…").trigger()
        answer(window, memory_file)
        await wait_until(lambda: app.status().startswith(f"Imported {memory_file}"))
        # The browser reads the memory again: the imported teams are there to choose.
        await wait_until(lambda: browser.teams_listed() == ["T", "lab", "ops"])
        browser.team_box.setCurrentIndex(browser.teams_listed().index("lab"))
        await wait_until(lambda: browser.heuristic_model.rowCount() == 3)
        menu_action(window, "Export memory…").trigger()
        answer(window, exported)
        await wait_until(lambda: app.status().startswith("Exported the memory"))

    run_in_qt_loop(scenario())
    assert app.status() == (
        f"Exported the memory of team lab (3 heuristics, 1 experiences, 1 score anchors) "
        f"to {exported}."
    )
    written = json.loads(exported.read_text(encoding="utf-8"))
    assert {h["team"] for h in written["heuristics"]} == {"lab"}


def test_an_imported_team_is_saved_and_opened_and_the_current_team_exported(
    app: App, run_in_qt_loop: RunInLoop
) -> None:
    window = app.window
    team_file, exported = app.files / "shared-team.yaml", app.files / "out" / "team.toml"
    exported.parent.mkdir()
    team_file.write_text(
        example_team_file().read_text(encoding="utf-8").replace("name: ", "name: Shared ", 1),
        "utf-8",
    )
    name = load_team(team_file).spec.name
    bad = app.files / "bad-team.yaml"
    bad.write_text("name: Broken\nagents:\n  - name: a\n    max_steps: lots\n", "utf-8")
    expected = service_error(lambda s: TeamsService(s).save(bad), app.files)

    async def scenario() -> None:
        window.load_team(example_team_file())
        await wait_until(lambda: window.controller.team is not None)
        menu_action(window, "Import team…").trigger()
        answer(window, bad)
        await wait_until(lambda: app.error_text() is not None)
        assert app.error_text() == expected == app.status()
        window.exchange.error_dialog.close()  # type: ignore[union-attr]

        menu_action(window, "Import team…").trigger()
        answer(window, team_file)
        await wait_until(
            lambda: window.controller.team is not None and window.controller.team.spec.name == name
        )
        await wait_until(lambda: app.status() == f"Opened team {name}")
        menu_action(window, "Export team…").trigger()
        answer(window, exported)
        await wait_until(exported.exists)

    run_in_qt_loop(scenario())
    saved = asyncio.run(TeamsService(StoreService(app.parts.store.get)).list_teams(limit=5))
    assert [team.name for team in saved] == [name]  # the broken one was not saved
    assert window.controller.team is not None
    assert load_team(exported).spec == window.controller.team.spec
    assert app.status() == f"Exported team {name} to {exported}."


def test_the_run_shown_is_saved_as_a_report(app: App, run_in_qt_loop: RunInLoop) -> None:
    window, report = app.window, app.files / "report.html"
    # Nothing shown or selected yet: it says what to do, and asks for no file.
    menu_action(window, "Save run as report…").trigger()
    assert app.status() == (
        "No run to save as a report: run a task, or select one in the Run pane's Runs list."
    )
    assert window.exchange.file_dialog is None

    async def scenario() -> None:
        await select_listed_run(window, app.run_id)
        pane = window.run_pane
        pane.open_run(app.run_id)  # shown again; the timeline replaces the list
        await wait_until(lambda: not window.controller.running and pane.timeline.count() > 0)
        assert pane.details_tabs.currentWidget() is not pane.runs_list
        menu_action(window, "Save run as report…").trigger()
        answer(window, report)
        await wait_until(lambda: app.status().startswith("Saved the report"))

    run_in_qt_loop(scenario())
    assert app.status() == f"Saved the report of run {app.run_id} (2 step(s)) to {report}."
    tags: list[tuple[str, str]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append((tag, dict(attrs).get("class") or ""))

    Tags().feed(report.read_text(encoding="utf-8"))
    assert tags.count(("li", "step")) == 2 and [t for t, _ in tags].count("svg") == 1
    assert "script" not in {tag for tag, _ in tags}


def test_without_a_database_only_the_team_can_be_exported(
    home: Paths, qtbot: QtBot, run_in_qt_loop: RunInLoop
) -> None:
    parts = build_app_parts(home)
    window = build_main_window(
        paths=home,
        settings=parts.settings,
        runner=lambda: parts.runner,
        reporter=ErrorReporter(None, home.log_file),
    )
    window.show()
    try:
        enabled = {
            text: menu_action(window, text).isEnabled()
            for text in (
                "Import run…",
                "Import memory…",
                "Import team…",
                "Export run…",
                "Save run as report…",
                "Export memory…",
                "Export all teams' memory…",
            )
        }
        assert enabled == dict.fromkeys(enabled, False)
        assert menu_action(window, "Export team…").isEnabled()
        menu_action(window, "Export team…").trigger()  # no team open yet: it says so
        assert window.statusBar().currentMessage() == "No team is open to export."
        assert window.exchange.file_dialog is None
    finally:
        window.close_anyway()

        async def shutdown() -> None:
            await window.stop_background_work()
            await parts.aclose()
            window.deleteLater()

        run_in_qt_loop(shutdown())
