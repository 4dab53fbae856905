"""Journey: the first launch opens the sample team; a task typed in the Run pane is run on the
bundled SmolLM2 and its answer is shown."""

from __future__ import annotations

import re

import pytest
from pytestqt.qtbot import QtBot
from tests.journeys.application import App, RunInLoop
from tests.journeys.person import open_tab, run_ended, run_task, wait_for

pytestmark = [pytest.mark.journey, pytest.mark.model]

PRIMARY_COLOURS = ("red", "yellow", "blue")


def test_first_launch_runs_the_sample_team_and_shows_its_answer(
    app: App,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
) -> None:
    window = app.open()

    async def journey() -> None:
        app.start()
        team = window.team_pane
        await wait_for(
            lambda: team.editing and team.agents.rowCount() == 1, "the sample team to open"
        )
        assert window.tabs.currentWidget() is team  # nothing to restore on a first launch
        assert team.title.text() == "<h2>Helper</h2>"
        assert team.agents.item(0, 1).text() == "bundled:smollm2-135m"  # type: ignore[union-attr]
        await wait_for(
            lambda: "context" in team.editor.form.model_choice.details.text(),
            "the model's size and context under its name",
        )
        app.shot("sample-team")

        await run_task(qtbot, window, "Name three primary colours.")
        pane = window.run_pane
        assert pane.status_label.text() == "Running…"
        await run_ended(window)
        app.shot("answer")
        outcome = pane.outcome
        assert outcome.status_text() == "Completed"
        answer = outcome.answer_text()
        assert outcome.answer_view.toPlainText() == answer  # what a person reads
        named = [c for c in PRIMARY_COLOURS if re.search(rf"\b{c}\b", answer.lower())]
        assert len(named) >= 2, answer
        assert outcome.copy_button.isEnabled()

        # The run is listed with the others, from the database.
        open_tab(qtbot, pane.details_tabs, pane.runs_list)
        await wait_for(lambda: len(pane.runs_list.runs) == 1, "the run to be listed")
        assert pane.runs_list.runs[0].status == "completed"

    run_in_qt_loop(journey())
    assert [outcome.status for outcome in app.outcomes] == ["completed"]
