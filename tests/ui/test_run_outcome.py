"""The outcome panel on its own, fed events as a run (live or replayed) delivers them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.loop.run import RunStatus
from purpose_desktop.ui.qt import QtWidgets
from purpose_desktop.ui.run.outcome import ANSWER_LINES, NOT_SAVED_ADVICE, RunOutcome
from purpose_desktop.ui.theme import meaning_colour
from pytestqt.qtbot import QtBot

Screenshot = Callable[[Any, str], Path]


@pytest.fixture
def outcome(qtbot: QtBot) -> Iterator[RunOutcome]:
    """A panel in a window of its own, shown, as the run pane holds it."""
    window = QtWidgets.QWidget()
    qtbot.addWidget(window)
    panel = RunOutcome()
    layout = QtWidgets.QVBoxLayout(window)
    layout.addWidget(panel)
    layout.addStretch(1)
    window.resize(700, 300)
    window.show()
    yield panel  # the window is kept for as long as the test runs


def run_ends(
    panel: RunOutcome,
    status: RunStatus,
    answer: str = "",
    error: str | None = None,
    phi: float = 9.0,
) -> None:
    """Feed ``panel`` a run that starts and ends with ``status`` (after ``error``) at ``phi``."""
    panel.clear()
    panel.add_event(ev.RunStarted(run_id="r", seq=1, timestamp=0.0, team="T", task="t"))
    if error is not None:
        panel.add_event(ev.ErrorRaised(run_id="r", seq=2, timestamp=0.0, message=error))
    panel.add_event(
        ev.RunFinished(
            run_id="r",
            seq=3,
            timestamp=0.0,
            status=status,
            answer=answer,
            prompt_tokens=5,
            completion_tokens=300,
            seconds=4.0,
            steps=1,
            phi=phi,
        )
    )


def test_a_long_answer_scrolls_in_a_box_of_a_few_lines(
    outcome: RunOutcome, qtbot: QtBot, screenshot: Screenshot
) -> None:
    assert not outcome.isVisible()  # no run has ended
    run_ends(outcome, "completed", "391")
    short = outcome.answer_view.height()
    assert outcome.answer_view.verticalScrollBar().maximum() == 0  # all of it in sight
    run_ends(outcome, "completed", "one\ntwo\n" + "x" * 150)  # a word wider than the box
    qtbot.wait(20)
    assert outcome.answer_view.verticalScrollBar().maximum() == 0
    run_ends(
        outcome, "completed", "\n".join(f"Line {index}: " + "word " * 30 for index in range(40))
    )
    tall = outcome.answer_view.height()
    line = outcome.answer_view.fontMetrics().lineSpacing()
    assert line <= short < 2 * line + 20
    assert (ANSWER_LINES - 1) * line < tall < (ANSWER_LINES + 1) * line + 20  # then it scrolls
    assert outcome.answer_view.verticalScrollBar().maximum() > 0
    assert outcome.answer_text().startswith("Line 0: word")
    qtbot.wait(20)  # the window lays itself out again
    assert outcome.answer_view.geometry().bottom() < outcome.height()  # not cut off
    screenshot(outcome.window(), "run_outcome_long_answer")


def test_a_model_that_wrote_no_action_is_explained_in_words_that_wrap(
    outcome: RunOutcome, qtbot: QtBot, screenshot: Screenshot
) -> None:
    preview = "I think the answer is about four hundred, give or take a few. " * 2
    run_ends(
        outcome,
        "failed",
        error=(
            "solver could not produce an action: The model tiny gave no usable action after a "
            'retry with a simpler prompt: Expected one action as a JSON object, like {"tool": '
            '"calculator", ..., "thought": "..."}, with "tool" one of calculator, finish; found '
            f'none in the answer: "{preview.strip()}"'
        ),
    )
    assert outcome.status_text() == "Failed" and not outcome.answer_view.isVisible()
    assert outcome.reason_text().startswith(
        "The model's answer was not a valid action: Expected one action as a JSON object"
    )
    assert outcome.advice_text().startswith("Try another model for solver than tiny")
    qtbot.wait(20)
    for label in (outcome.reason_label, outcome.advice_label):
        assert label.isVisible() and label.wordWrap()
        assert label.geometry().right() <= outcome.width()
    assert outcome.advice_label.geometry().bottom() < outcome.height()
    screenshot(outcome.window(), "run_outcome_invalid_action")


def test_a_replayed_record_that_was_resumed_reports_how_it_finally_ended(
    outcome: RunOutcome,
) -> None:
    run_ends(outcome, "cancelled")
    assert outcome.status_text() == "Cancelled"
    assert "Resume it from the Runs list" in outcome.advice_text()
    outcome.add_event(ev.RunResumed(run_id="r", seq=4, timestamp=0.0, from_step=1))
    assert not outcome.isVisible() and outcome.status_text() == "No answer yet"
    outcome.add_event(
        ev.RunFinished(
            run_id="r",
            seq=5,
            timestamp=0.0,
            status="completed",
            answer="391",
            prompt_tokens=5,
            completion_tokens=3,
            seconds=1.0,
            steps=2,
            phi=8.0,
        )
    )
    assert (outcome.status_text(), outcome.answer_text()) == ("Completed", "391")
    assert outcome.isVisible() and not outcome.advice_label.isVisible()


def test_a_run_that_was_not_saved_says_so_and_keeps_its_answer(
    outcome: RunOutcome, screenshot: Screenshot
) -> None:
    run_ends(outcome, "completed", "391")
    outcome.note_not_saved("database or disk is full")
    assert outcome.status_text() == "Completed" and outcome.answer_text() == "391"
    assert outcome.reason_text() == "The run was not saved: database or disk is full"
    assert outcome.advice_text() == NOT_SAVED_ADVICE
    assert outcome.reason_label.isVisible() and outcome.copy_button.isEnabled()
    screenshot(outcome.window(), "run-outcome-not-saved")


def test_a_completed_answer_the_critic_doubts_is_shown_in_the_warning_colour(
    outcome: RunOutcome, qtbot: QtBot, screenshot: Screenshot
) -> None:
    run_ends(outcome, "completed", "391")
    assert meaning_colour("success", outcome.palette()).name() in outcome.status_label.text()
    assert not outcome.reason_label.isVisible()
    run_ends(outcome, "completed", "412", phi=1.0)
    assert outcome.status_text() == "Completed" and outcome.answer_text() == "412"
    assert meaning_colour("warning", outcome.palette()).name() in outcome.status_label.text()
    assert outcome.reason_text() == "The answer's final score is Φ 1 of 10, so it may be wrong."
    assert outcome.advice_text().startswith("Check the answer before you rely on it.")
    assert outcome.reason_label.isVisible() and outcome.advice_label.isVisible()
    # Noting that the run was not saved keeps the doubt.
    outcome.note_not_saved("database or disk is full")
    assert meaning_colour("warning", outcome.palette()).name() in outcome.status_label.text()
    assert outcome.advice_text().startswith(NOT_SAVED_ADVICE)
    assert outcome.advice_text().endswith("the team learns from your scores.")
    qtbot.wait(20)  # the window lays itself out again
    assert outcome.advice_label.geometry().bottom() < outcome.height()
    screenshot(outcome.window(), "run-outcome-doubtful")
