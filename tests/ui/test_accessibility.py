"""Every control of every pane and dialog is named for a screen reader, the focus moves in
reading order, and the text size follows the system and can be raised in the app.

The window is built as the application builds it, over a fresh home folder; each pane is
shown (which makes the lazy ones) and each dialog opened without blocking, then every control
is read through Qt's accessibility interface, as a screen reader gets it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.app import AppParts, build_app_parts
from purpose_desktop.config import Paths, load_settings
from purpose_desktop.engine.review import ActionReviewRequest, ScoreReviewRequest
from purpose_desktop.engine.tools.base import Tool, ToolHints
from purpose_desktop.engine.trajectory import Action, Observation, State
from purpose_desktop.errors import UserError
from purpose_desktop.services.runs import RunsService
from purpose_desktop.ui.accessibility import without_mnemonic
from purpose_desktop.ui.application import build_main_window
from purpose_desktop.ui.error_dialog import ErrorReporter, error_box
from purpose_desktop.ui.main_window import MainWindow
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets
from purpose_desktop.ui.review.dialogs import ActionReviewDialog, ScoreReviewDialog
from purpose_desktop.ui.theme import ACTUAL_TEXT_SIZE, TEXT_SIZES, apply_text_size, text_size_step
from pytestqt.qtbot import QtBot
from tests.support.waiting import wait_until

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]
Screenshot = Callable[[Any, str], Path]
W = QtWidgets
Name = QtGui.QAccessible.Text.Name
Description = QtGui.QAccessible.Text.Description

#: What a person operates: each of these must have a name.
CONTROLS = (
    W.QAbstractButton,
    W.QLineEdit,
    W.QTextEdit,
    W.QPlainTextEdit,
    W.QComboBox,
    W.QAbstractSpinBox,
    W.QAbstractSlider,
    W.QAbstractItemView,
    W.QTabBar,
)
#: Controls whose name alone does not say what they hold or take, so a description must:
#: fields, lists and tables, sliders, editable text, and the app's own widgets that take the
#: focus (the team editor's scrolling agent form). Buttons, boxes to tick and tabs say it with
#: their text; read-only text with its name.
DESCRIBED = (
    W.QLineEdit,
    W.QComboBox,
    W.QAbstractSpinBox,
    W.QAbstractSlider,
    W.QAbstractItemView,
)
#: Widgets that are parts of another control, announced through it (a combo box's list, a
#: spin box's field, a scroll area's scroll bars, a table's headers and corner button).
COMPOUND = (W.QComboBox, W.QAbstractSpinBox, W.QTabBar, W.QLineEdit, W.QScrollBar, W.QHeaderView)
QT_PARTS = ("QTableCornerButton", "QToolBarExtension", "QLineEditIconButton")


def is_part(widget: QtWidgets.QWidget, root: QtWidgets.QWidget) -> bool:
    """Whether ``widget`` is a piece of a control rather than a control."""
    if isinstance(widget, (W.QScrollBar, W.QHeaderView)):
        return True
    if widget.metaObject().className() in QT_PARTS or widget.objectName().startswith("qt_"):
        return True  # Qt's own parts of its widgets (a menu bar's overflow button, say)
    parent = widget.parentWidget()
    while parent is not None and parent is not root:
        if isinstance(parent, COMPOUND):
            return True
        parent = parent.parentWidget()
    return False


def is_own_focusable(widget: QtWidgets.QWidget) -> bool:
    """One of the app's own widgets that takes the keyboard's focus (a chart, say)."""
    return (
        type(widget).__module__.startswith("purpose_desktop")
        and not widget.isWindow()
        and widget.focusPolicy() != QtCore.Qt.FocusPolicy.NoFocus
    )


def controls(root: QtWidgets.QWidget) -> list[QtWidgets.QWidget]:
    """Every control under ``root``, shown or not (a hidden one shows later, named as it
    is now), with the parts of compound controls left out."""
    return [
        widget
        for widget in root.findChildren(QtWidgets.QWidget)
        if (isinstance(widget, CONTROLS) or is_own_focusable(widget)) and not is_part(widget, root)
    ]


def spoken(widget: QtWidgets.QWidget, text: QtGui.QAccessible.Text) -> str:
    """What a screen reader gets for ``widget``: its name or its description."""
    interface = QtGui.QAccessible.queryAccessibleInterface(widget)
    assert interface is not None, widget
    return interface.text(text).strip()


def needs_description(widget: QtWidgets.QWidget) -> bool:
    if isinstance(widget, (W.QTextEdit, W.QPlainTextEdit)):
        return not widget.isReadOnly()
    return isinstance(widget, DESCRIBED) or is_own_focusable(widget)


def where(widget: QtWidgets.QWidget) -> str:
    """The widget as a person debugging this test finds it: its window, its nearest named
    ancestors, its class, and what it shows."""
    chain = []
    parent = widget.parentWidget()
    while parent is not None and len(chain) < 3:
        if parent.objectName() or type(parent).__module__.startswith("purpose_desktop"):
            chain.append(parent.objectName() or type(parent).__name__)
        parent = parent.parentWidget()
    hints = [
        value
        for value in (
            getattr(widget, "placeholderText", lambda: "")(),
            getattr(widget, "text", lambda: "")() if isinstance(widget, W.QAbstractButton) else "",
            widget.toolTip(),
            widget.objectName(),
        )
        if isinstance(value, str) and value
    ]
    title = widget.window().windowTitle() or type(widget.window()).__name__
    inside = " > ".join(reversed(chain))
    return f"[{title}] {inside} > {type(widget).__name__} {hints[:1]}"


def unnamed(root: QtWidgets.QWidget) -> list[str]:
    """Each control under ``root`` without a name, or without a description it needs."""
    found = []
    for widget in controls(root):
        if not spoken(widget, Name):
            found.append(f"no name: {where(widget)}")
        elif needs_description(widget) and not spoken(widget, Description):
            found.append(f"no description: {where(widget)} ({spoken(widget, Name)!r})")
    return found


# --- the window as the application builds it --------------------------------------------------


@pytest.fixture
def parts(home: Paths) -> AppParts:
    return build_app_parts(home)


def make_window(parts: AppParts) -> MainWindow:
    """The main window wired as ``run_application`` wires it, shown."""
    window = build_main_window(
        paths=parts.paths,
        settings=load_settings(parts.paths),  # as a start reads them
        runner=lambda: parts.runner,
        reporter=ErrorReporter(None, parts.paths.log_file),
        services=parts.services,
        run_history=RunsService(parts.services.store),
        models=lambda: parts.models,
    )
    window.resize(1200, 800)
    window.show()
    return window


def close(window: MainWindow, run_in_qt_loop: RunInLoop) -> None:
    window.close_anyway()

    async def shut_down() -> None:
        await window.stop_background_work()
        window.deleteLater()

    run_in_qt_loop(shut_down())


@pytest.fixture
def window(parts: AppParts, run_in_qt_loop: RunInLoop) -> Iterator[MainWindow]:
    main = make_window(parts)
    yield main
    if not main.has_closed:  # a test may have closed it, as a person quitting does
        close(main, run_in_qt_loop)
    run_in_qt_loop(parts.aclose())
    apply_text_size(ACTUAL_TEXT_SIZE)  # the next test starts at the system's size


async def open_team(window: MainWindow) -> None:
    """Open the sample team, as a start does, and wait until the Team pane has listed the
    tools it can offer (work the test's loop must see finished)."""
    await window.open_initial_team()
    tools = window.team_pane.editor.form.tools
    await wait_until(tools.status.isHidden, 30)


def visit_every_pane(window: MainWindow, run_in_qt_loop: RunInLoop) -> None:
    """Open the sample team and show each pane, waiting until each has filled in."""

    async def visit() -> None:
        await open_team(window)
        for index in range(window.tabs.count()):
            window.tabs.setCurrentIndex(index)  # a lazy pane is made as it is first shown
        await wait_until(lambda: window.memory_pane.browser is not None)
        await wait_until(lambda: window.costs_pane.report is not None, 30)
        await wait_until(lambda: window.tools_pane.overview is not None, 60)
        window.tools_pane.select_tool(window.tools_pane.overview.tools[0].name)  # type: ignore[union-attr]
        window.tabs.setCurrentWidget(window.team_pane)

    run_in_qt_loop(visit())


def a_tool(name: str, hints: ToolHints | None = None) -> Tool:
    async def nothing(arguments: Any, context: Any) -> str:
        return ""

    schema = {
        "type": "object",
        "properties": {
            "timezone": {"type": "string", "description": "where"},
            "days": {"type": "integer", "minimum": 0},
            "exact": {"type": "boolean"},
            "unit": {"type": "string", "enum": ["s", "ms"]},
            "ratio": {"type": "number"},
            "code": {"type": "string", "maxLength": 20000},  # edited in a box of lines
        },
    }
    return Tool(name, "Tells the time.", schema, nothing, hints=hints)


def score_request() -> ScoreReviewRequest:
    return ScoreReviewRequest(
        "run",
        "solver",
        2,
        State("What is 17 * 23?", ("391",)),
        Action("calculator", {"expression": "17*23"}),
        Observation("391"),
        1.0,
        8.0,
        "Observation 1: 391",
    )


async def open_every_dialog(window: MainWindow) -> list[QtWidgets.QWidget]:
    """Open each of the app's dialogs over ``window`` without blocking, as the app does
    where it can be asked to; returns them. On the loop: dialogs start work on it."""
    opened: list[QtWidgets.QWidget] = []
    about = next(
        action
        for action in window.findChildren(QtGui.QAction)
        if action.text().replace("&", "").startswith("About")
    )
    about.trigger()
    opened.append(window.findChildren(QtWidgets.QMessageBox)[-1])
    for error in (UserError("That team file cannot be read."), RuntimeError("a bug")):
        box = error_box(window, error, window._paths.log_file)
        box.show()
        opened.append(box)
    opened.append(window.costs_pane.edit_prices())
    opened.append(window.open_settings())
    window.models_controller.open_server_dialog()
    opened.append(window.models_controller._dialog)  # type: ignore[arg-type]
    opened.append(window.models_controller.open_find_dialog())
    form = window.benchmark_pane.controller.open_form(window.benchmark_pane)
    assert form is not None
    opened.append(form)
    memory = window.memory_pane.controller
    assert memory is not None

    await wait_until(lambda: memory.browser.team is not None)
    memory.inject()
    await wait_until(lambda: bool(window.findChildren(QtWidgets.QDialog, "heuristicForm")))
    opened.append(window.findChildren(QtWidgets.QDialog, "heuristicForm")[0])
    tools = window.tools_pane.overview
    assert tools is not None
    opened.append(window.tools_controller.open_call(tools.tools[0].name))
    mcp = a_tool("time.get_current_time", ToolHints(read_only=False, destructive=True))
    for request in (
        ActionReviewRequest("r", "solver", 1, Action(mcp.name, {"timezone": "UTC"}), mcp, "T"),
        ActionReviewRequest("r", "solver", 2, Action("finish", {"answer": "391"}), None, "T"),
    ):
        opened.append(ActionReviewDialog(request, window))
    opened.append(ScoreReviewDialog(score_request(), window))
    for dialog in opened:
        dialog.show()
    return opened


# --- names and descriptions ------------------------------------------------------------------


def test_every_control_of_every_pane_and_dialog_is_named_and_described(
    window: MainWindow, run_in_qt_loop: RunInLoop
) -> None:
    visit_every_pane(window, run_in_qt_loop)
    dialogs = run_in_qt_loop(open_every_dialog(window))
    walked = controls(window)
    # Each pane and dialog was walked, with what a person operates in it.
    for pane in (
        window.team_pane,
        window.run_pane,
        window.memory_pane,
        window.costs_pane,
        window.benchmark_pane,
        window.models_pane,
        window.tools_pane,
        *dialogs,
    ):
        assert any(pane.isAncestorOf(widget) for widget in walked), pane
    assert len(walked) > 150
    problems = unnamed(window)
    assert problems == [], "\n".join(["Controls a screen reader cannot name:", *problems])


def test_a_control_added_without_a_name_is_found(window: MainWindow) -> None:
    field = QtWidgets.QLineEdit(window.run_pane)
    assert unnamed(window) == [f"no name: {where(field)}"]
    field.setAccessibleName("Notes")
    assert unnamed(window) == [f"no description: {where(field)} ('Notes')"]
    field.setToolTip("Notes about the run")  # read as the description
    assert unnamed(window) == []


def test_the_score_slider_announces_its_value(qtbot: QtBot, window: MainWindow) -> None:
    dialog = ScoreReviewDialog(score_request(), window)
    qtbot.addWidget(dialog)
    dialog.show()
    slider = dialog.slider
    assert spoken(slider, Name) == "Your score: Φ 8 of 10"
    assert "The critic gave 8" in spoken(slider, Description)
    qtbot.keyClick(slider, QtCore.Qt.Key.Key_Left)
    assert spoken(slider, Name) == "Your score: Φ 7.5 of 10"
    assert spoken(slider, Description).startswith("The critic gave 8; yours is -0.5.")
    # The value a screen reader reads from the slider itself counts half points: the name
    # is what says the score.
    interface = QtGui.QAccessible.queryAccessibleInterface(slider)
    assert interface is not None and interface.valueInterface().currentValue() == 15
    assert dialog.windowTitle() in spoken(dialog, Name)


# --- focus order -----------------------------------------------------------------------------


def tab_order(start: QtWidgets.QWidget, run_in_qt_loop: RunInLoop) -> list[QtWidgets.QWidget]:
    """The widgets Tab visits from ``start`` until it comes back round."""
    window = start.window()

    async def activate() -> None:  # on the loop: the events waited for run the app's work
        window.activateWindow()
        await wait_until(window.isActiveWindow, 10)

    run_in_qt_loop(activate())
    start.setFocus(QtCore.Qt.FocusReason.TabFocusReason)
    visited = [start]
    for _ in range(300):
        window.focusNextChild()
        now = QtWidgets.QApplication.focusWidget()
        if now is None or now is start:
            break
        visited.append(now)
    return visited


def in_order(visited: list[QtWidgets.QWidget], expected: list[QtWidgets.QWidget]) -> list[int]:
    """Where each of ``expected`` comes in ``visited`` (a widget's focus proxy, or a part of
    it, counts as the widget)."""

    def position(widget: QtWidgets.QWidget) -> int:
        for index, seen in enumerate(visited):
            if seen is widget or widget.isAncestorOf(seen):
                return index
        raise AssertionError(f"Tab never reaches {where(widget)}")

    return [position(widget) for widget in expected]


def test_tab_moves_through_the_run_pane_in_reading_order(
    qtbot: QtBot, window: MainWindow, run_in_qt_loop: RunInLoop
) -> None:

    async def show_run_pane() -> None:  # on the loop: the pane starts work as it is made
        await open_team(window)
        window.tabs.setCurrentWidget(window.run_tab)

    run_in_qt_loop(show_run_pane())
    pane = window.run_pane
    qtbot.keyClicks(pane.task_edit, "Name three primary colours.")  # Run is enabled
    visited = tab_order(pane.change_team_button, run_in_qt_loop)
    order = in_order(
        visited,
        [
            pane.change_team_button,
            pane.task_edit,
            pane.run_button,
            pane.streams,
            pane.details_tabs,
            pane.timeline,
        ],
    )
    assert order == sorted(order)


def test_tab_moves_through_the_review_dialogs_in_reading_order(
    qtbot: QtBot, window: MainWindow, run_in_qt_loop: RunInLoop
) -> None:
    tool = a_tool("time.get_current_time")
    action = ActionReviewDialog(
        ActionReviewRequest("r", "solver", 1, Action(tool.name, {"timezone": "UTC"}), tool, "T"),
        window,
    )
    qtbot.addWidget(action)
    action.show()
    first_field = action.form.findChildren(QtWidgets.QLineEdit)[0]
    order = in_order(
        tab_order(first_field, run_in_qt_loop),
        [
            first_field,
            action.always_allow_box,
            action.remember_tool_box,
            action.remember_server_box,
            action.reason_edit,
            action.reject_button,
            action.approve_button,
        ],
    )
    assert order == sorted(order)
    action.withdraw()
    score = ScoreReviewDialog(score_request(), window)
    qtbot.addWidget(score)
    score.show()
    order = in_order(
        tab_order(score.slider, run_in_qt_loop),
        [score.slider, score.reason_edit, score.keep_button],
    )
    assert order == sorted(order)


# --- text size -------------------------------------------------------------------------------


def pane_fonts(window: MainWindow) -> dict[str, float]:
    """The text size of a control in each pane, in points; some of them under a style sheet
    of their own, which Qt keeps apart from the application's font."""
    samples: dict[str, QtWidgets.QWidget] = {
        "team": window.team_pane.open_button,
        "team editor": window.team_pane.editor.name_edit,
        "run": window.run_pane.task_edit,
        "run's answer": window.run_pane.outcome.answer_view,
        "memory": controls(window.memory_pane)[0],
        "costs": controls(window.costs_pane)[0],
        "benchmarks": controls(window.benchmark_pane)[0],
        "models": window.models_pane.refresh_button,
        "tools": controls(window.tools_pane)[0],
    }
    return {pane: widget.font().pointSizeF() for pane, widget in samples.items()}


def test_larger_text_reaches_every_pane_and_is_kept_for_the_next_start(
    window: MainWindow, parts: AppParts, run_in_qt_loop: RunInLoop, screenshot: Screenshot
) -> None:
    visit_every_pane(window, run_in_qt_loop)
    system = pane_fonts(window)
    assert len(set(system.values())) == 1  # the system's size everywhere
    (base,) = set(system.values())
    role = window.team_pane.editor.form.role_edit  # four lines tall, in lines of its font
    role_height = role.maximumHeight()  # its fixed height
    larger = next(
        action for action in window.findChildren(QtGui.QAction) if action.text() == "&Larger text"
    )
    assert [key.toString() for key in larger.shortcuts()] == ["Ctrl++", "Ctrl+="]

    async def raise_text() -> None:  # on the loop, which saves the settings
        larger.trigger()
        larger.trigger()
        await wait_until(lambda: load_settings(parts.paths).text_size == 125, 10)

    run_in_qt_loop(raise_text())
    assert window.text_size == 125
    assert pane_fonts(window) == dict.fromkeys(system, pytest.approx(base * 1.25))
    assert role.maximumHeight() > role_height * 1.15
    tools_details = window.tools_pane.findChild(QtWidgets.QPlainTextEdit)
    assert tools_details is not None
    fixed = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
    assert tools_details.font().pointSizeF() == pytest.approx(fixed.pointSizeF() * 1.25)
    close(window, run_in_qt_loop)
    apply_text_size(ACTUAL_TEXT_SIZE)
    assert QtGui.QGuiApplication.font().pointSizeF() == pytest.approx(base)

    async def start_again() -> MainWindow:
        # On the loop: the pane it reopens on (the Tools pane, shown last) starts work on it.
        return make_window(parts)

    again = run_in_qt_loop(start_again())  # the next start
    try:
        assert again.text_size == 125
        assert again.team_pane.open_button.font().pointSizeF() == pytest.approx(base * 1.25)

        async def largest_then_actual() -> None:  # on the loop, which saves each size
            while again.text_size < TEXT_SIZES[-1]:
                again.change_text_size(1)
            again.change_text_size(1)  # held at the largest
            assert again.text_size == TEXT_SIZES[-1]
            await wait_until(lambda: load_settings(parts.paths).text_size == TEXT_SIZES[-1], 10)

        run_in_qt_loop(largest_then_actual())
        visit_every_pane(again, run_in_qt_loop)

        async def pictures_then_actual() -> None:  # a pane shown reads what it shows
            for index in range(again.tabs.count()):
                again.tabs.setCurrentIndex(index)
                await asyncio.sleep(0.3)
                name = again.tabs.tabText(index).replace("&", "").lower()
                screenshot(again, f"text-size-{TEXT_SIZES[-1]}-{name}")
            score = ScoreReviewDialog(score_request(), again)
            score.show()
            score.resize(score.sizeHint())  # as a desktop shows it (offscreen does not)
            await asyncio.sleep(0.3)  # laid out as the loop gets to it
            screenshot(score, f"text-size-{TEXT_SIZES[-1]}-score-review")
            score.withdraw()
            again.change_text_size(0)
            await wait_until(lambda: load_settings(parts.paths).text_size == 100, 10)

        run_in_qt_loop(pictures_then_actual())
        assert again.team_pane.open_button.font().pointSizeF() == pytest.approx(base)
    finally:
        close(again, run_in_qt_loop)


def test_text_sizes_step_along_those_offered_and_a_bad_setting_is_the_systems(
    home: Paths,
) -> None:
    assert [text_size_step(100, steps) for steps in (1, 2, -1, -2, -9, 99)] == [
        110,
        125,
        90,
        80,
        80,
        200,
    ]
    assert text_size_step(115, 1) == 125  # a size set by hand joins the steps
    assert text_size_step(115, -1) == 110
    home.settings_file.write_text('{"text_size": 1000}', encoding="utf-8")
    problems: list[str] = []
    assert load_settings(home, problems).text_size == ACTUAL_TEXT_SIZE
    assert problems and problems[0].startswith("Settings: text_size = 1000 is not used")


def test_a_label_names_its_field_as_read_out() -> None:
    assert without_mnemonic("Team &name") == "Team name"
    assert without_mnemonic("R&&D &team") == "R&D team"
