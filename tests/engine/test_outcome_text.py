"""How a run ended, in words: the real loop is run into each failure the report explains, so
the report keeps up with the loop's messages."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.outcome_text import OutcomeReader, OutcomeReport, explain_failure
from purpose_desktop.engine.specs import LoadedTeam
from purpose_desktop.models.scripted import FunctionModel, ScriptedProvider
from tests.support.scripted_team import act, one_agent_team, runner, team_model

#: A run of one step that ended cancelled at Φ 2.5.
CANCELLED = ev.RunFinished(
    run_id="r",
    seq=3,
    timestamp=0.0,
    status="cancelled",
    answer="",
    prompt_tokens=10,
    completion_tokens=1,
    seconds=0.25,
    steps=1,
    phi=2.5,
)


def report_of(
    tmp_path: Path,
    models: dict[str, FunctionModel],
    team: LoadedTeam,
    task: str = "What is 17 * 23?",
) -> OutcomeReport:
    """Run ``team`` on the scripted ``models``; the report read from its events."""
    events: list[ev.Event] = []
    asyncio.run(runner(tmp_path, ScriptedProvider(models)).run(team, task, [events.append]))
    reader = OutcomeReader()
    reports = [report for event in events if (report := reader.read(event)) is not None]
    assert len(reports) == 1 and isinstance(events[-1], ev.RunFinished)
    return reports[0]


def test_a_completed_run_reports_its_answer_and_how_it_got_there(tmp_path: Path) -> None:
    model = team_model(
        [act("calculator", expression="17*23"), act("finish", answer="391")], score=7
    )
    report = report_of(tmp_path, {"m": model}, one_agent_team(tmp_path))
    assert (report.status, report.headline, report.answer) == ("completed", "Completed", "391")
    assert report.details.startswith("2 steps · Φ 7 · ") and report.details.endswith(" s")
    assert (report.reason, report.advice) == ("", "")


def test_an_answer_nothing_backs_is_reported_as_doubtful_with_the_critics_reason(
    tmp_path: Path,
) -> None:
    # Finishing at once: the critic (asked for 9) finds no observation behind "412".
    model = team_model([act("finish", answer="412")], score=9)
    report = report_of(tmp_path, {"m": model}, one_agent_team(tmp_path))
    assert (report.status, report.headline, report.answer) == ("completed", "Completed", "412")
    assert report.doubtful and report.details.startswith("1 step · Φ 1 · ")
    assert report.reason == (
        "The critic scored the answer Φ 1 of 10 (no evidence from observations; the answer is "
        "not backed by any observation), so it may be wrong."
    )
    assert report.advice.startswith("Check the answer before you rely on it.")


def test_an_answer_the_observations_do_not_back_is_doubtful_at_the_critics_cap(
    tmp_path: Path,
) -> None:
    # The critic cites the note's observation and would give 9; "412" is capped at 5.
    model = team_model(
        [act("note", text="multiply the two numbers"), act("finish", answer="412")], score=9
    )
    report = report_of(tmp_path, {"m": model}, one_agent_team(tmp_path, tools="[note]"))
    assert report.status == "completed" and report.doubtful
    assert report.details.startswith("2 steps · Φ 5 · ")
    assert report.reason.startswith("The critic scored the answer Φ 5 of 10 (")
    assert "the answer is not backed by any observation" in report.reason


def test_a_person_who_scored_the_answer_low_is_named_as_the_doubter() -> None:
    reader = OutcomeReader()
    reader.read(ev.RunStarted(run_id="r", seq=1, timestamp=0.0, team="T", task="t"))
    reader.read(
        ev.ScoreOverridden(
            run_id="r", seq=2, timestamp=0.0, agent="a", step=1, critic_phi=8, phi=2, reason=""
        )
    )
    finished = replace(CANCELLED, status="completed", answer="7", phi=2.0)
    report = reader.read(finished)
    assert report is not None and report.doubtful
    assert report.reason == "You scored the answer Φ 2 of 10, so it may be wrong."
    # Over half the answer is not doubted.
    report = OutcomeReader().read(replace(finished, phi=5.5))
    assert report is not None and not report.doubtful and report.reason == ""
    # A resumed run forgets the scores before it: one that ends without a step of its own
    # does not say who gave the score.
    reader.read(ev.RunResumed(run_id="r", seq=4, timestamp=0.0, from_step=1))
    report = reader.read(replace(finished, seq=5))
    assert report is not None and report.doubtful
    assert report.reason == "The answer's final score is Φ 2 of 10, so it may be wrong."


def test_a_run_out_of_steps_says_to_raise_the_step_limit(tmp_path: Path) -> None:
    sums = (f"1+{n}" for n in range(10))
    model = team_model(lambda messages: act("calculator", expression=next(sums)))
    report = report_of(tmp_path, {"m": model}, one_agent_team(tmp_path, max_steps=2))
    assert (report.status, report.headline, report.answer) == ("failed", "Failed", "")
    assert report.reason == "solver reached its limit of 2 steps without finishing."
    assert report.advice.startswith("Raise solver's step limit (max steps) in the Team pane")


def test_a_model_that_writes_no_action_says_why_and_to_try_another_model(tmp_path: Path) -> None:
    model = team_model(lambda messages: "I think it is about four hundred.", name="tiny")
    # A word problem: no rule can stand in for the model (see engine/fallback.py).
    report = report_of(
        tmp_path,
        {"m": model},
        one_agent_team(tmp_path),
        task="How many apples are in 17 crates of 23?",
    )
    assert report.status == "failed"
    assert report.reason.startswith(
        "The model's answer was not a valid action: Expected one "
        'action as a JSON object, like {"tool": "calculator"'
    )
    assert "about four hundred" in report.reason
    assert report.advice.startswith("Try another model for solver than tiny")


def test_a_model_that_cannot_be_had_points_to_the_models_pane(tmp_path: Path) -> None:
    report = report_of(tmp_path, {}, one_agent_team(tmp_path, model="absent"))
    assert report.status == "failed"
    assert report.reason == "Model not found: 'absent'"
    assert report.advice == (
        "Check absent in the Models pane, or choose another model for the agent in the Team pane."
    )


def test_a_cancelled_run_can_be_resumed_and_an_unknown_failure_is_said_plainly() -> None:
    reader = OutcomeReader()
    assert reader.read(ev.ErrorRaised(run_id="r", seq=1, timestamp=0.0, message="old")) is None
    # A resumed run starts afresh: the error before it is not why it ended.
    reader.read(ev.RunResumed(run_id="r", seq=2, timestamp=0.0, from_step=1))
    report = reader.read(CANCELLED)
    assert report is not None and report.headline == "Cancelled"
    assert report.details == "1 step · Φ 2.5 · 1 tokens in 0.2 s"
    assert report.advice == "Resume it from the Runs list to go on after its last finished step."
    assert explain_failure("") == (
        "The run stopped without saying why.",
        "The timeline shows the last thing that happened before it stopped.",
    )
    assert explain_failure("disk full") == (
        "disk full",
        "The timeline shows what happened before it stopped.",
    )


def test_any_step_the_agent_could_not_take_points_to_the_model() -> None:
    reason, advice = explain_failure(
        "solver could not produce an action: The model tiny gave an empty answer."
    )
    assert reason == "The model tiny gave an empty answer."
    assert advice.startswith("Try another model for solver than tiny: ")
    reason, advice = explain_failure(
        "solver could not produce an action: solver proposed calculator(1+1) again."
    )
    assert reason == "solver proposed calculator(1+1) again."
    assert advice.startswith("Try another model for solver: ")
