"""Light and dark themes that follow the system's colour scheme.

Both themes use Qt's Fusion style, which draws every widget from the palette, so one palette
decides every colour and the look is the same on every platform. The palettes are set role by
role rather than taken from the platform: a platform's dark palette (where it has one) is
often hard to read in places, such as links and disabled text. Every pair a person reads (text
on its background, a selected row, a tooltip, a link, a placeholder) has a contrast ratio of
at least 4.5 (WCAG AA), disabled text at least 3. The app's own frames draw with ``palette()``
references in their style sheets (``#interruptedRunsNotice``: ``alternate-base`` and ``mid``),
so they follow the theme too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets

Scheme = Literal["light", "dark"]


@dataclass(frozen=True)
class Theme:
    """A palette as colours by role name (``QPalette.ColorRole``), for every state of a
    widget, and the colours that differ when a widget is disabled."""

    scheme: Scheme
    colors: Mapping[str, str]
    disabled: Mapping[str, str]


LIGHT = Theme(
    "light",
    colors={
        "Window": "#efefef",
        "WindowText": "#1b1b1b",
        "Base": "#ffffff",
        "AlternateBase": "#f4f4f4",
        "Text": "#1b1b1b",
        "Button": "#e8e8e8",
        "ButtonText": "#1b1b1b",
        "BrightText": "#b00020",
        "Light": "#ffffff",
        "Midlight": "#e3e3e3",
        "Mid": "#b4b4b4",
        "Dark": "#9c9c9c",
        "Shadow": "#6f6f6f",
        # Fusion's own highlight (#308cc6) puts white text at 3.7:1; this one gives 5.2:1.
        "Highlight": "#2f6bc4",
        "HighlightedText": "#ffffff",
        "Accent": "#2f6bc4",
        "Link": "#0b57d0",
        "LinkVisited": "#6a3ab2",
        "ToolTipBase": "#ffffe1",
        "ToolTipText": "#1b1b1b",
        "PlaceholderText": "#6b6b6b",
    },
    disabled={
        "WindowText": "#7d7d7d",
        "Text": "#7d7d7d",
        "ButtonText": "#7d7d7d",
        "PlaceholderText": "#9a9a9a",
        "Highlight": "#c4c4c4",
        "HighlightedText": "#4d4d4d",
        "Base": "#f4f4f4",
        "Button": "#e8e8e8",
    },
)

DARK = Theme(
    "dark",
    colors={
        "Window": "#323232",
        "WindowText": "#e8e8e8",
        "Base": "#1e1e1e",
        "AlternateBase": "#2a2a2a",
        "Text": "#e8e8e8",
        "Button": "#3a3a3a",
        "ButtonText": "#e8e8e8",
        "BrightText": "#ff7b7b",
        # Fusion draws bevels and frames from these; on a dark window they must stay distinct
        # from it, above all Mid, the border of the app's notices and stream views.
        "Light": "#5c5c5c",
        "Midlight": "#474747",
        "Mid": "#5e5e5e",
        "Dark": "#1a1a1a",
        "Shadow": "#0c0c0c",
        "Highlight": "#2f6bc4",
        "HighlightedText": "#ffffff",
        "Accent": "#2f6bc4",
        # Blue links as dark as the light theme's are unreadable on a dark base.
        "Link": "#7ab8ff",
        "LinkVisited": "#c6a4ff",
        "ToolTipBase": "#454545",
        "ToolTipText": "#f2f2f2",
        "PlaceholderText": "#9a9a9a",
    },
    disabled={
        "WindowText": "#8c8c8c",
        "Text": "#8c8c8c",
        "ButtonText": "#8c8c8c",
        "PlaceholderText": "#6e6e6e",
        "Highlight": "#4a4a4a",
        "HighlightedText": "#b4b4b4",
        "Base": "#262626",
        "Button": "#333333",
        "Link": "#5d7ea3",
    },
)

THEMES: Mapping[Scheme, Theme] = {"light": LIGHT, "dark": DARK}

#: Colours that carry a meaning (an error, a warning...), readable at 4.5:1 on the window and
#: on the base of their theme. A colour chosen for a white background is unreadable on a dark
#: one: dark red and purple fall below 3:1 there.
MEANING_COLOURS: Mapping[Scheme, Mapping[str, str]] = {
    "light": {
        "error": "#c62828",
        "warning": "#8f5400",
        "success": "#2b7530",
        "info": "#1565c0",
        "special": "#6a1b9a",
        "hint": "#5f6368",
    },
    "dark": {
        "error": "#ff8a80",
        "warning": "#ffb74d",
        "success": "#81c784",
        "info": "#82b1ff",
        "special": "#d6a2e8",
        "hint": "#a9adb2",
    },
}


def palette(theme: Theme) -> QtGui.QPalette:
    """The theme as a QPalette."""
    roles, groups = QtGui.QPalette.ColorRole, QtGui.QPalette.ColorGroup
    result = QtGui.QPalette()
    for role, color in theme.colors.items():
        result.setColor(roles[role], QtGui.QColor(color))  # active, inactive and disabled
    for role, color in theme.disabled.items():
        result.setColor(groups.Disabled, roles[role], QtGui.QColor(color))
    return result


def scheme_of(colors: QtGui.QPalette) -> Scheme:
    """Whether ``colors`` is a dark or a light palette (by its window colour)."""
    return "dark" if colors.color(QtGui.QPalette.ColorRole.Window).lightness() < 128 else "light"


def meaning_colour(meaning: str, colors: QtGui.QPalette | None = None) -> QtGui.QColor:
    """The colour for ``meaning`` (a key of :data:`MEANING_COLOURS`: ``"error"``,
    ``"warning"``...) that reads well on ``colors``, the application's palette by default."""
    shown = QtGui.QGuiApplication.palette() if colors is None else colors
    return QtGui.QColor(MEANING_COLOURS[scheme_of(shown)][meaning])


def system_scheme(app: QtGui.QGuiApplication) -> Scheme:
    """The system's colour scheme; light when the platform does not say (offscreen, older
    desktops)."""
    return _scheme_of(app.styleHints().colorScheme())


def _scheme_of(scheme: QtCore.Qt.ColorScheme) -> Scheme:
    # By name: comparing with ``QtCore.Qt.ColorScheme.Dark`` would make PySide6 build every
    # ``QtCore.Qt`` enum, a noticeable part of start-up.
    return "dark" if scheme.name == "Dark" else "light"


def apply_theme(app: QtWidgets.QApplication, scheme: Scheme | None = None) -> Scheme:
    """Draw the whole application in the Fusion style with the light or dark palette:
    ``scheme``, or the system's when it is ``None``. Returns the scheme applied."""
    chosen = system_scheme(app) if scheme is None else scheme
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")  # before the palette: a new style brings its own palette
    app.setPalette(palette(THEMES[chosen]))
    _restyle(app)
    return chosen


def _restyle(app: QtWidgets.QApplication) -> None:
    """Style sheets resolve ``palette()`` references when a widget is polished, so a frame
    styled with them would keep the old theme's colours; setting its sheet again repolishes
    it (Qt skips that for an unchanged application-wide sheet, hence each widget's own).
    Widgets not polished yet (at start-up, all of them) take the new palette when they are."""
    for widget in app.allWidgets():
        sheet = widget.styleSheet()
        # The attribute is looked up only for a styled widget: the first use of ``QtCore.Qt``
        # costs PySide6 about 40 ms, which start-up (no widgets yet) should not pay.
        if sheet and widget.testAttribute(QtCore.Qt.WidgetAttribute.WA_WState_Polished):
            widget.setStyleSheet(sheet)


def show_first_theme(app: QtWidgets.QApplication) -> Scheme:
    """Apply the theme matching the platform's own palette, which Qt has already read; call
    it before the main window is built, so the window first appears in the right theme, then
    :func:`follow_system_theme` once the window is on screen.

    Asking for the system's colour scheme itself costs about 40 ms the first time (PySide6
    builds every ``QtCore.Qt`` enum to return it), which the window need not wait for: the
    platform's palette agrees with the scheme on the common desktops.
    """
    return apply_theme(app, scheme_of(app.palette()))


def follow_system_theme(app: QtWidgets.QApplication) -> Callable[[], None]:
    """Apply the system's theme now (unless it is the one shown) and again whenever the
    system's scheme changes; returns a function that stops following it."""
    wanted = system_scheme(app)
    if wanted != scheme_of(app.palette()):
        apply_theme(app, wanted)
    hints = app.styleHints()
    connection = hints.colorSchemeChanged.connect(
        lambda scheme: apply_theme(app, _scheme_of(scheme))
    )

    def stop() -> None:
        QtCore.QObject.disconnect(connection)

    return stop


def contrast_ratio(first: QtGui.QColor, second: QtGui.QColor) -> float:
    """The WCAG contrast ratio of two colours, from 1 (none) to 21 (black on white)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(color: QtGui.QColor) -> float:
    """Relative luminance as WCAG defines it, from the colour's sRGB channels."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * linear(color.redF())
        + 0.7152 * linear(color.greenF())
        + 0.0722 * linear(color.blueF())
    )
