"""Journey: a run recorded before the window opened is found in the runs list, opened, replayed
at the pace it ran, and forked from its step with an action the person edits."""

from __future__ import annotations

import json

import pytest
from purpose_desktop.config import example_team_file
from purpose_desktop.engine.team_file import load_team
from purpose_desktop.ui.main_window import MainWindow
from pytestqt.qtbot import QtBot
from tests.journeys.application import App, RunInLoop
from tests.journeys.person import (
    Left,
    click,
    open_tab,
    run_ended,
    type_into,
    wait_for,
)

pytestmark = [pytest.mark.journey, pytest.mark.model]

TASK = "Name three primary colours."
EDITED_ANSWER = "Red, yellow and blue."


def timeline_text(window: MainWindow) -> list[str]:
    """The timeline's lines without their times."""
    return [line.split("  ", 1)[1] for line in window.run_pane.timeline.lines()]


def test_a_recorded_run_is_opened_replayed_and_forked_with_an_edited_action(
    app: App,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
) -> None:
    # Earlier, before this window opened: the sample team ran the task (as `purpose-desktop
    # run` does at a terminal), recorded in the same database.
    earlier = run_in_qt_loop(app.parts.runner.run(load_team(example_team_file()), TASK))
    assert earlier.status == "completed" and earlier.answer
    window = app.open()
    pane = window.run_pane
    runs = pane.runs_list

    async def journey() -> None:
        app.start()
        open_tab(qtbot, window.tabs, window.run_tab)
        open_tab(qtbot, pane.details_tabs, runs)
        await wait_for(lambda: len(runs.runs) == 1, "the recorded run in the list")
        assert [
            runs.table.item(0, column).text()  # type: ignore[union-attr]
            for column in (1, 4, 5)
        ] == ["completed", "Helper", TASK]
        assert not runs.open_button.isEnabled()  # until a run is chosen
        qtbot.mouseClick(
            runs.table.viewport(),
            Left,
            pos=runs.table.visualItemRect(runs.table.item(0, 5)).center(),
        )
        app.shot("runs-list")

        click(qtbot, runs.open_button)  # shown at once, as recorded
        await run_ended(window)
        assert pane.outcome.answer_text() == earlier.answer
        recorded = timeline_text(window)
        assert recorded[0] == f"Run started: Helper — {TASK}"
        app.shot("recorded-run-opened")

        open_tab(qtbot, pane.details_tabs, runs)
        click(qtbot, runs.replay_button)  # again, at the pace it ran
        assert pane.status_label.text() == f"Replaying run {earlier.run_id[:8]}…"
        await wait_for(lambda: window.controller.replaying, "the replay to start", 10)
        await wait_for(lambda: not window.controller.replaying, "the replay to end")
        await run_ended(window)
        assert timeline_text(window) == recorded
        assert pane.status_label.text() == f"Recorded run {earlier.run_id[:8]}, as it ran."
        app.shot("replayed")

        timeline = pane.timeline
        step = next(
            row
            for row, line in enumerate(recorded)
            if line.startswith("Step 1: helper proposes finish")
        )
        qtbot.mouseClick(
            timeline.viewport(), Left, pos=timeline.visualItemRect(timeline.item(step)).center()
        )
        assert pane.fork_button.text() == "Fork from step 1…"
        click(qtbot, pane.fork_button)
        editor = pane.fork_editor
        proposed = json.loads(editor.action_edit.toPlainText())
        assert (proposed["tool"], proposed["answer"]) == ("finish", earlier.answer)
        type_into(
            qtbot,
            editor.action_edit,
            json.dumps({"tool": "finish", "answer": EDITED_ANSWER, "thought": "the usual three"}),
        )
        app.shot("fork-with-an-edited-action")
        click(qtbot, editor.start_button)

        await run_ended(window)
        assert pane.outcome.status_text() == "Completed"
        assert pane.outcome.answer_text() == EDITED_ANSWER
        assert timeline_text(window)[0] == (
            f"Run forked from run {earlier.run_id[:8]} after step 0, with an edited action"
        )
        open_tab(qtbot, pane.details_tabs, runs)
        await wait_for(lambda: len(runs.runs) == 2, "the fork in the list")
        assert [
            runs.table.item(row, 1).text()  # type: ignore[union-attr]
            for row in range(2)
        ] == ["completed (fork)", "completed"]
        app.shot("fork-listed")

    run_in_qt_loop(journey())
    fork = app.outcomes[-1]
    assert (fork.status, fork.answer) == ("completed", EDITED_ANSWER)
