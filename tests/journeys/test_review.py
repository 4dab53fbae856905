"""Journey: a person reviews every step. They set the sample Calculator team to review
"always" and save it, reject the first action with a reason (the agent then does something
else), correct the critic's Φ with the slider, and find the lesson in the Memory pane and the
calls in the Costs pane, all without restarting."""

from __future__ import annotations

import pytest
from purpose_desktop.config import resources_dir
from purpose_desktop.engine.learning.dead_ends import call_key
from purpose_desktop.engine.specs import ReviewPolicy
from purpose_desktop.ui.memory.browser import NOTHING_LEARNED
from purpose_desktop.ui.qt import QtCore, QtWidgets
from purpose_desktop.ui.review.dialogs import ActionReviewDialog, ScoreReviewDialog
from pytestqt.qtbot import QtBot
from tests.journeys.application import App, RunInLoop
from tests.journeys.person import (
    Left,
    choose_file,
    click,
    dialog_named,
    open_tab,
    run_ended,
    run_task,
    type_into,
    wait_for,
)

pytestmark = [pytest.mark.journey, pytest.mark.model]

REASON = "Not the calculator this time"
#: Half points the person moves the slider by, away from the critic's score.
SLIDER_PRESSES = 4


def test_a_rejection_and_an_override_are_learned_and_shown_without_a_restart(
    app: App,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
) -> None:
    window = app.open()
    team = window.team_pane
    pane = window.run_pane

    async def journey() -> None:
        app.start()
        await wait_for(lambda: team.editing, "the sample team to open")
        window.open_action.trigger()  # Open team… on the toolbar
        choose_file(
            window.findChild(QtWidgets.QFileDialog), resources_dir() / "teams" / "calculator.yaml"
        )
        await wait_for(
            lambda: team.title.text() == "<h2>Calculator</h2>", "the Calculator team to open"
        )
        form = team.editor.form
        click(qtbot, form.review.buttons[ReviewPolicy.ALWAYS.value])
        type_into(qtbot, form.steps_spin, "2")  # two steps are enough to see it all
        assert team.title.text() == "<h2>Calculator •</h2>"  # unsaved
        click(qtbot, team.save_button)
        # A sample team is saved as the person's own, in the teams folder.
        choose_file(team.asker.file_dialog, app.paths.teams_dir / "calculator.yaml")
        await wait_for(
            lambda: (
                (running := window.controller.team) is not None
                and running.spec.agents[0].review is ReviewPolicy.ALWAYS
            ),
            "the saved team to be the one that runs",
        )
        await wait_for(
            lambda: "context" in form.model_choice.details.text(),
            "the model's size and context under its name",
        )
        app.shot("team-reviews-always")
        # A look at what the team knows and has cost so far: nothing yet.
        open_tab(qtbot, window.tabs, window.memory_pane)
        browser = window.memory_pane.browser
        assert browser is not None
        await wait_for(
            lambda: browser.status_line.text() == NOTHING_LEARNED,
            "the Memory pane to say nothing is learned yet",
        )
        open_tab(qtbot, window.tabs, window.costs_tab)
        costs = window.costs_pane
        await wait_for(lambda: costs.report is not None, "the costs to be read")
        assert costs.empty.text().startswith("No model calls recorded yet.")

        await run_task(qtbot, window, "What is 17 * 23?")
        first = await dialog_named("actionReviewDialog", ActionReviewDialog)
        rejected = first.request.action
        call = call_key(rejected)  # as a lesson names it: calculator(expression=17 * 23)
        assert first.request.step == 1
        assert rejected.tool == "calculator"  # a tool call, which the team can learn to avoid
        type_into(qtbot, first.reason_edit, REASON)
        app.shot("reject-with-a-reason", first)
        click(qtbot, first.reject_button)

        scored = await dialog_named("scoreReviewDialog", ScoreReviewDialog)
        assert scored.request.step == 1 and scored.request.action == rejected
        # A rejected step is no progress: the critic does not raise Φ for it.
        assert scored.request.phi <= scored.request.phi_before
        app.shot("rejected-step-scored", scored)
        click(qtbot, scored.keep_button)

        second = await dialog_named("actionReviewDialog", ActionReviewDialog)
        assert second.request.step == 2
        proposed = second.request.action
        # The agent does something else: the rejected call is not proposed again.
        assert (proposed.tool, dict(proposed.arguments)) != (
            rejected.tool,
            dict(rejected.arguments),
        )
        app.shot("something-else-proposed", second)
        click(qtbot, second.approve_button)

        override = await dialog_named("scoreReviewDialog", ScoreReviewDialog)
        assert override.request.step == 2
        critic = override.request.phi
        assert not override.override_button.isEnabled()  # not before the slider moves
        key = QtCore.Qt.Key.Key_Left if critic >= 5 else QtCore.Qt.Key.Key_Right
        for _ in range(SLIDER_PRESSES):
            qtbot.keyClick(override.slider, key)
        chosen = override.value
        assert abs(chosen - critic) >= 1.5
        assert override.override_button.text() == f"&Override with {chosen:g}"
        app.shot("override-with-the-slider", override)
        click(qtbot, override.override_button)

        await run_ended(window)
        app.shot("run-ended")
        lines = "\n".join(pane.timeline.lines())
        assert f"A person rejected calculator: {REASON}\n" in lines
        assert f"A person set Φ to {chosen:g} (critic said {critic:g})\n" in lines
        point = pane.phi_chart.series.points()[-1]
        assert (point.step, point.phi, point.critic_phi, point.overridden) == (
            2,
            chosen,
            critic,
            True,
        )

        # What the run taught and what it cost, in the other panes, without a restart.
        open_tab(qtbot, window.tabs, window.memory_pane)
        lesson = f"Do not call {call}: Rejected by a person: {REASON}"
        await wait_for(
            lambda: lesson in [h.strategy for h in browser.heuristic_model.rows],
            "the lesson of the rejection in the Memory pane",
        )
        assert browser.team == "Calculator"
        row = [h.strategy for h in browser.heuristic_model.rows].index(lesson)
        view = browser.heuristic_view
        qtbot.mouseClick(
            view.viewport(),
            Left,
            pos=view.visualRect(browser.heuristic_model.index(row, 3)).center(),
        )
        assert lesson in browser.heuristic_detail.toPlainText()  # read whole, below the table
        app.shot("lesson-in-memory")

        open_tab(qtbot, window.tabs, window.costs_tab)
        calls = app.outcomes[-1].costs.total.calls
        await wait_for(
            lambda: costs.report is not None and costs.report.total.calls == calls,
            "the run's calls in the Costs pane",
        )
        assert costs.summary.text().startswith(f"Total: {calls} calls")
        assert costs.table.item(0, 0).text() == "counter"  # type: ignore[union-attr]
        app.shot("calls-in-costs")

    run_in_qt_loop(journey())
