"""On start, the window offers to resume runs that were interrupted, and resumes them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.config import Paths, Settings
from purpose_desktop.engine.loop.run import TeamRunner
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.services.front_end import services_over
from purpose_desktop.store.database import writing
from purpose_desktop.store.opening import Store, open_store
from purpose_desktop.store.run_journal import SqlRunJournal
from purpose_desktop.ui.application import build_main_window
from purpose_desktop.ui.error_dialog import ErrorReporter
from purpose_desktop.ui.main_window import MainWindow
from purpose_desktop.ui.qt import QtWidgets
from purpose_desktop.ui.review.dialogs import ActionReviewDialog, ScoreReviewDialog
from purpose_desktop.ui.review.gate import DialogReviewGate
from pytestqt.qtbot import QtBot
from sqlalchemy import text
from tests.support.recording import StallAtStep, run_until_stalled
from tests.support.scripted_team import act, one_agent_team, team_model
from tests.support.waiting import wait_until

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]


def answer(dialog: object) -> None:
    """Approve an action or keep the critic's score, as a person clicking through."""
    if isinstance(dialog, ActionReviewDialog):
        dialog.approve()
    else:
        assert isinstance(dialog, ScoreReviewDialog)
        dialog.keep()


def interrupted_run(home: Paths) -> str:
    """A run stopped in its second step, left as a process that died leaves it."""
    store = open_store(home.database_file)
    journal = SqlRunJournal(lambda: store.engine)
    model = team_model(
        [act("calculator", expression="17*23"), act("calculator", expression="1+1")], score=4
    )
    runner = TeamRunner(
        ScriptedProvider({"m": model}),
        store.memory,
        workspaces_dir=home.workspaces_dir,
        journal=journal,
    )
    team = one_agent_team(home.teams_dir, review="always")
    run_id = asyncio.run(run_until_stalled(runner, team, "What is 17 * 23?", StallAtStep(2), []))
    journal.close()
    with writing(store.engine) as connection:
        # As if the app had been killed: still "running", under a process that is gone.
        connection.execute(
            text(
                "UPDATE runs SET status = 'running', pid = 999999999, "
                "process_started = 0 WHERE id = :id"
            ),
            {"id": run_id},
        )
    store.engine.dispose()
    return run_id


@pytest.fixture
def reopened(home: Paths) -> Iterator[tuple[str, Store, SqlRunJournal]]:
    run_id = interrupted_run(home)
    store = open_store(home.database_file)
    journal = SqlRunJournal(lambda: store.engine)
    yield run_id, store, journal
    journal.close()
    store.engine.dispose()


def test_an_interrupted_run_is_offered_and_resumed_from_the_window(
    home: Paths,
    reopened: tuple[str, Store, SqlRunJournal],
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Callable[[Any, str], Path],
) -> None:
    run_id, store, journal = reopened
    assert store.interrupted == (run_id,)
    runner = TeamRunner(
        ScriptedProvider({"m": team_model([act("finish", answer="391")], score=9)}),
        store.memory,
        workspaces_dir=home.workspaces_dir,
        journal=journal,
    )

    reporter = ErrorReporter(None, home.log_file)
    window: MainWindow = build_main_window(
        paths=home,
        settings=Settings(),
        runner=runner,
        reporter=reporter,
        services=services_over(lambda: store, home.prices_file),
    )
    window.show()
    notice = window.run_pane.interrupted_notice

    async def scenario() -> None:
        window.start_background_work()
        await wait_until(notice.isVisible)
        assert window.tabs.currentWidget() is window.run_tab
        screenshot(window, "interrupted-run-offered")
        notice.resume_buttons[run_id].click()
        gate = window.controller.review
        assert isinstance(gate, DialogReviewGate)
        while window.controller.running:  # the team asks for review of every step
            await wait_until(lambda: bool(gate.pending) or not window.controller.running)
            if gate.pending:
                answer(gate.dialog_at(0))
        await wait_until(notice.isHidden)
        await journal.flush()

    try:
        run_in_qt_loop(asyncio.wait_for(scenario(), 60))
        detail = store.runs.run_now(run_id)
        assert (detail.summary.status, detail.summary.answer) == ("completed", "391")
        assert [s.action.tool for s in detail.steps] == ["calculator", "finish"]
        timeline = [
            window.run_pane.timeline.item(i).text() for i in range(window.run_pane.timeline.count())
        ]
        assert any("Run resumed after step 1" in line for line in timeline)
    finally:
        window.close()
        run_in_qt_loop(window.stop_background_work())
        window.deleteLater()


def test_a_damaged_database_replaced_at_start_is_reported_in_the_window(
    home: Paths,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Callable[[Any, str], Path],
) -> None:
    home.database_file.write_bytes(b"not a database at all" * 100)
    store = open_store(home.database_file)
    assert store.recovered_from is not None
    runner = TeamRunner(ScriptedProvider({}), store.memory, workspaces_dir=home.workspaces_dir)

    window = build_main_window(
        paths=home,
        settings=Settings(),
        runner=runner,
        reporter=ErrorReporter(None, home.log_file),
        services=services_over(lambda: store, home.prices_file),
    )
    window.show()

    def warning() -> QtWidgets.QMessageBox | None:
        return window.findChild(QtWidgets.QMessageBox, "storeWarning")

    async def scenario() -> None:
        window.start_background_work()
        await wait_until(lambda: (box := warning()) is not None and box.isVisible(), 30)

    try:
        run_in_qt_loop(scenario())
        box = warning()
        assert box is not None
        screenshot(box, "damaged-database-notice")
        assert str(store.recovered_from) in box.text()
        assert "damaged" in box.text()
        assert store.recovered_from.read_bytes().startswith(b"not a database")
        assert not window.run_pane.interrupted_notice.isVisible()
        box.close()
    finally:
        window.close()
        run_in_qt_loop(window.stop_background_work())
        window.deleteLater()
        store.engine.dispose()
