"""The run pane driven through its widgets, offscreen: scripted teams through a real
``TeamRunner`` recording into a real SQLite store, and once the real bundled SmolLM2."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.config import Paths
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.loop.run import RunOutcome, TeamRunner
from purpose_desktop.engine.review import (
    ActionDecision,
    ActionReviewRequest,
    ScoreDecision,
    ScoreReviewRequest,
)
from purpose_desktop.engine.specs import LoadedTeam
from purpose_desktop.models.scripted import FunctionModel, ScriptedProvider
from purpose_desktop.services.runs import RunsService
from purpose_desktop.services.store import StoreService
from purpose_desktop.store.opening import open_store
from purpose_desktop.store.run_journal import SqlRunJournal
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets
from purpose_desktop.ui.run.controller import RunController
from purpose_desktop.ui.run.pane import RunPane
from purpose_desktop.ui.run.phi_chart import PhiChart
from purpose_desktop.ui.run.timeline import TimelineItem, parse_action
from purpose_desktop.ui.tasks import TaskKeeper
from pytestqt.qtbot import QtBot
from tests.support.scripted_team import act, make_team, one_agent_team, team_model
from tests.support.waiting import wait_until

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]
Screenshot = Callable[[Any, str], Path]

PAIR = (
    "name: Pair\nagents:\n"
    "  - name: lead\n    role: Lead.\n    model: lead\n    tools: [calculator]\n"
    "    review: never\n"
    "  - name: helper\n    role: Help.\n    model: helper\n    tools: [calculator]\n"
    "    review: never\n"
)


def pair_models() -> dict[str, FunctionModel]:
    """The lead hands the sum to the helper, which works it out; the lead then finishes."""
    return {
        "lead": team_model(
            [
                act("delegate", agent="helper", task="multiply 17 by 23"),
                act("finish", answer="391"),
            ],
            route="lead",
            score=6,
        ),
        "helper": team_model(
            [act("calculator", expression="17*23"), act("finish", answer="391")], score=7
        ),
    }


def solver_models() -> dict[str, FunctionModel]:
    return {
        "m": team_model(
            [act("calculator", expression="17*23"), act("finish", answer="391")], score=6
        )
    }


class HoldAction:
    """Approves every action, except that the review of step ``step`` waits for
    :attr:`release` (never, unless the test sets it)."""

    def __init__(self, step: int) -> None:
        self.step = step
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def review_action(self, request: ActionReviewRequest) -> ActionDecision:
        if request.step == self.step:
            self.reached.set()
            await self.release.wait()
        return ActionDecision("approve")

    async def review_score(self, request: ScoreReviewRequest) -> ScoreDecision:
        return ScoreDecision()


@dataclass
class Bench:
    """A run pane over a real runner and store, and what its controller reported."""

    pane: RunPane
    controller: RunController
    outcomes: list[RunOutcome | None] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def lines(self) -> list[str]:
        return self.pane.timeline.lines()

    def agent_text(self, agent: str) -> str:
        return self.pane.streams.streams[agent].view.toPlainText()

    def line_item(self, starting: str) -> TimelineItem:
        timeline = self.pane.timeline
        return next(
            timeline.item(row)
            for row in range(timeline.count())
            if timeline.item(row).text().split("  ", 1)[1].startswith(starting)
        )

    def expand(self, starting: str) -> dict[str, QtWidgets.QTreeWidgetItem]:
        """Expand the first line starting with ``starting``; its detail, by text."""
        item = self.line_item(starting)
        self.pane.timeline.expandItem(item)
        return children(item)


def children(item: QtWidgets.QTreeWidgetItem) -> dict[str, QtWidgets.QTreeWidgetItem]:
    found = (item.child(index) for index in range(item.childCount()))
    return {child.text(0): child for child in found if child is not None}


@pytest.fixture(autouse=True)
def collect_qt_garbage() -> Iterator[None]:
    """Each test's qasync loop leaves Qt objects (its timer, its worker threads) in reference
    cycles. They are collected here, on the main thread, once the loop is closed: a collection
    that happens to start on another thread (a model's pipe reader) destroys them there, and
    Qt crashes."""
    yield
    gc.collect()


@pytest.fixture
def make_bench(
    tmp_path: Path, qtbot: QtBot, run_in_qt_loop: RunInLoop
) -> Iterator[Callable[..., Bench]]:
    """A pane whose runs use the scripted ``models``, recorded into a SQLite store."""
    store = open_store(tmp_path / "store.sqlite3")
    journal = SqlRunJournal(lambda: store.engine)
    made: list[tuple[Bench, TaskKeeper]] = []

    def make(models: dict[str, FunctionModel], review: Any = None) -> Bench:
        errors: list[BaseException] = []
        tasks = TaskKeeper(errors.append)
        runner = TeamRunner(
            ScriptedProvider(models),
            store.memory,
            workspaces_dir=tmp_path / "workspaces",
            journal=journal,
        )
        history = RunsService(StoreService(lambda: store))
        controller = RunController(runner, tasks, review=review, history=history)
        pane = RunPane(controller)
        qtbot.addWidget(pane)
        pane.resize(1200, 760)
        pane.show()
        bench = Bench(pane, controller, errors=errors)
        controller.finished.connect(bench.outcomes.append)
        made.append((bench, tasks))
        return bench

    yield make
    for bench, tasks in made:
        run_in_qt_loop(tasks.cancel_all())
        assert bench.errors == []
    journal.close()
    store.engine.dispose()


def cell(table: QtWidgets.QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    assert item is not None
    return item.text()


def start(bench: Bench, qtbot: QtBot, team: LoadedTeam, task: str) -> None:
    bench.controller.set_team(team)
    bench.pane.task_edit.setText(task)
    assert bench.pane.run_button.isEnabled()
    bench.pane.run_button.click()
    assert bench.controller.running


def test_a_two_agent_run_streams_per_agent_and_its_timeline_expands(
    make_bench: Callable[..., Bench],
    tmp_path: Path,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    bench = make_bench(pair_models())

    async def scenario() -> None:
        start(bench, qtbot, make_team(PAIR, tmp_path), "lead: what is 17 * 23?")
        await wait_until(lambda: bool(bench.outcomes), 30)

    run_in_qt_loop(scenario())
    outcome = bench.outcomes[0]
    assert outcome is not None and (outcome.status, outcome.answer) == ("completed", "391")
    streams = bench.pane.streams
    assert list(streams.streams) == ["lead", "helper"]
    # Each step reads as the action its tokens gave, with the thought under it.
    assert bench.agent_text("lead") == (
        '── step 1 ──\nHand over to helper: "multiply 17 by 23"\nthought: use delegate\n\n'
        "── step 4 ──\nFinal answer: 391\nthought: use finish"
    )
    assert bench.agent_text("helper") == (
        '── step 2 ──\ncalculator(expression="17*23")\nthought: use calculator\n\n'
        "── step 3 ──\nFinal answer: 391\nthought: use finish"
    )
    # Hidden, the interleaved view catches up a few times a second; shown, at once.
    bench.pane.streams.tabs.setCurrentWidget(bench.pane.streams.interleaved)
    interleaved = bench.pane.stream_view.toPlainText()
    speakers = [line for line in interleaved.splitlines() if line in ("[lead]", "[helper]")]
    assert speakers == ["[lead]", "[helper]", "[lead]"]
    assert (
        'calculator(expression="17*23")\nthought: use calculator\nFinal answer: 391' in interleaved
    )
    assert streams.active_agent is None  # nobody is at work once the run ended
    # The raw tokens are one tick away, in every view, as the models wrote them.
    streams.raw_tokens.setChecked(True)
    assert bench.agent_text("lead") == (
        f"── step 1 ──\n{act('delegate', agent='helper', task='multiply 17 by 23')}\n\n"
        f"── step 4 ──\n{act('finish', answer='391')}"
    )
    assert act("calculator", expression="17*23") in bench.pane.stream_view.toPlainText()
    screenshot(bench.pane.streams, "run-pane-raw-tokens")
    streams.raw_tokens.setChecked(False)
    assert bench.agent_text("helper").endswith("Final answer: 391\nthought: use finish")
    assert bench.pane.outcome.answer_text() == "391"

    # One line per event; a line expands to the event's full detail.
    lines = bench.lines()
    assert any(
        line.endswith("Agent helper selected (lead handed it a subtask), model helper")
        for line in lines
    )
    proposal = bench.expand("Step 2: helper proposes calculator")
    assert "agent: helper" in proposal and "thought: use calculator" in proposal
    assert list(children(proposal["arguments"])) == ["expression: 17*23"]
    assert "output: 391" in bench.expand("calculator → 391")
    assert any(line.startswith("evidence: ") for line in bench.expand("Φ "))

    # A point per step, in step order, at the Φ each step ended with.
    points = bench.pane.phi_chart.series.points()
    assert [(p.step, p.agent, p.phi) for p in points] == sorted(
        (s.index, s.agent, s.phi_after) for s in outcome.steps
    )
    assert [p.step for p in points] == [1, 2, 3, 4]
    # A teammate's step forks with the teammate proposing again: only the agent the task
    # went to can be handed an action.
    helper_step = bench.line_item("Step 2: helper proposes calculator")
    bench.pane.timeline.setCurrentItem(helper_step)
    bench.pane.fork_button.click()
    assert not bench.pane.fork_editor.use_action.isEnabled()
    assert not bench.pane.fork_editor.use_action.isChecked()
    bench.pane.fork_editor.close_button.click()
    bench.pane.timeline.setCurrentItem(bench.line_item("Step 4: lead proposes finish"))
    bench.pane.fork_button.click()
    assert bench.pane.fork_editor.use_action.isChecked()
    bench.pane.fork_editor.close_button.click()
    bench.pane.timeline.scrollToItem(helper_step)
    screenshot(bench.pane, "run-pane-two-agents")


def test_the_phi_chart_has_a_point_per_step_and_marks_overrides(
    qtbot: QtBot, screenshot: Screenshot
) -> None:
    chart = PhiChart()
    qtbot.addWidget(chart)
    chart.resize(360, 150)
    for seq, (step, phi) in enumerate([(1, 2.0), (2, 5.0), (3, 4.0)], 1):
        chart.add_event(
            ev.Scored(
                run_id="r",
                seq=seq,
                timestamp=0.0,
                agent="a",
                step=step,
                phi_before=0.0,
                phi=phi,
                evidence=f"seen {step}",
            )
        )
    chart.add_event(
        ev.ScoreOverridden(
            run_id="r",
            seq=4,
            timestamp=0.0,
            agent="a",
            step=3,
            critic_phi=4.0,
            phi=8.5,
            reason="it found the file",
        )
    )
    chart.add_event(ev.RunStarted(run_id="r", seq=5, timestamp=0.0, team="T", task="t"))
    points = chart.series.points()
    assert [(p.step, p.phi, p.overridden) for p in points] == [
        (1, 2.0, False),
        (2, 5.0, False),
        (3, 8.5, True),
    ]
    assert points[2].critic_phi == 4.0
    assert "set by a person (the critic said 4)" in points[2].describe()

    image = chart.grab().toImage()
    placed = chart.positions()
    assert [round(at.x()) for _, at in placed] == sorted(round(at.x()) for _, at in placed)
    assert placed[2][1].y() < placed[1][1].y() < placed[0][1].y()  # higher Φ, higher up
    for point, at in placed:
        assert chart.point_at(at) == point
        colour = image.pixelColor(round(at.x()), round(at.y()))
        expected = (
            QtGui.QColor("#d9822b")
            if point.overridden
            else chart.palette().color(QtGui.QPalette.ColorRole.Highlight)
        )
        assert colour.name() == expected.name()
    screenshot(chart, "run-pane-phi-chart")


def test_pause_waits_before_the_next_step_until_continue(
    make_bench: Callable[..., Bench],
    tmp_path: Path,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    gate = HoldAction(step=1)
    bench = make_bench(solver_models(), review=gate)
    pane = bench.pane

    async def scenario() -> None:
        start(bench, qtbot, one_agent_team(tmp_path, review="always"), "What is 17 * 23?")
        assert not pane.pause_button.isEnabled() or pane.pause_button.text() == "Pause"
        await asyncio.wait_for(gate.reached.wait(), 30)  # step 1 waits for its review
        pane.pause_button.click()
        assert bench.controller.paused and pane.pause_button.text() == "Continue"
        assert "the step under way finishes first" in pane.status_label.text()
        gate.release.set()  # step 1 finishes; the run then waits before step 2
        await wait_until(lambda: any("Paused before step 2" in line for line in bench.lines()))
        await asyncio.sleep(0.3)
        assert not [line for line in bench.lines() if "Step 2:" in line]
        assert "── step 2 ──" not in bench.agent_text("solver")
        assert bench.controller.running and not bench.outcomes
        assert pane.status_label.text() == "Paused before step 2"
        screenshot(pane, "run-pane-paused")
        pane.pause_button.click()
        await wait_until(lambda: bool(bench.outcomes), 30)

    run_in_qt_loop(scenario())
    outcome = bench.outcomes[0]
    assert outcome is not None and outcome.answer == "391"
    lines = [line.split("  ", 1)[1] for line in bench.lines()]
    paused = lines.index("Paused before step 2")
    assert lines[paused + 1] == "Going on with step 2"
    assert lines[paused + 2].startswith("Step 2: solver proposes finish")
    assert pane.pause_button.text() == "Pause" and not pane.pause_button.isEnabled()


def test_cancel_ends_the_run_and_the_runs_list_resumes_it(
    make_bench: Callable[..., Bench],
    tmp_path: Path,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    gate = HoldAction(step=1)  # not released: only Cancel ends this run
    bench = make_bench(solver_models(), review=gate)

    async def scenario() -> None:
        start(bench, qtbot, one_agent_team(tmp_path, review="always"), "What is 17 * 23?")
        await asyncio.wait_for(gate.reached.wait(), 30)
        assert bench.pane.cancel_button.isEnabled()
        bench.pane.cancel_button.click()
        await wait_until(lambda: bool(bench.outcomes), 30)

    run_in_qt_loop(scenario())
    assert bench.outcomes == [None]
    assert bench.lines()[-1].split("  ", 1)[1].startswith("Run cancelled after 0 step(s)")
    pane = bench.pane
    assert (pane.outcome.status_text(), pane.outcome.answer_text()) == ("Cancelled", "")
    assert "Resume it from the Runs list" in pane.outcome.advice_text()
    assert not pane.outcome.copy_button.isEnabled()
    assert pane.run_button.isEnabled() and not pane.cancel_button.isEnabled()
    assert not pane.pause_button.isEnabled()
    screenshot(pane, "run-pane-cancelled")

    async def resume() -> None:
        gate.release.set()
        pane.details_tabs.setCurrentWidget(pane.runs_list)
        await wait_until(lambda: pane.runs_list.table.rowCount() == 1, 10)
        pane.runs_list.table.selectRow(0)
        assert cell(pane.runs_list.table, 0, 1) == "cancelled"
        pane.runs_list.resume_button.click()
        await wait_until(lambda: len(bench.outcomes) == 2, 30)

    run_in_qt_loop(resume())
    outcome = bench.outcomes[1]
    assert outcome is not None and (outcome.status, outcome.answer) == ("completed", "391")
    assert bench.lines()[0].split("  ", 1)[1] == "Run resumed after step 0"


def test_a_recorded_run_reopens_from_the_runs_list_as_it_was_shown_live(
    make_bench: Callable[..., Bench],
    tmp_path: Path,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    bench = make_bench(pair_models())
    pane = bench.pane

    async def scenario() -> None:
        start(bench, qtbot, make_team(PAIR, tmp_path), "lead: what is 17 * 23?")
        await wait_until(lambda: bool(bench.outcomes), 30)

    run_in_qt_loop(scenario())
    live = (
        bench.lines(),
        {a: bench.agent_text(a) for a in pane.streams.streams},
        pane.stream_view.toPlainText(),
        pane.phi_chart.series.points(),
    )
    outcome = bench.outcomes[0]
    assert outcome is not None
    # The outcome box says how the run went; the status line does not say it again.
    assert (
        pane.status_label.text() == f"Run {outcome.run_id[:8]} ended; it is kept in the runs list."
    )

    async def reopen() -> None:
        pane.details_tabs.setCurrentWidget(pane.runs_list)  # lists the runs afresh
        await wait_until(lambda: pane.runs_list.table.rowCount() == 1, 10)
        screenshot(pane, "run-pane-runs-list")
        pane.runs_list.table.selectRow(0)
        assert pane.runs_list.selected_run() is not None
        assert not pane.runs_list.resume_button.isEnabled()  # it completed
        pane.runs_list.open_button.click()
        assert bench.controller.replaying
        await wait_until(lambda: not bench.controller.running, 10)

    run_in_qt_loop(reopen())
    row = [cell(pane.runs_list.table, 0, column) for column in range(3)]
    assert row[1:] == ["completed", "4"]
    assert pane.details_tabs.currentIndex() == 0
    replayed = (
        bench.lines(),
        {a: bench.agent_text(a) for a in pane.streams.streams},
        pane.stream_view.toPlainText(),
        pane.phi_chart.series.points(),
    )
    assert replayed == live
    assert pane.status_label.text() == f"Recorded run {outcome.run_id[:8]}, as it ran."
    assert (pane.outcome.status_text(), pane.outcome.answer_text()) == ("Completed", "391")
    assert len(bench.outcomes) == 1  # a replay is not a run
    screenshot(pane, "run-pane-replayed")

    pane.outcome.clear()

    async def replay_at_its_pace() -> None:
        pane.runs_list.replay_button.click()
        assert bench.controller.replaying
        assert not pane.outcome.isVisible()  # until the replay reaches the end
        await wait_until(lambda: not bench.controller.running, 10)

    run_in_qt_loop(replay_at_its_pace())
    assert (bench.lines(), pane.phi_chart.series.points()) == (live[0], live[3])
    assert pane.outcome.isVisible() and pane.outcome.answer_text() == "391"


def test_a_step_forks_into_a_new_run_with_an_edited_action(
    make_bench: Callable[..., Bench],
    tmp_path: Path,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    bench = make_bench(solver_models())
    pane = bench.pane

    async def scenario() -> None:
        start(bench, qtbot, one_agent_team(tmp_path), "What is 17 * 23?")
        await wait_until(lambda: bool(bench.outcomes), 30)
        original = bench.outcomes[0]
        assert original is not None
        # Reopened from the list, as a person would come back to it later.
        pane.open_run(original.run_id)
        await wait_until(lambda: not bench.controller.running, 10)
        assert not pane.fork_button.isEnabled()
        pane.timeline.setCurrentItem(bench.line_item("Step 2: solver proposes finish"))
        assert pane.fork_button.isEnabled() and pane.fork_button.text() == "Fork from step 2…"
        pane.fork_button.click()
        editor = pane.fork_editor
        assert editor.isVisible() and '"answer": "391"' in editor.action_edit.toPlainText()
        editor.action_edit.setPlainText("not an action")
        editor.start_button.click()
        assert editor.problem.isVisible() and "not JSON" in editor.problem.text()
        assert not pane.cancel_button.isEnabled()  # nothing started
        edited = editor.action_edit
        edited.setPlainText('{"tool": "finish", "answer": "four hundred", "thought": "sure"}')
        screenshot(pane, "run-pane-fork-editor")
        editor.start_button.click()
        assert pane.cancel_button.isEnabled() and not editor.isVisible()
        await wait_until(lambda: len(bench.outcomes) == 2, 30)
        pane.details_tabs.setCurrentWidget(pane.runs_list)
        await wait_until(lambda: pane.runs_list.table.rowCount() == 2, 10)

    run_in_qt_loop(scenario())
    original, fork = bench.outcomes
    assert original is not None and fork is not None
    assert (fork.status, fork.answer) == ("completed", "four hundred")
    assert fork.run_id != original.run_id
    lines = [line.split("  ", 1)[1] for line in bench.lines()]
    assert lines[0] == (
        f"Run forked from run {original.run_id[:8]} after step 1, with an edited action"
    )
    proposed = [line for line in lines if line.startswith("Step ")]
    assert proposed == ['Step 2: solver proposes finish {"answer": "four hundred"}']
    assert bench.agent_text("solver") == (
        "── step 2 ──\nA person's action: Final answer: four hundred\nthought: sure"
    )
    pane.streams.set_show_raw(True)
    assert bench.agent_text("solver").endswith(
        'A person\'s action: {"tool": "finish", "answer": "four hundred", "thought": "sure"}'
    )
    assert pane.outcome.answer_text() == "four hundred"
    assert [p.step for p in pane.phi_chart.series.points()] == [2]
    statuses = [cell(pane.runs_list.table, row, 1) for row in range(2)]
    assert statuses == ["completed (fork)", "completed"]
    screenshot(pane, "run-pane-forked")


def test_an_edited_action_is_read_from_json() -> None:
    action = parse_action('{"tool": " calculator ", "expression": "2+2", "thought": "add"}')
    assert (action.tool, dict(action.arguments), action.thought) == (
        "calculator",
        {"expression": "2+2"},
        "add",
    )
    for text, problem in (("[1]", "JSON object"), ('{"answer": "x"}', '"tool"'), ("{", "not JSON")):
        with pytest.raises(ValueError, match=problem):
            parse_action(text)


def test_the_pending_reviews_have_a_place_above_the_timeline(
    make_bench: Callable[..., Bench],
) -> None:
    pane = make_bench({}).pane
    first, second = QtWidgets.QLabel("one review waiting"), QtWidgets.QLabel("two waiting")
    pane.set_pending_reviews_widget(first)
    assert first.isVisible()
    pane.set_pending_reviews_widget(second)
    assert second.isVisible() and first.parent() is None
    first.deleteLater()
    chosen: list[bool] = []
    assert not pane.change_team_button.isVisible()
    pane.set_team_chooser(lambda: chosen.append(True))
    pane.change_team_button.click()
    assert pane.change_team_button.isVisible() and chosen == [True]


def test_a_finished_run_shows_its_answer_to_copy_and_a_new_run_clears_it(
    make_bench: Callable[..., Bench],
    tmp_path: Path,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    gate = HoldAction(step=1)
    bench = make_bench(
        {
            "m": team_model(
                # Each run finishes by rule with the calculator's result of its expression.
                [act("calculator", expression="17*23"), act("calculator", expression="2+2")],
                score=7,
            )
        },
        review=gate,
    )
    pane, outcome = bench.pane, bench.pane.outcome
    assert not outcome.isVisible() and outcome.status_text() == "No answer yet"
    clipboard = QtWidgets.QApplication.clipboard()

    async def scenario() -> None:
        gate.release.set()
        start(bench, qtbot, one_agent_team(tmp_path, review="always"), "What is 17 * 23?")
        await wait_until(lambda: bool(bench.outcomes), 30)
        assert outcome.isVisible()
        assert (outcome.status_text(), outcome.answer_text()) == ("Completed", "391")
        assert outcome.answer_view.toPlainText() == "391" and outcome.answer_view.isReadOnly()
        assert outcome.details_label.text().startswith("2 steps · Φ 7 · ")
        assert not outcome.reason_label.isVisible() and not outcome.advice_label.isVisible()
        pane.timeline.flush()
        screenshot(pane, "run_outcome_completed")
        clipboard.setText("something else")
        outcome.copy_button.click()
        assert clipboard.text() == "391" and outcome.copy_button.text() == "Copied"
        # Ctrl+Shift+C copies it too, wherever the focus is in the pane.
        clipboard.setText("something else")
        pane.activateWindow()
        await wait_until(pane.isActiveWindow)
        pane.task_edit.setFocus()
        qtbot.keyClick(
            pane.task_edit,
            QtCore.Qt.Key.Key_C,
            QtCore.Qt.KeyboardModifier.ControlModifier | QtCore.Qt.KeyboardModifier.ShiftModifier,
        )
        assert clipboard.text() == "391"
        # The next run starts without the last one's answer.
        gate.release.clear()
        pane.task_edit.setText("What is 2 + 2?")
        pane.run_button.click()
        await asyncio.wait_for(gate.reached.wait(), 30)
        assert not outcome.isVisible() and outcome.answer_text() == ""
        assert outcome.status_text() == "No answer yet"
        clipboard.setText("something else")
        qtbot.keyClick(
            pane.task_edit,
            QtCore.Qt.Key.Key_C,
            QtCore.Qt.KeyboardModifier.ControlModifier | QtCore.Qt.KeyboardModifier.ShiftModifier,
        )
        assert clipboard.text() == "something else"  # nothing to copy yet
        gate.release.set()
        await wait_until(lambda: len(bench.outcomes) == 2, 30)

    run_in_qt_loop(scenario())
    assert (outcome.status_text(), outcome.answer_text()) == ("Completed", "4")


def test_a_failed_run_says_why_and_what_to_do_next(
    make_bench: Callable[..., Bench],
    tmp_path: Path,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    sums = (f"1+{n}" for n in range(10))
    bench = make_bench(
        {"m": team_model(lambda messages: act("calculator", expression=next(sums)), score=3)}
    )
    outcome = bench.pane.outcome

    async def scenario() -> None:
        start(bench, qtbot, one_agent_team(tmp_path, max_steps=2), "Count forever.")
        await wait_until(lambda: bool(bench.outcomes), 30)

    run_in_qt_loop(scenario())
    assert (outcome.status_text(), outcome.answer_text()) == ("Failed", "")
    assert outcome.reason_label.isVisible() and outcome.advice_label.isVisible()
    assert outcome.reason_text() == "solver reached its limit of 2 steps without finishing."
    assert "Raise solver's step limit (max steps)" in outcome.advice_label.text()
    assert not outcome.copy_button.isEnabled() and not outcome.answer_view.isVisible()
    bench.pane.timeline.flush()
    screenshot(bench.pane, "run_outcome_failed")


@pytest.mark.model
def test_tokens_from_the_bundled_model_stream_into_the_agents_view(
    home: Paths, qtbot: QtBot, run_in_qt_loop: RunInLoop, screenshot: Screenshot
) -> None:
    from purpose_desktop.app import build_app_parts
    from purpose_desktop.config import example_team_file
    from purpose_desktop.engine.team_file import load_team

    services = build_app_parts(home)
    errors: list[BaseException] = []
    tasks = TaskKeeper(errors.append)

    history = RunsService(services.services.store)
    controller = RunController(services.runner, tasks, history=history)
    pane = RunPane(controller)
    qtbot.addWidget(pane)
    pane.resize(1200, 760)
    pane.show()
    outcomes: list[RunOutcome | None] = []
    controller.finished.connect(outcomes.append)
    listed: list[Any] = []
    controller.runs_listed.connect(listed.append)

    async def scenario() -> None:
        controller.set_team(load_team(example_team_file()))
        pane.task_edit.setText("Name three primary colours.")
        pane.run_button.click()
        # Tokens after the step's heading: the model is writing.
        await wait_until(
            lambda: (
                "helper" in pane.streams.streams
                and bool(pane.streams.streams["helper"].view.toPlainText().partition("──\n")[2])
            ),
            120,
        )
        assert pane.streams.active_agent == "helper"
        assert pane.streams.streams["helper"].active
        screenshot(pane, "run-pane-model-streaming")
        await wait_until(lambda: bool(outcomes), 120)
        pane.details_tabs.setCurrentWidget(pane.runs_list)
        await wait_until(lambda: bool(listed), 30)

    try:
        run_in_qt_loop(scenario())
    finally:
        run_in_qt_loop(tasks.cancel_all())
        run_in_qt_loop(services.aclose())
    assert errors == []
    outcome = outcomes[0]
    assert outcome is not None and outcome.status == "completed"
    # The step reads as its action; the answer is also where a person looks first.
    readable = pane.streams.streams["helper"].view.toPlainText()
    assert f"Final answer: {' '.join(outcome.answer.split())}" in readable
    assert (pane.outcome.status_text(), pane.outcome.answer_text()) == ("Completed", outcome.answer)
    pane.streams.set_show_raw(True)
    streamed = pane.streams.streams["helper"].view.toPlainText()
    assert outcome.answer in streamed and streamed != readable  # as the model wrote it
    pane.streams.set_show_raw(False)
    assert [run.id for run in listed[-1]] == [outcome.run_id]
    screenshot(pane, "run-pane-model")
