"""Light and dark themes: readable colours, the app's own frames follow, the system leads."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.engine.recording.run_records import RunSummary
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets
from purpose_desktop.ui.run.interrupted_runs import InterruptedRunsNotice
from purpose_desktop.ui.theme import (
    ACTUAL_TEXT_SIZE,
    DARK,
    LIGHT,
    MEANING_COLOURS,
    THEMES,
    Scheme,
    Theme,
    apply_text_size,
    apply_theme,
    contrast_ratio,
    follow_system_theme,
    meaning_colour,
    palette,
    scheme_of,
    show_first_theme,
)
from purpose_desktop.ui.widgets.builders import read_only_table
from pytestqt.qtbot import QtBot

Role = QtGui.QPalette.ColorRole
Group = QtGui.QPalette.ColorGroup

# Text a person reads, on the background it is drawn on.
READ_PAIRS = [
    (Role.Text, Role.Base),
    (Role.WindowText, Role.Window),
    (Role.ButtonText, Role.Button),
    (Role.HighlightedText, Role.Highlight),
    (Role.ToolTipText, Role.ToolTipBase),
    (Role.Link, Role.Base),
    (Role.LinkVisited, Role.Base),
    (Role.PlaceholderText, Role.Base),
    (Role.Text, Role.AlternateBase),
    (Role.WindowText, Role.AlternateBase),
]
DISABLED_PAIRS = [
    (Role.WindowText, Role.Window),
    (Role.Text, Role.Base),
    (Role.ButtonText, Role.Button),
]


@pytest.fixture
def app(qapp: QtWidgets.QApplication) -> Iterator[QtWidgets.QApplication]:
    """The test's application; its style, palette and style sheet are put back afterwards,
    so other tests see the application as they expect."""
    style, palette, sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    yield qapp
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)


def contrast(
    palette: QtGui.QPalette,
    group: QtGui.QPalette.ColorGroup,
    pair: tuple[QtGui.QPalette.ColorRole, QtGui.QPalette.ColorRole],
) -> float:
    return contrast_ratio(palette.color(group, pair[0]), palette.color(group, pair[1]))


def test_contrast_ratio_follows_wcag() -> None:
    black, white = QtGui.QColor("#000000"), QtGui.QColor("#ffffff")
    assert contrast_ratio(black, white) == pytest.approx(21.0)
    assert contrast_ratio(white, black) == pytest.approx(21.0)
    assert contrast_ratio(white, white) == pytest.approx(1.0)
    assert contrast_ratio(QtGui.QColor("#777777"), white) == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_every_colour_role_is_chosen(theme: Theme) -> None:
    roles = {role.name for role in Role} - {"NoRole", "NColorRoles"}
    assert set(theme.colors) == roles


def test_dark_theme_is_dark_and_readable(app: QtWidgets.QApplication) -> None:
    assert apply_theme(app, "dark") == "dark"
    palette = app.palette()
    assert app.style().name().lower() == "fusion"
    assert palette.color(Role.Window).lightness() < 64
    assert palette.color(Role.Base).lightness() < 64
    assert palette.color(Role.WindowText).lightness() > 200
    assert palette.color(Role.Text).lightness() > 200
    assert_readable(palette)


def test_light_theme_is_light_and_readable(app: QtWidgets.QApplication) -> None:
    assert apply_theme(app, "light") == "light"
    palette = app.palette()
    assert palette.color(Role.Window).lightness() > 200
    assert palette.color(Role.WindowText).lightness() < 64
    assert_readable(palette)


def assert_readable(palette: QtGui.QPalette) -> None:
    for group in (Group.Active, Group.Inactive):
        for pair in READ_PAIRS:
            assert contrast(palette, group, pair) >= 4.5, (group, pair)
    for pair in DISABLED_PAIRS:
        assert contrast(palette, Group.Disabled, pair) >= 3.0, pair
    # Frames drawn with palette(mid), such as the app's notices, must stand out.
    assert contrast(palette, Group.Active, (Role.Mid, Role.Window)) >= 1.5


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_colours_with_a_meaning_are_readable_in_their_theme(scheme: Scheme) -> None:
    colors = palette(THEMES[scheme])
    assert set(MEANING_COLOURS[scheme]) == set(MEANING_COLOURS["light"])
    for meaning in MEANING_COLOURS[scheme]:
        colour = meaning_colour(meaning, colors)
        for background in (Role.Base, Role.Window, Role.AlternateBase):
            assert contrast_ratio(colour, colors.color(background)) >= 4.5, (meaning, background)


def test_colours_with_a_meaning_follow_the_applied_theme(app: QtWidgets.QApplication) -> None:
    apply_theme(app, "dark")
    assert meaning_colour("error") == QtGui.QColor(MEANING_COLOURS["dark"]["error"])
    apply_theme(app, "light")
    assert meaning_colour("error") == QtGui.QColor(MEANING_COLOURS["light"]["error"])


def test_without_a_scheme_the_systems_is_applied(app: QtWidgets.QApplication) -> None:
    dark = app.styleHints().colorScheme() == QtCore.Qt.ColorScheme.Dark
    assert apply_theme(app) == ("dark" if dark else "light")
    if app.platformName() == "offscreen":
        # The offscreen platform knows no scheme (Unknown), which means light.
        assert app.palette().color(Role.Window).lightness() > 200


@pytest.mark.parametrize("platform_scheme", ["light", "dark"])
def test_the_first_theme_is_the_platform_palettes_until_the_system_says_otherwise(
    app: QtWidgets.QApplication, platform_scheme: Scheme
) -> None:
    # The platform's palette stands in for the system's scheme until the window is shown.
    app.setPalette(palette(THEMES[platform_scheme]))
    assert show_first_theme(app) == platform_scheme
    assert scheme_of(app.palette()) == platform_scheme
    stop = follow_system_theme(app)
    try:
        system = (
            "dark" if app.styleHints().colorScheme() == QtCore.Qt.ColorScheme.Dark else ("light")
        )
        assert scheme_of(app.palette()) == system
    finally:
        stop()


def test_the_theme_follows_a_change_of_the_system_scheme(app: QtWidgets.QApplication) -> None:
    # The signal is emitted here as the platform emits it when the desktop's scheme changes;
    # offscreen, nothing else can change it.
    hints = app.styleHints()
    stop = follow_system_theme(app)
    try:
        hints.colorSchemeChanged.emit(QtCore.Qt.ColorScheme.Dark)
        assert app.palette().color(Role.Window) == QtGui.QColor(DARK.colors["Window"])
        hints.colorSchemeChanged.emit(QtCore.Qt.ColorScheme.Light)
        assert app.palette().color(Role.Window) == QtGui.QColor(LIGHT.colors["Window"])
    finally:
        stop()
    hints.colorSchemeChanged.emit(QtCore.Qt.ColorScheme.Dark)
    assert app.palette().color(Role.Window) == QtGui.QColor(LIGHT.colors["Window"])


def interrupted_run() -> RunSummary:
    return RunSummary(
        id="0123456789abcdef",
        team="Writers",
        task="Write a story about a lighthouse.",
        status="interrupted",
        agent="writer",
        answer="",
        error=None,
        steps=2,
        phi=3.0,
        prompt_tokens=120,
        completion_tokens=80,
        seconds=12.0,
        cost=0.0,
        events=40,
        started_at=time.time() - 3600,
        finished_at=None,
        parent_run_id=None,
        forked_from_step=None,
    )


def test_the_interrupted_runs_notice_takes_the_new_theme_at_once(
    app: QtWidgets.QApplication, qtbot: QtBot
) -> None:
    apply_theme(app, "light")
    notice = InterruptedRunsNotice()
    qtbot.addWidget(notice)
    notice.show_runs([interrupted_run()])
    notice.resize(600, notice.sizeHint().height())
    for scheme in ("dark", "light"):
        apply_theme(app, scheme)
        inside = notice.grab().toImage().pixelColor(6, notice.height() // 2)
        assert inside == app.palette().color(Role.AlternateBase), scheme


def sample(scheme: Scheme) -> QtWidgets.QWidget:
    """A window with one of each thing whose colours matter."""
    window = QtWidgets.QWidget()
    window.setWindowTitle(f"{scheme} theme")
    layout = QtWidgets.QVBoxLayout(window)
    notice = InterruptedRunsNotice()
    notice.show_runs([interrupted_run()])
    layout.addWidget(notice)
    layout.addWidget(QtWidgets.QLabel('Plain text, and <a href="https://example.org">a link</a>'))
    disabled = QtWidgets.QLabel("Disabled text")
    disabled.setEnabled(False)
    layout.addWidget(disabled)
    tip = QtWidgets.QLabel("Tooltip colours")
    tip.setAutoFillBackground(True)
    tip.setBackgroundRole(Role.ToolTipBase)
    tip.setForegroundRole(Role.ToolTipText)
    layout.addWidget(tip)
    edit = QtWidgets.QLineEdit()
    edit.setPlaceholderText("A placeholder")
    layout.addWidget(edit)
    buttons = QtWidgets.QHBoxLayout()
    buttons.addWidget(QtWidgets.QPushButton("Enabled"))
    off = QtWidgets.QPushButton("Disabled")
    off.setEnabled(False)
    buttons.addWidget(off)
    buttons.addWidget(QtWidgets.QCheckBox("A choice"))
    layout.addLayout(buttons)
    table = read_only_table(["Agent", "Model"])
    for row, values in enumerate(
        [("writer", "bundled:smollm2-135m"), ("critic", "bundled:gemma3-270m"), ("router", "auto")]
    ):
        table.insertRow(row)
        for column, value in enumerate(values):
            table.setItem(row, column, QtWidgets.QTableWidgetItem(value))
    table.selectRow(1)
    layout.addWidget(table)
    window.resize(640, 460)
    return window


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshot_of_each_theme(
    app: QtWidgets.QApplication,
    qtbot: QtBot,
    scheme: Scheme,
    screenshot: Callable[[Any, str], Path],
) -> None:
    apply_theme(app, scheme)
    window = sample(scheme)
    qtbot.addWidget(window)
    # The notice replaces its contents with deleteLater(), which the app's running loop
    # carries out at once; here nothing has run the loop yet.
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    window.show()
    qtbot.waitExposed(window)
    picture = screenshot(window, f"theme-{scheme}")
    assert picture.stat().st_size > 0


def test_columns_sized_to_their_text_follow_a_larger_text_size(qtbot: QtBot) -> None:
    table = QtWidgets.QTableWidget(1, 2)
    qtbot.addWidget(table)
    table.setItem(0, 0, QtWidgets.QTableWidgetItem("2026-12-07 00:41 completed"))
    table.setItem(0, 1, QtWidgets.QTableWidgetItem("Helper"))
    table.resizeColumnsToContents()
    before = table.columnWidth(0)
    try:
        apply_text_size(150)
        assert table.columnWidth(0) > before * 1.3  # the text is still read whole
    finally:
        apply_text_size(ACTUAL_TEXT_SIZE)
    assert table.columnWidth(0) == before
