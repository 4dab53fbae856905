"""Reviews in the GUI: real scripted runs wait on the dialog gate, and a person answers through
the dialogs' buttons and keys while the event loop (and other agents) carry on."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from purpose_desktop.config import Paths
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.learning.lessons import REJECTED_PREFIX
from purpose_desktop.engine.learning.memory import ScoreAnchor
from purpose_desktop.engine.loop.run import RunOutcome, TeamRunner
from purpose_desktop.engine.loop.tool_source import ToolSource
from purpose_desktop.engine.recording.run_records import ScoreOverrideRecord
from purpose_desktop.engine.review import (
    ActionDecision,
    ActionReviewRequest,
    ReviewGate,
    ScoreDecision,
    ScoreReviewRequest,
)
from purpose_desktop.engine.specs import LoadedTeam
from purpose_desktop.engine.tools.base import Tool, ToolHints
from purpose_desktop.engine.tools.mcp.config import load_mcp_config
from purpose_desktop.engine.tools.mcp.tools import McpServers
from purpose_desktop.engine.trajectory import Action, Observation, State
from purpose_desktop.models.scripted import FunctionModel, ScriptedProvider
from purpose_desktop.services.store import StoreService
from purpose_desktop.services.tool_permissions import ToolPermissionsService
from purpose_desktop.store.opening import Store, open_store
from purpose_desktop.store.run_journal import SqlRunJournal
from purpose_desktop.ui.qt import QtCore, QtWidgets
from purpose_desktop.ui.review.dialogs import (
    CLOSED_REASON,
    DIALOG_WIDTH,
    ActionReviewDialog,
    ReviewDialog,
    ScoreReviewDialog,
    hints_text,
)
from purpose_desktop.ui.review.gate import DialogReviewGate
from purpose_desktop.ui.review.pending import EMPTY_TEXT, PendingReviewsList
from purpose_desktop.ui.widgets.schema_form import SchemaForm
from pytestqt.qtbot import QtBot
from tests.support.mcp_server import server_command
from tests.support.scripted_team import act, make_team, one_agent_team, team_model
from tests.support.waiting import wait_until

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]
Screenshot = Callable[[Any, str], Path]
D = TypeVar("D", bound=ReviewDialog)
E = TypeVar("E", bound=ev.Event)
Key = QtCore.Qt.Key
FRAME_S = 0.05
TASK = "What is 17 * 23?"
PROGRAM = "import math\n\nresult = 17 * 23\nprint(math.sqrt(result), result)\n"


@pytest.fixture
def window(qtbot: QtBot) -> QtWidgets.QWidget:
    """Stands in for the main window the dialogs are shown over. qtbot closes it outside the
    loop: the last window closing inside the loop would stop it."""
    host = QtWidgets.QWidget()
    host.setWindowTitle("Purpose Desktop")
    host.resize(900, 640)
    qtbot.addWidget(host)
    host.show()
    return host


def start(
    runner: TeamRunner, team: LoadedTeam, gate: ReviewGate, seen: list[ev.Event], task: str = TASK
) -> asyncio.Task[RunOutcome]:
    return asyncio.ensure_future(runner.run(team, task, [seen.append], gate))


@dataclass
class Desk:
    """What a test of reviews works with: the data folder, a real store and journal, the gate
    over a window, qtbot to press keys, and the events of the runs it starts."""

    home: Paths
    store: Store
    journal: SqlRunJournal
    gate: DialogReviewGate
    qtbot: QtBot
    seen: list[ev.Event] = field(default_factory=list)

    def runner(self, **models: FunctionModel) -> TeamRunner:
        return TeamRunner(
            ScriptedProvider(models),
            self.store.memory,
            workspaces_dir=self.home.workspaces_dir,
            journal=self.journal,
        )

    def start(
        self, *actions: str, score: int = 5, tools: str = "[calculator]", task: str = TASK
    ) -> asyncio.Task[RunOutcome]:
        """Start "solver", which asks about everything, on ``task``; its model acts
        ``actions`` in turn and scores every state ``score``."""
        team = one_agent_team(self.home.teams_dir, tools=tools, review="always")
        return start(
            self.runner(m=team_model(list(actions), score=score)),
            team,
            self.gate,
            self.seen,
            task,
        )

    async def dialog(self, kind: type[D], within: float = 30) -> D:
        """The first open dialog of ``kind``, once there is one."""

        def found() -> D | None:
            for index in range(len(self.gate.pending)):
                dialog = self.gate.dialog_at(index)
                if isinstance(dialog, kind) and dialog.isVisible():
                    return dialog
            return None

        await wait_until(lambda: found() is not None, within)
        dialog = found()
        assert dialog is not None
        return dialog

    async def approve(self) -> None:
        """Press Enter in the next action's dialog."""
        self.qtbot.keyClick(await self.dialog(ActionReviewDialog), Key.Key_Return)

    async def keep_score(self) -> None:
        """Press Esc in the next score's dialog: the critic's score stands."""
        self.qtbot.keyClick((await self.dialog(ScoreReviewDialog)).slider, Key.Key_Escape)

    async def finish(self, running: asyncio.Task[RunOutcome]) -> RunOutcome:
        """Approve the last action and keep its score; the run's outcome."""
        await self.approve()
        await self.keep_score()
        return await running

    def events(self, kind: type[E]) -> list[E]:
        return of_type(self.seen, kind)


@pytest.fixture
def desk(home: Paths, window: QtWidgets.QWidget, qtbot: QtBot) -> Iterator[Desk]:
    store = open_store(home.database_file)
    journal = SqlRunJournal(lambda: store.engine)
    yield Desk(home, store, journal, DialogReviewGate(window), qtbot)
    journal.close()
    store.engine.dispose()


async def picture(screenshot: Screenshot, widget: QtWidgets.QWidget, name: str) -> Path:
    """A screenshot once the layout has settled, as it has before the next paint."""
    await asyncio.sleep(FRAME_S)
    return screenshot(widget, name)


def of_type(seen: list[ev.Event], kind: type[E]) -> list[E]:
    return [event for event in seen if isinstance(event, kind)]


def test_approve_by_button_and_by_enter_and_keep_scores_by_esc_and_enter(
    desk: Desk,
    run_in_qt_loop: RunInLoop,
) -> None:
    qtbot = desk.qtbot

    async def scenario() -> RunOutcome:
        running = desk.start(act("calculator", expression="17*23"), act("finish", answer="391"))
        first = await desk.dialog(ActionReviewDialog)
        assert first.request.action.arguments == {"expression": "17*23"}
        assert not first.edit_button.isEnabled()  # nothing edited yet
        qtbot.mouseClick(first.approve_button, QtCore.Qt.MouseButton.LeftButton)
        await desk.keep_score()
        finishing = await desk.dialog(ActionReviewDialog)
        assert finishing.form.names == ["answer"]
        assert finishing.always_allow_box.isHidden()  # finish is not a tool to allow
        # Enter in a form field approves: the field does not use it, the dialog does.
        qtbot.keyClick(finishing.form.editor("answer"), Key.Key_Return)
        scoring = await desk.dialog(ScoreReviewDialog)
        qtbot.keyClick(scoring.slider, Key.Key_Return)  # the slider unmoved: keep
        return await running

    outcome = run_in_qt_loop(asyncio.wait_for(scenario(), 60))
    assert (outcome.status, outcome.answer) == ("completed", "391")
    assert [(r.verdict, r.by) for r in desk.events(ev.ActionReviewed)] == [
        ("approved", "person"),
        ("approved", "person"),
    ]
    assert desk.events(ev.ToolFinished)[0].output == "391"
    assert not desk.events(ev.ScoreOverridden)
    assert desk.gate.pending == ()


def test_an_argument_edited_in_the_form_is_what_the_tool_runs(
    desk: Desk,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    qtbot = desk.qtbot

    async def scenario() -> RunOutcome:
        running = desk.start(act("calculator", expression="17*23"), act("finish", answer="408"))
        dialog = await desk.dialog(ActionReviewDialog)
        line = dialog.form.editor("expression")
        assert isinstance(line, QtWidgets.QLineEdit)
        # Too long for the schema: marked at the field, and neither button nor Enter runs it.
        line.setText("1+" * 150 + "1")
        assert dialog.form.shown_problem("expression") == ("At most 300 characters; this has 301.")
        assert not dialog.edit_button.isEnabled()
        await picture(screenshot, dialog, "review-action-invalid-edit")
        qtbot.keyClick(line, Key.Key_Return)
        assert not dialog.is_decided
        line.clear()
        qtbot.keyClicks(line, "17*24")
        assert dialog.form.shown_problem("expression") is None
        assert dialog.approve_button.text() == "&Approve as proposed"
        qtbot.mouseClick(dialog.edit_button, QtCore.Qt.MouseButton.LeftButton)
        await desk.keep_score()
        return await desk.finish(running)

    outcome = run_in_qt_loop(asyncio.wait_for(scenario(), 60))
    assert outcome.status == "completed"
    (started,) = desk.events(ev.ToolStarted)
    assert started.arguments == {"expression": "17*24"}
    assert desk.events(ev.ToolFinished)[0].output == "408"
    reviewed = desk.events(ev.ActionReviewed)[0]
    assert (reviewed.verdict, dict(reviewed.arguments)) == ("edited", {"expression": "17*24"})


def test_reject_with_a_reason_by_button_and_by_esc(
    desk: Desk,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    qtbot = desk.qtbot

    async def scenario() -> RunOutcome:
        running = desk.start(
            act("python", code=PROGRAM),
            act("calculator", expression="17*32"),
            act("finish", answer="391"),
            tools="[python, calculator]",
            # Named, Python is offered beside the calculator the sum points at.
            task="What is 17 * 23? Use Python or the calculator.",
        )
        coding = await desk.dialog(ActionReviewDialog)
        code = coding.form.editor("code")
        assert isinstance(code, QtWidgets.QPlainTextEdit)
        assert code.toPlainText() == PROGRAM
        await picture(screenshot, coding, "review-action-python")
        qtbot.keyClicks(coding.reason_edit, "no code: use the calculator")
        qtbot.mouseClick(coding.reject_button, QtCore.Qt.MouseButton.LeftButton)
        await desk.keep_score()
        wrong = await desk.dialog(ActionReviewDialog)
        qtbot.keyClicks(wrong.reason_edit, "the numbers are swapped")
        qtbot.keyClick(wrong.reason_edit, Key.Key_Escape)
        await desk.keep_score()
        return await desk.finish(running)

    outcome = run_in_qt_loop(asyncio.wait_for(scenario(), 60))
    assert outcome.status == "completed"
    assert [s.observation.text for s in outcome.steps[:2]] == [
        f"{REJECTED_PREFIX}: no code: use the calculator",
        f"{REJECTED_PREFIX}: the numbers are swapped",
    ]
    assert [(r.verdict, r.reason) for r in desk.events(ev.ActionReviewed)[:2]] == [
        ("rejected", "no code: use the calculator"),
        ("rejected", "the numbers are swapped"),
    ]
    assert not desk.events(ev.ToolStarted)  # nothing rejected ever ran


def test_always_allow_stops_asking_about_that_tool_for_the_run(
    desk: Desk,
    run_in_qt_loop: RunInLoop,
) -> None:
    qtbot = desk.qtbot

    async def scenario() -> RunOutcome:
        running = desk.start(
            # Not the task's own expression as written, so the run does not finish by rule.
            act("calculator", expression="23*17"),
            act("calculator", expression="391+0"),
            act("finish", answer="391"),
        )
        first = await desk.dialog(ActionReviewDialog)
        box = first.always_allow_box
        assert box.text() == "Al&ways allow calculator for this run"
        qtbot.mouseClick(
            box, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(8, box.height() // 2)
        )  # on the tick box
        assert box.isChecked()
        qtbot.keyClick(box, Key.Key_Return)
        await desk.keep_score()
        await desk.keep_score()  # step 2's action was not asked about, its score is
        return await desk.finish(running)

    outcome = run_in_qt_loop(asyncio.wait_for(scenario(), 60))
    assert outcome.status == "completed"
    assert [(r.tool, r.by) for r in desk.events(ev.ActionReviewed)] == [
        ("calculator", "person"),
        ("calculator", "policy"),
        ("finish", "person"),
    ]
    assert [e.arguments["expression"] for e in desk.events(ev.ToolStarted)] == ["23*17", "391+0"]


def test_the_slider_moved_with_arrow_keys_overrides_the_score_and_teaches_the_critic(
    desk: Desk,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    qtbot = desk.qtbot
    reason = "17 * 23 = 391 is shown"

    async def scenario() -> tuple[RunOutcome, list[ScoreAnchor]]:
        running = desk.start(
            act("calculator", expression="17*23"), act("finish", answer="391"), score=4
        )
        await desk.approve()
        dialog = await desk.dialog(ScoreReviewDialog)
        assert (dialog.value, dialog.value_label.text()) == (4.0, "4")
        assert not dialog.override_button.isEnabled()
        await picture(screenshot, dialog, "review-score-critic")
        for _ in range(5):
            qtbot.keyClick(dialog.slider, Key.Key_Right)
        qtbot.keyClick(dialog.slider, Key.Key_Left)
        assert (dialog.value, dialog.value_label.text()) == (6.0, "6")
        for key in (Key.Key_PageDown, Key.Key_PageDown):  # a point each, to the critic's 4
            qtbot.keyClick(dialog.slider, key)
        assert (dialog.value, dialog.override_button.isEnabled()) == (4.0, False)
        for key in (Key.Key_PageUp, Key.Key_PageUp):
            qtbot.keyClick(dialog.slider, key)
        assert dialog.override_button.isEnabled()
        assert dialog.override_button.text() == "&Override with 6"
        qtbot.keyClicks(dialog.reason_edit, reason)
        # Up in the reason's line moves the slider too; Down takes it back.
        qtbot.keyClick(dialog.reason_edit, Key.Key_Up)
        assert dialog.value == 6.5
        qtbot.keyClick(dialog.reason_edit, Key.Key_Down)
        await picture(screenshot, dialog, "review-score-override")
        qtbot.keyClick(dialog.slider, Key.Key_Return)
        outcome = await desk.finish(running)
        await desk.journal.flush()
        return outcome, await desk.store.memory.find_anchors("T", TASK)

    outcome, anchors = run_in_qt_loop(asyncio.wait_for(scenario(), 60))
    assert outcome.status == "completed"
    (overridden,) = desk.events(ev.ScoreOverridden)
    assert (overridden.step, overridden.critic_phi, overridden.phi, overridden.reason) == (
        1,
        4.0,
        6.0,
        reason,
    )
    assert outcome.steps[0].phi_after == 6.0
    assert desk.store.runs.run_now(outcome.run_id).overrides == (
        ScoreOverrideRecord(1, "solver", 4.0, 6.0, reason),
    )
    assert [(a.critic_score, a.human_score, a.reason, a.run_id) for a in anchors] == [
        (4.0, 6.0, reason, outcome.run_id)
    ]


def two_teams(folder: Path) -> tuple[LoadedTeam, LoadedTeam]:
    def team(name: str, agent: str, model: str) -> LoadedTeam:
        place = folder / name
        place.mkdir(parents=True)
        return make_team(
            f"name: {name}\nagents:\n  - name: {agent}\n    role: Solve it.\n"
            f"    model: {model}\n    tools: [calculator]\n    review: always\n",
            place,
        )

    return team("A", "solver", "m1"), team("B", "checker", "m2")


def test_two_reviews_waiting_at_once_are_listed_and_raised_from_the_list(
    desk: Desk,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    gate, qtbot = desk.gate, desk.qtbot
    listing = PendingReviewsList(gate)
    qtbot.addWidget(listing)
    listing.resize(420, 160)
    listing.show()
    assert listing.caption.text() == EMPTY_TEXT and listing.list.isHidden()
    qtbot.wait(int(FRAME_S * 1000))
    screenshot(listing, "pending-reviews-empty")
    models = {
        "m1": team_model([act("finish", answer="391")]),
        "m2": team_model([act("calculator", expression="17*32"), act("finish", answer="391")]),
    }
    first_team, second_team = two_teams(desk.home.teams_dir)

    async def scenario() -> list[RunOutcome]:
        both = desk.runner(**models)
        runs = [start(both, team, gate, desk.seen) for team in (first_team, second_team)]
        await wait_until(lambda: len(gate.pending) == 2)
        row = {p.agent: index for index, p in enumerate(gate.pending)}  # in either order
        assert sorted(listing.texts()) == [
            "Approve — checker, step 1: call calculator",
            "Approve — solver, step 1: finish",
        ]
        assert listing.caption.text().startswith("2 reviews waiting")
        await picture(screenshot, listing, "pending-reviews-two")
        solver, checker = gate.dialog_at(row["solver"]), gate.dialog_at(row["checker"])
        solver.showMinimized()  # as if lost: minimized, or behind another window
        item = listing.list.item(row["solver"])
        qtbot.mouseClick(
            listing.list.viewport(),
            QtCore.Qt.MouseButton.LeftButton,
            pos=listing.list.visualItemRect(item).center(),
        )
        await wait_until(lambda: QtWidgets.QApplication.activeWindow() is solver, 10)
        assert not solver.isMinimized()
        listing.list.setCurrentRow(row["checker"])
        qtbot.keyClick(listing.list, Key.Key_Return)
        await wait_until(lambda: QtWidgets.QApplication.activeWindow() is checker, 10)
        # Answering one takes it off the list at once; the other waits on.
        qtbot.keyClick(checker, Key.Key_Escape)
        assert listing.texts() == ["Approve — solver, step 1: finish"]
        qtbot.keyClick(solver, Key.Key_Return)
        while not all(run.done() for run in runs):
            await wait_until(lambda: all(run.done() for run in runs) or bool(gate.pending))
            if gate.pending:
                qtbot.keyClick(gate.dialog_at(0), Key.Key_Return)
        return [await run for run in runs]

    outcomes = run_in_qt_loop(asyncio.wait_for(scenario(), 60))
    assert [(o.agent, o.status) for o in outcomes] == [
        ("solver", "completed"),
        ("checker", "completed"),
    ]
    checker_steps = outcomes[1].steps
    assert checker_steps[0].observation.text == f"{REJECTED_PREFIX}: no reason given"
    assert gate.pending == ()
    assert listing.caption.text() == EMPTY_TEXT and listing.list.isHidden()


def test_a_waiting_review_does_not_stop_the_loop_or_other_agents(
    desk: Desk,
    run_in_qt_loop: RunInLoop,
) -> None:
    folder = desk.home.teams_dir / "unattended"
    folder.mkdir()
    unattended = one_agent_team(folder, review="never", model="fast")
    fast = team_model([act("calculator", expression="2+2"), act("finish", answer="4")])
    ticks: list[int] = []
    timer = QtCore.QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(len(ticks)))
    other_seen: list[ev.Event] = []

    async def scenario() -> tuple[RunOutcome, RunOutcome]:
        waiting = desk.start(act("finish", answer="391"))
        dialog = await desk.dialog(ActionReviewDialog)
        timer.start()
        # With the dialog open, another agent streams and runs its whole task.
        other = await start(
            desk.runner(fast=fast), unattended, desk.gate, other_seen, "What is 2 + 2?"
        )
        await wait_until(lambda: len(ticks) >= 5, 10)
        assert dialog.isVisible() and not waiting.done()
        desk.qtbot.keyClick(dialog, Key.Key_Return)
        await desk.keep_score()
        return await waiting, other

    try:
        waited, other = run_in_qt_loop(asyncio.wait_for(scenario(), 60))
    finally:
        timer.stop()
    assert (other.status, other.answer) == ("completed", "4")
    assert of_type(other_seen, ev.TokenStreamed)
    assert (waited.status, waited.answer) == ("completed", "391")


def test_cancelling_the_run_closes_its_dialog_and_empties_the_list(
    desk: Desk,
    run_in_qt_loop: RunInLoop,
) -> None:
    gate = desk.gate
    destroyed: list[bool] = []
    changes: list[int] = []
    gate.pending_changed.connect(lambda: changes.append(len(gate.pending)))

    async def scenario() -> None:
        running = desk.start(act("calculator", expression="17*23"))
        dialog = await desk.dialog(ActionReviewDialog)
        dialog.destroyed.connect(lambda: destroyed.append(True))
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        assert gate.pending == ()
        await wait_until(lambda: bool(destroyed), 10)  # closed, and gone
        await desk.journal.flush()

    run_in_qt_loop(asyncio.wait_for(scenario(), 60))
    assert changes == [1, 0]
    assert not desk.events(ev.ActionReviewed)  # no decision was made up
    run_id = desk.events(ev.RunStarted)[0].run_id
    assert desk.store.runs.run_now(run_id).summary.status == "cancelled"


def test_closing_a_dialog_rejects_the_action_and_keeps_the_score(
    desk: Desk,
    run_in_qt_loop: RunInLoop,
) -> None:
    async def scenario() -> RunOutcome:
        running = desk.start(act("calculator", expression="17*23"), act("finish", answer="391"))
        (await desk.dialog(ActionReviewDialog)).close()
        scoring = await desk.dialog(ScoreReviewDialog)
        desk.qtbot.keyClick(scoring.slider, Key.Key_Right)
        scoring.close()
        return await desk.finish(running)

    outcome = run_in_qt_loop(asyncio.wait_for(scenario(), 60))
    assert outcome.steps[0].observation.text == f"{REJECTED_PREFIX}: {CLOSED_REASON}"
    assert not desk.events(ev.ScoreOverridden)


def test_the_form_gives_each_type_its_editor_and_keeps_unknown_arguments(
    qtbot: QtBot,
    screenshot: Screenshot,
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "where to write"},
            "lines": {"type": "integer", "minimum": 1, "description": "how many lines"},
            "ratio": {"type": "number"},
            "append": {"type": "boolean"},
            "mode": {"type": "string", "enum": ["text", "binary"]},
            "content": {"type": "string", "maxLength": 4000},
        },
        "required": ["path", "lines", "mode"],
    }
    proposed = {
        "path": "notes.txt",
        "lines": 0,
        "mode": "text",
        "content": "a\nb",
        "colour": "blue",
        "tags": ["x", 2],
    }
    form = SchemaForm(schema, proposed)
    qtbot.addWidget(form)
    form.resize(520, 460)
    form.show()
    kinds = {name: type(form.editor(name)).__name__ for name in form.names}
    assert kinds == {
        "path": "QLineEdit",
        "lines": "QLineEdit",
        "ratio": "QLineEdit",
        "append": "QCheckBox",
        "mode": "QComboBox",
        "content": "QPlainTextEdit",
        "colour": "QLineEdit",
        "tags": "QLineEdit",
    }
    assert form.problems() == {"lines": "At least 1."}
    assert form.shown_problem("lines") == "At least 1."
    qtbot.wait(int(FRAME_S * 1000))
    screenshot(form, "schema-form")
    # Left alone, the optional fields stay out and the unknown ones are kept as they were.
    assert form.values() == proposed
    lines = form.editor("lines")
    assert isinstance(lines, QtWidgets.QLineEdit)
    lines.setText("three")
    assert form.problems() == {"lines": "Enter a whole number, such as 42."}
    lines.setText("3")
    ratio = form.editor("ratio")
    assert isinstance(ratio, QtWidgets.QLineEdit)
    ratio.setText("0.5")
    qtbot.mouseClick(form.editor("append"), QtCore.Qt.MouseButton.LeftButton)
    mode = form.editor("mode")
    assert isinstance(mode, QtWidgets.QComboBox)
    mode.setCurrentText("binary")
    tags = form.editor("tags")
    assert isinstance(tags, QtWidgets.QLineEdit)
    assert tags.text() == '["x", 2]'
    tags.setText('["y"]')
    assert form.is_valid()
    assert form.values() == {
        "path": "notes.txt",
        "lines": 3,
        "ratio": 0.5,
        "append": True,
        "mode": "binary",
        "content": "a\nb",
        "colour": "blue",
        "tags": ["y"],
    }
    path = form.editor("path")
    assert isinstance(path, QtWidgets.QLineEdit)
    path.clear()
    assert form.problems() == {"path": "Required."}


def test_a_score_between_half_steps_can_be_overridden_with_the_nearest_one(
    qtbot: QtBot,
    window: QtWidgets.QWidget,
) -> None:
    request = ScoreReviewRequest(
        "run",
        "solver",
        2,
        State(TASK, ("391",)),
        Action("calculator", {"expression": "17*23"}),
        Observation("391"),
        1.0,
        4.33,
        "Observation 1: 391",
    )
    dialog = ScoreReviewDialog(request, window)
    decisions: list[object] = []
    dialog.decided.connect(decisions.append)
    dialog.show()
    assert (dialog.value, dialog.override_button.isEnabled()) == (4.5, False)
    qtbot.keyClick(dialog.slider, Key.Key_Right)
    qtbot.keyClick(dialog.slider, Key.Key_Left)
    assert (dialog.value, dialog.override_button.text()) == (4.5, "&Override with 4.5")
    qtbot.keyClick(dialog.slider, Key.Key_Return)
    assert decisions == [ScoreDecision(4.5, "")]
    assert dialog.isHidden()


# --- MCP tools: the server and the tool apart, and approvals kept for the team -----------


def mcp_request(tool: Tool, team: str = "Clock team") -> ActionReviewRequest:
    return ActionReviewRequest("r", "solver", 1, Action(tool.name, {"timezone": "UTC"}), tool, team)


def a_tool(name: str, hints: ToolHints | None = None, *, risky: bool = True) -> Tool:
    async def nothing(arguments: Any, context: Any) -> str:
        return ""

    schema = {"type": "object", "properties": {"timezone": {"type": "string"}}}
    return Tool(name, "Tells the time.", schema, nothing, risky=risky, hints=hints)


def test_an_mcp_tool_shows_its_server_its_hints_in_words_and_both_approvals(
    qtbot: QtBot, window: QtWidgets.QWidget, screenshot: Screenshot
) -> None:
    tool = a_tool("time.get_current_time", ToolHints(read_only=True, open_world=False), risky=False)
    dialog = ActionReviewDialog(mcp_request(tool), window)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.origin_label.isVisible()
    assert dialog.origin_label.text() == "Server: <b>time</b> · Tool: <b>get_current_time</b>"
    assert dialog.hints_label.text() == (
        "The server says this tool only reads: it changes nothing. It stays within its own data."
    )
    assert dialog.remember_tool_box.isVisible() and dialog.remember_server_box.isVisible()
    assert dialog.remember_server_box.text() == (
        "Always allow this &server (time: all its tools) for team “Clock team”"
    )
    dialog.resize(DIALOG_WIDTH, dialog.sizeHint().height())
    screenshot(dialog, "review-mcp-tool")
    dialog.remember_server_box.setChecked(True)
    dialog.remember_tool_box.setChecked(True)
    with qtbot.waitSignal(dialog.decided) as decided:
        qtbot.keyClick(dialog, Key.Key_Return)
    assert decided.args == [ActionDecision("approve", always_allow=True, remember="server")]


def test_a_wider_approval_ticks_and_locks_the_narrower_ones_it_covers(
    qtbot: QtBot, window: QtWidgets.QWidget, screenshot: Screenshot
) -> None:
    dialog = ActionReviewDialog(mcp_request(a_tool("time.get_current_time")), window)
    qtbot.addWidget(dialog)
    dialog.show()
    run, tool, server = (
        dialog.always_allow_box,
        dialog.remember_tool_box,
        dialog.remember_server_box,
    )

    def state() -> list[tuple[bool, bool]]:
        return [(box.isChecked(), box.isEnabled()) for box in (run, tool, server)]

    run.setChecked(True)  # the person's own choice, kept under the wider ones
    server.setChecked(True)
    assert state() == [(True, False), (True, False), (True, True)]
    dialog.resize(DIALOG_WIDTH, dialog.sizeHint().height())
    screenshot(dialog, "review-server-approval-covers-the-tool")
    server.setChecked(False)
    assert state() == [(True, True), (False, True), (False, True)]
    tool.setChecked(True)
    assert state() == [(True, False), (True, True), (False, True)]
    run_was_unticked = ActionReviewDialog(mcp_request(a_tool("time.get_current_time")), window)
    qtbot.addWidget(run_was_unticked)
    run_was_unticked.remember_tool_box.setChecked(True)
    run_was_unticked.remember_tool_box.setChecked(False)
    assert not run_was_unticked.always_allow_box.isChecked()
    assert run_was_unticked.always_allow_box.isEnabled()


@pytest.mark.parametrize(
    ("hints", "said"),
    [
        (
            None,
            "The server does not say whether this tool changes anything, so it counts as risky.",
        ),
        (
            ToolHints(destructive=True, open_world=True),
            "The server says this tool may change or delete things, so it counts as risky. "
            "It reaches beyond this computer (the internet, other services).",
        ),
        (
            ToolHints(read_only=False, destructive=False),
            "The server says this tool may add things but deletes or overwrites nothing.",
        ),
    ],
)
def test_the_hints_are_said_in_words(hints: ToolHints | None, said: str) -> None:
    assert hints_text(a_tool("srv.do", hints)) == said


def test_a_built_in_tool_offers_only_the_tool_and_an_edit_keeps_the_tool(
    qtbot: QtBot, window: QtWidgets.QWidget
) -> None:
    tool = a_tool("calculator")
    dialog = ActionReviewDialog(mcp_request(tool, team="A & B"), window)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.origin_label.isVisible() and not dialog.hints_label.isVisible()
    assert dialog.remember_tool_box.isVisible()
    assert dialog.remember_tool_box.text() == "Always allow this &tool for team “A && B”"
    assert dialog.remember_server_box.isHidden()
    dialog.remember_tool_box.setChecked(True)
    field = dialog.form.editor("timezone")
    assert isinstance(field, QtWidgets.QLineEdit)
    qtbot.keyClicks(field, "Europe/Paris")
    with qtbot.waitSignal(dialog.decided) as decided:
        dialog.approve_edited()
    (decision,) = decided.args
    assert (decision.verdict, decision.always_allow, decision.remember) == ("edit", True, "tool")


def test_without_a_team_nothing_is_offered_to_keep(qtbot: QtBot, window: QtWidgets.QWidget) -> None:
    dialog = ActionReviewDialog(mcp_request(a_tool("time.now"), team=""), window)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.remember_tool_box.isHidden() and dialog.remember_server_box.isHidden()
    dialog.always_allow_box.setChecked(True)
    with qtbot.waitSignal(dialog.decided) as decided:
        dialog.approve()
    assert decided.args == [ActionDecision("approve", always_allow=True)]


@pytest.mark.process
def test_allowing_a_server_in_the_dialog_is_kept_and_the_next_run_does_not_ask(
    desk: Desk, run_in_qt_loop: RunInLoop, tmp_path: Path, screenshot: Screenshot
) -> None:
    """A real run on the project's test MCP server: its unannotated ``wait`` is asked about
    under "risky"; the person allows the whole server for the team, and neither the rest of
    the run nor the next run asks again."""
    qtbot = desk.qtbot
    desk.home.mcp_config_file.parent.mkdir(parents=True, exist_ok=True)
    desk.home.mcp_config_file.write_text(
        json.dumps({"mcpServers": {"test": server_command()}}), encoding="utf-8"
    )
    permissions = ToolPermissionsService(StoreService(lambda: desk.store))
    tools = ToolSource(
        lambda: McpServers(load_mcp_config(desk.home.mcp_config_file), desk.home.logs_dir)
    )
    team = one_agent_team(desk.home.teams_dir, tools="[test.wait, test.echo]", review="risky")

    def run(*actions: str) -> asyncio.Task[RunOutcome]:
        runner = TeamRunner(
            ScriptedProvider({"m": team_model(list(actions), score=5)}),
            desk.store.memory,
            workspaces_dir=desk.home.workspaces_dir,
            journal=desk.journal,
            tools=tools,
            approvals=permissions,
        )
        return start(runner, team, desk.gate, desk.seen)

    async def scenario() -> tuple[RunOutcome, RunOutcome]:
        try:
            first = run(
                act("test.wait", seconds=0),
                act("test.wait", seconds=0.01),
                act("finish", answer="waited"),
            )
            dialog = await desk.dialog(ActionReviewDialog)
            assert dialog.origin_label.text() == "Server: <b>test</b> · Tool: <b>wait</b>"
            assert dialog.hints_label.text().startswith("The server does not say")
            await picture(screenshot, dialog, "review-mcp-server-allowed")
            qtbot.mouseClick(
                dialog.remember_server_box,
                QtCore.Qt.MouseButton.LeftButton,
                pos=QtCore.QPoint(8, dialog.remember_server_box.height() // 2),
            )
            qtbot.keyClick(dialog, Key.Key_Return)
            first_outcome = await first
            second = await run(act("test.wait", seconds=0), act("finish", answer="again"))
            return first_outcome, second
        finally:
            await tools.aclose()

    first, second = run_in_qt_loop(asyncio.wait_for(scenario(), 90))
    assert (first.status, second.status) == ("completed", "completed"), (first, second)
    assert [(r.tool, r.by) for r in desk.events(ev.ActionReviewed)] == [
        ("test.wait", "person"),
        ("test.wait", "policy"),
        ("finish", "policy"),
        ("test.wait", "policy"),
        ("finish", "policy"),
    ]
    kept = asyncio.run(permissions.list_for(team.spec.name))
    assert [(a.kind, a.name) for a in kept] == [("server", "test")]
