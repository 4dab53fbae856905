"""What a person does in the window, for the journeys: clicks tabs and buttons, types, drops
files, answers dialogs; and waits, as a person does, for what they expect to see."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from purpose_desktop.ui.main_window import MainWindow
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets
from pytestqt.qtbot import QtBot

Left = QtCore.Qt.MouseButton.LeftButton
W = TypeVar("W", bound=QtWidgets.QWidget)
#: Long enough for a few steps of the bundled model on a busy two-core machine; a deadline
#: for a journey that has gone wrong, not a measure of how fast it goes.
MODEL_WAIT = 240.0


async def wait_for(condition: Callable[[], bool], what: str, within: float = 60.0) -> None:
    """Wait until ``condition`` holds; fail, saying ``what`` was awaited, after ``within``
    seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"waited in vain for {what}")
        await asyncio.sleep(0.05)


def click(qtbot: QtBot, button: QtWidgets.QAbstractButton) -> None:
    """Click ``button``, which must be on screen and enabled."""
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, Left)


def open_tab(qtbot: QtBot, tabs: QtWidgets.QTabWidget, page: QtWidgets.QWidget) -> None:
    """Click the tab of ``page``."""
    bar = tabs.tabBar()
    qtbot.mouseClick(bar, Left, pos=bar.tabRect(tabs.indexOf(page)).center())
    assert tabs.currentWidget() is page


def type_into(
    qtbot: QtBot,
    field: QtWidgets.QLineEdit | QtWidgets.QPlainTextEdit | QtWidgets.QAbstractSpinBox,
    text: str,
) -> None:
    """Select what ``field`` holds and type ``text`` over it."""
    field.setFocus()
    field.selectAll()
    qtbot.keyClick(field, QtCore.Qt.Key.Key_Delete)
    qtbot.keyClicks(field, text)


async def run_task(qtbot: QtBot, window: MainWindow, task: str) -> None:
    """Type ``task`` in the Run pane and press Run; wait until the run has started."""
    open_tab(qtbot, window.tabs, window.run_tab)
    pane = window.run_pane
    type_into(qtbot, pane.task_edit, task)
    click(qtbot, pane.run_button)
    await wait_for(lambda: window.controller.running, "the run to start", 10)


async def run_ended(window: MainWindow, within: float = MODEL_WAIT) -> None:
    """Wait until the run going on has ended: its outcome is shown, and so is the last line
    of its timeline (the timeline adds its lines a few times a second)."""
    pane = window.run_pane

    def ended() -> bool:
        if window.controller.running or not pane.outcome.isVisible():
            return False
        last = f"  Run {pane.outcome.status_text().lower()} after "
        return any(last in line for line in pane.timeline.lines())

    await wait_for(ended, "the run to end with its outcome shown", within)


async def dialog_named(name: str, kind: type[W], within: float = MODEL_WAIT) -> W:
    """The top-level window called ``name`` once it is on screen (a dialog the app opens
    by itself, such as a review)."""
    found: list[W] = []

    def shown() -> bool:
        found[:] = [
            widget
            for widget in QtWidgets.QApplication.topLevelWidgets()
            if widget.objectName() == name and widget.isVisible() and isinstance(widget, kind)
        ]
        return bool(found)

    await wait_for(shown, f"the {name} dialog", within)
    return found[0]


def choose_file(dialog: QtWidgets.QFileDialog | None, path: Path) -> None:
    """Pick ``path`` in an open file dialog and accept it."""
    assert dialog is not None and dialog.isVisible()
    dialog.selectFile(str(path))
    dialog.accept()


def drop_files(window: MainWindow, paths: list[Path]) -> None:
    """Drag ``paths`` from a file manager over the middle of the window and drop them."""
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path)) for path in paths])
    where = window.rect().center()
    enter = QtGui.QDragEnterEvent(
        where,
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    QtWidgets.QApplication.sendEvent(window, enter)
    assert enter.isAccepted(), "the window does not take the files"
    drop = QtGui.QDropEvent(
        QtCore.QPointF(where),
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    QtWidgets.QApplication.sendEvent(window, drop)
    assert drop.isAccepted()


def choose_in(combo: QtWidgets.QComboBox, text: str) -> None:
    """Choose the item of ``combo`` whose text starts with ``text``, as a click would."""
    items = [combo.itemText(i) for i in range(combo.count())]
    matches = [i for i, item in enumerate(items) if item.startswith(text)]
    assert matches, f"{text!r} is not among {items}"
    combo.setCurrentIndex(matches[0])


def timeline_lines(window: MainWindow) -> list[str]:
    return window.run_pane.timeline.lines()
