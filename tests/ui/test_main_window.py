"""The main window driven through its widgets, offscreen, with the real bundled model."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.app import AppParts, build_app_parts
from purpose_desktop.config import Paths, example_team_file
from purpose_desktop.errors import TeamFileError
from purpose_desktop.ui.application import build_main_window
from purpose_desktop.ui.error_dialog import ErrorReporter
from purpose_desktop.ui.main_window import MainWindow
from purpose_desktop.ui.qt import QtCore, QtWidgets
from pytestqt.qtbot import QtBot
from tests.support.waiting import wait_until

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]


@pytest.fixture
def services(home: Paths) -> AppParts:
    return build_app_parts(home)


@pytest.fixture
def window(services: AppParts, qtbot: QtBot, run_in_qt_loop: RunInLoop) -> Iterator[MainWindow]:
    reporter = ErrorReporter(None, services.paths.log_file)
    main = build_main_window(
        paths=services.paths,
        settings=services.settings,
        runner=services.runner,
        reporter=reporter,
    )
    main.reporter = reporter  # type: ignore[attr-defined]
    # Not handed to qtbot: it would delete the window before this fixture's teardown, which
    # still has to close it the way the application does.
    main.show()
    yield main

    for dialog in list(reporter.open_dialogs):
        dialog.close()
    main.close()  # outside the loop: the last window closing inside it would stop the loop

    async def shutdown() -> None:
        await main.stop_background_work()
        await services.aclose()
        main.deleteLater()

    run_in_qt_loop(shutdown())


@pytest.fixture
def outcomes(window: MainWindow) -> list[Any]:
    """Every run outcome the controller reports, in order (``None`` for a cancelled run)."""
    reported: list[Any] = []
    window.controller.finished.connect(reported.append)
    return reported


async def open_sample_team(window: MainWindow) -> None:
    window.start_background_work()
    await wait_until(lambda: window.controller.team is not None)


def timeline_text(window: MainWindow) -> str:
    items = window.run_pane.timeline
    return "\n".join(items.item(i).text() for i in range(items.count()))


def test_window_has_a_place_for_every_pane(window: MainWindow) -> None:
    titles = [window.tabs.tabText(i).replace("&", "") for i in range(window.tabs.count())]
    assert titles == ["Team", "Run", "Memory", "Costs", "Benchmarks", "Models", "Tools"]
    menus = [action.text().replace("&", "") for action in window.menuBar().actions()]
    assert menus == ["File", "Run", "View", "Help"]
    assert window.run_action.shortcut().toString() == "Ctrl+Return"
    assert window.cancel_action.shortcut().toString() == "Esc"


@pytest.mark.model
def test_first_launch_opens_the_sample_team_and_lists_models(
    window: MainWindow, run_in_qt_loop: RunInLoop, screenshot: Callable[[Any, str], Path]
) -> None:
    async def scenario() -> None:
        await open_sample_team(window)
        await wait_until(lambda: window.models_pane.table.rowCount() == 2)

    run_in_qt_loop(scenario())
    assert window.team_pane.agents.rowCount() == 1
    assert window.team_pane.agents.item(0, 1).text() == "bundled:smollm2-135m"
    assert window.models_pane.summary.text() == "2 of 2 models available"
    window.tabs.setCurrentWidget(window.team_pane)
    screenshot(window, "team-pane")
    window.tabs.setCurrentWidget(window.models_tab)
    screenshot(window, "models-pane")
    window.tabs.setCurrentWidget(window.memory_pane)
    screenshot(window, "memory-pane")
    window.tabs.setCurrentWidget(window.costs_tab)
    screenshot(window, "costs-pane")


@pytest.mark.model
def test_a_task_typed_in_the_run_pane_streams_tokens_into_the_view(
    window: MainWindow,
    outcomes: list[Any],
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Callable[[Any, str], Path],
) -> None:
    async def scenario() -> None:
        await open_sample_team(window)
        window.tabs.setCurrentWidget(window.run_tab)
        qtbot.keyClicks(window.run_pane.task_edit, "Name three primary colours.")
        assert window.run_pane.run_button.isEnabled()
        qtbot.mouseClick(window.run_pane.run_button, QtCore.Qt.MouseButton.LeftButton)
        await wait_until(lambda: window.controller.running)
        assert window.run_pane.cancel_button.isEnabled()
        await wait_until(lambda: bool(outcomes))

    run_in_qt_loop(scenario())
    outcome = outcomes[0]
    assert outcome.status == "completed"
    streamed = window.run_pane.stream_view.toPlainText()
    assert streamed.startswith("[helper]\n")
    # The agent's step reads as its action, and the answer is shown where a person looks.
    action = streamed.removeprefix("[helper]\n")
    assert action.startswith("Final answer: ") and outcome.answer[:40] in action
    assert window.run_pane.outcome.answer_text() == outcome.answer
    assert "Run completed" in timeline_text(window)
    assert not window.run_pane.cancel_button.isEnabled()
    screenshot(window, "run-pane")


@pytest.mark.model
def test_escape_cancels_a_running_task(
    window: MainWindow, outcomes: list[Any], qtbot: QtBot, run_in_qt_loop: RunInLoop
) -> None:
    async def scenario() -> None:
        await open_sample_team(window)
        window.run_pane.task_edit.setText("Write a very long story about a lighthouse.")
        window.run_action.trigger()
        await wait_until(lambda: bool(window.run_pane.stream_view.toPlainText()))
        qtbot.keyClick(window, QtCore.Qt.Key.Key_Escape)
        await wait_until(lambda: bool(outcomes))

    run_in_qt_loop(scenario())
    assert outcomes == [None]
    assert "Run cancelled" in timeline_text(window)
    assert window.run_pane.run_button.isEnabled()


def test_a_bad_team_file_is_shown_to_the_user(
    window: MainWindow, run_in_qt_loop: RunInLoop, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [\n", encoding="utf-8")
    reporter: ErrorReporter = window.reporter  # type: ignore[attr-defined]

    async def scenario() -> None:
        task = window.load_team(bad)
        with pytest.raises(TeamFileError):
            await task

    run_in_qt_loop(scenario())
    dialogs = reporter.open_dialogs
    assert len(dialogs) == 1
    assert "bad.yaml, line" in dialogs[0].text()
    assert not dialogs[0].detailedText()  # the user's mistake, not a bug: no traceback
    assert window.controller.team is None


def test_a_bug_in_a_background_task_is_logged_and_shown(
    window: MainWindow, services: AppParts, run_in_qt_loop: RunInLoop
) -> None:
    reporter: ErrorReporter = window.reporter  # type: ignore[attr-defined]

    async def broken() -> None:
        raise RuntimeError("something inside broke")

    async def scenario() -> None:
        task = window._tasks.start(broken(), "broken")
        with pytest.raises(RuntimeError):
            await task

    run_in_qt_loop(scenario())
    dialog = reporter.open_dialogs[0]
    assert "something inside broke" in dialog.text()
    assert str(services.paths.log_file) in dialog.informativeText()
    assert "Traceback" in dialog.detailedText()
    assert "something inside broke" in services.paths.log_file.read_text(encoding="utf-8")
    dialog.done(0)
    assert reporter.open_dialogs == []


def test_layout_is_restored_on_the_next_start(
    services: AppParts, qtbot: QtBot, run_in_qt_loop: RunInLoop
) -> None:
    def make() -> MainWindow:
        main = build_main_window(
            paths=services.paths,
            settings=services.settings,
            runner=services.runner,
            reporter=ErrorReporter(None, services.paths.log_file),
        )
        qtbot.addWidget(main)
        return main

    first = make()
    first.show()
    first.resize(700, 500)
    first.tabs.setCurrentIndex(4)
    size = first.size()
    first.close()
    second = make()
    assert second.tabs.currentIndex() == 4
    assert second.size() == size
    run_in_qt_loop(services.aclose())


def test_the_stream_view_keeps_a_bounded_history(window: MainWindow) -> None:
    from purpose_desktop.ui.run.pane import (
        MAX_LINE_CHARS,
        MAX_STREAM_BLOCKS,
        MAX_STREAM_CHARS,
    )

    streams = window.run_pane.streams  # made before the tokens come, as a run makes it
    tokens = window.controller.bridge.tokens
    chunk = "x" * 50_000
    for _ in range(15):  # 750 000 characters with no line break
        tokens.emit("writer", chunk)
    view = streams.stream("writer").view
    text = view.toPlainText()
    assert len(text) <= MAX_STREAM_CHARS
    assert text.replace("\n", "").endswith(chunk)  # the newest output is what is kept
    assert max(len(line) for line in text.splitlines()) == MAX_LINE_CHARS
    for index in range(MAX_STREAM_BLOCKS + 500):
        tokens.emit("writer", f"line {index}\n")
    assert view.blockCount() <= MAX_STREAM_BLOCKS
    assert view.toPlainText().rstrip().endswith(f"line {MAX_STREAM_BLOCKS + 499}")
    # The interleaved view, hidden meanwhile, catches up when it is shown, bounded too.
    streams.tabs.setCurrentWidget(streams.interleaved)
    assert streams.interleaved.blockCount() <= MAX_STREAM_BLOCKS
    assert len(streams.interleaved.toPlainText()) <= MAX_STREAM_CHARS
    assert streams.interleaved.toPlainText().rstrip().endswith(f"line {MAX_STREAM_BLOCKS + 499}")


def test_a_run_cancelled_before_it_starts_frees_the_run_button(
    window: MainWindow, outcomes: list[Any], run_in_qt_loop: RunInLoop
) -> None:
    async def scenario() -> None:
        await open_sample_team(window)
        window.run_pane.task_edit.setText("anything")
        assert window.controller.start("anything")
        window.controller.cancel()  # before the run's task has taken a single step
        await wait_until(lambda: bool(outcomes))

    run_in_qt_loop(scenario())
    assert outcomes == [None]
    assert not window.controller.running
    assert window.run_pane.run_button.isEnabled()
    assert not window.run_pane.cancel_button.isEnabled()


def test_an_error_raised_in_a_qt_slot_is_shown_and_logged(
    window: MainWindow, services: AppParts, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    reporter: ErrorReporter = window.reporter  # type: ignore[attr-defined]
    monkeypatch.setattr("sys.excepthook", reporter.excepthook)

    def broken_slot() -> None:
        raise ValueError("a slot broke")

    button = QtWidgets.QPushButton(window)
    button.clicked.connect(broken_slot)
    button.click()
    qtbot.waitUntil(lambda: bool(reporter.open_dialogs))
    dialog = reporter.open_dialogs[0]
    assert "a slot broke" in dialog.text()
    assert "ValueError" in dialog.detailedText()
    assert "a slot broke" in services.paths.log_file.read_text(encoding="utf-8")


def answer_unsaved_changes(window: MainWindow, text: str) -> None:
    """Click ``text`` in the Team pane's question about unsaved changes."""
    box = window.team_pane.asker.question
    assert box is not None and box.isVisible() and box.windowTitle() == "Unsaved changes"
    next(b for b in box.buttons() if b.text().replace("&", "") == text).click()


@pytest.mark.model
def test_a_run_started_with_unsaved_team_changes_asks_to_save_them_first(
    window: MainWindow,
    outcomes: list[Any],
    run_in_qt_loop: RunInLoop,
    tmp_path: Path,
) -> None:
    team_file = tmp_path / "helper.yaml"
    team_file.write_text(example_team_file().read_text(encoding="utf-8"), encoding="utf-8")
    role = "You answer in one short sentence."

    async def scenario() -> None:
        await open_sample_team(window)
        await window.load_team(team_file)
        await wait_until(lambda: str(team_file) in window.team_pane.source.text())
        window.team_pane.editor.form.role_edit.setPlainText(role)
        assert window.team_pane.is_dirty
        window.run_pane.task_edit.setText("Name a primary colour.")

        window.run_pane.run_button.click()
        answer_unsaved_changes(window, "Cancel")
        assert not window.controller.running and window.team_pane.is_dirty

        window.run_pane.run_button.click()
        answer_unsaved_changes(window, "Save")
        await wait_until(lambda: bool(outcomes))

    run_in_qt_loop(scenario())
    assert role in team_file.read_text(encoding="utf-8")
    assert window.controller.team is not None
    assert window.controller.team.spec.agents[0].role == role
    assert outcomes[0].status == "completed"


@pytest.mark.model
def test_a_run_whose_recording_breaks_ends_and_the_window_says_so(
    window: MainWindow,
    outcomes: list[Any],
    run_in_qt_loop: RunInLoop,
    monkeypatch: pytest.MonkeyPatch,
    screenshot: Callable[[Any, str], Path],
) -> None:
    from purpose_desktop.engine.recording.checkpoint import Checkpoint
    from purpose_desktop.store import journal_rows

    real_commit = journal_rows.commit_items

    def commit_then_break(
        engine: Any, mark: Any, items: list[Any], last_seq: dict[str, int]
    ) -> None:
        real_commit(engine, mark, items, last_seq)
        if any(isinstance(item, Checkpoint) for item in items):
            raise RuntimeError("the writer broke")  # not the database's fault: a bug

    monkeypatch.setattr(journal_rows, "commit_items", commit_then_break)

    async def scenario() -> None:
        await open_sample_team(window)
        window.run_pane.task_edit.setText("Name three primary colours.")
        window.run_pane.run_button.click()
        await wait_until(lambda: bool(outcomes))

    run_in_qt_loop(scenario())
    assert outcomes[0].status == "failed"
    panel = window.run_pane.outcome
    assert panel.status_text() == "Failed"
    assert panel.reason_text().startswith("The run could not be recorded: ")
    assert panel.reason_text().count("could not be recorded") == 1
    assert "start the app again" in panel.advice_text()
    assert not window.run_pane.cancel_button.isEnabled()  # the run is over
    window.tabs.setCurrentWidget(window.run_tab)
    screenshot(window, "run-not-recorded")
