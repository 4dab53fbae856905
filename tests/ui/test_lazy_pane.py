"""A tab's pane made the first time it is shown, and drawn in that first frame."""

from __future__ import annotations

from purpose_desktop.ui.lazy_pane import LazyPane
from purpose_desktop.ui.qt import QtWidgets
from pytestqt.qtbot import QtBot


def test_a_pane_is_made_when_its_tab_is_first_shown_and_is_drawn_at_once(qtbot: QtBot) -> None:
    made: list[QtWidgets.QLabel] = []

    def make() -> QtWidgets.QLabel:
        made.append(QtWidgets.QLabel("the pane"))
        return made[-1]

    tabs = QtWidgets.QTabWidget()
    lazy = LazyPane(make)
    tabs.addTab(QtWidgets.QLabel("first"), "First")
    tabs.addTab(lazy, "Lazy")
    qtbot.addWidget(tabs)
    tabs.resize(300, 200)
    tabs.show()
    assert made == [] and not lazy.is_made  # hidden: not made

    tabs.setCurrentWidget(lazy)
    assert len(made) == 1 and lazy.is_made
    assert made[0].isVisible()  # no wait for the event loop: the first frame shows it
    assert made[0].geometry() == lazy.rect()  # and shows it filling its place
    assert lazy.pane() is made[0] and len(made) == 1


def test_a_pane_asked_for_while_hidden_shows_with_its_tab(qtbot: QtBot) -> None:
    tabs = QtWidgets.QTabWidget()
    lazy = LazyPane(lambda: QtWidgets.QLabel("the pane"))
    tabs.addTab(QtWidgets.QLabel("first"), "First")
    tabs.addTab(lazy, "Lazy")
    qtbot.addWidget(tabs)
    tabs.show()
    pane = lazy.pane()  # asked for by code, its tab not shown
    assert not pane.isVisible()
    tabs.setCurrentWidget(lazy)
    assert pane.isVisible()
