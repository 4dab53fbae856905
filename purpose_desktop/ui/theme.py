"""Light and dark themes that follow the system's colour scheme.

Both themes use Qt's Fusion style, which draws every widget from the palette, so one palette
decides every colour and the look is the same on every platform. The palettes are set role by
role rather than taken from the platform: a platform's dark palette (where it has one) is
often hard to read in places, such as links and disabled text. Every pair a person reads (text
on its background, a selected row, a tooltip, a link, a placeholder) has a contrast ratio of
at least 4.5 (WCAG AA), disabled text at least 3. The app's own frames draw with ``palette()``
references in their style sheets (``#interruptedRunsNotice``: ``alternate-base`` and ``mid``),
so they follow the theme too.

The text follows the system's font and size, scaled by the text size the person chose (View →
Larger text): :func:`apply_text_size`. Fonts of single widgets are relative to it
(:func:`set_font`), and sizes measured from a font are measured again when it changes
(:func:`follow_font`).
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


# --- text size --------------------------------------------------------------------------------

#: The text sizes View → Larger text and Smaller text step through, in percent of the
#: system's text size.
TEXT_SIZES: tuple[int, ...] = (80, 90, 100, 110, 125, 150, 175, 200)
ACTUAL_TEXT_SIZE = 100
_SYSTEM_FONT = "purposeDesktopSystemFont"  # the application property keeping it
_RELATIVE_FONT = "purposeDesktopRelativeFont"  # a widget's property: how set_font set it


def system_font() -> QtGui.QFont:
    """The font the system gave the application, before any text size was applied."""
    app = QtCore.QCoreApplication.instance()
    assert app is not None, "a QApplication is needed first"
    kept = app.property(_SYSTEM_FONT)
    if isinstance(kept, QtGui.QFont):
        return QtGui.QFont(kept)
    font = QtGui.QGuiApplication.font()  # not scaled yet: this is the first look at it
    app.setProperty(_SYSTEM_FONT, font)
    return QtGui.QFont(font)


def apply_text_size(percent: int) -> int:
    """Show every text of the application at ``percent`` of the system's size: its font is
    the system's, scaled. Style sheets and fonts set on single widgets are relative to it,
    so the whole window follows. At 100 % the application's font is the system's own.
    Returns the size applied."""
    base = system_font()
    font = QtGui.QFont(base)
    if percent != ACTUAL_TEXT_SIZE and base.pointSizeF() > 0:
        font.setPointSizeF(base.pointSizeF() * percent / 100)
    elif percent != ACTUAL_TEXT_SIZE:  # a platform that sizes its font in pixels
        font.setPixelSize(max(1, round(base.pixelSize() * percent / 100)))
    if font != QtGui.QGuiApplication.font():  # untouched, it goes on following the system
        QtWidgets.QApplication.setFont(font)  # QGuiApplication's would leave widgets as they are
        # Qt posts the change to the widgets; delivered now, so the fonts below start from it.
        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.ApplicationFontChange)
        for widget in QtWidgets.QApplication.allWidgets():
            relative = widget.property(_RELATIVE_FONT)
            if isinstance(relative, str):
                # A font set on a widget keeps its size when the application's changes; those
                # set with set_font are made again at the new size.
                widget.setFont(_relative_font(*_parse_relative(relative)))
            elif sheet := widget.styleSheet():
                # Qt passes a new font on to a widget with a style sheet of its own (and its
                # children) only when the sheet is set again.
                widget.setStyleSheet(sheet)
        for widget in QtWidgets.QApplication.allWidgets():
            if isinstance(widget, QtWidgets.QTableView) and widget.model() is not None:
                # Columns sized to their contents when filled keep the old text's widths.
                widget.resizeColumnsToContents()
    return percent


def text_size_step(percent: int, steps: int) -> int:
    """The text size ``steps`` places along :data:`TEXT_SIZES` from ``percent`` (larger when
    positive), held at the smallest and the largest."""
    larger = [size for size in TEXT_SIZES if size > percent]
    smaller = [size for size in TEXT_SIZES if size < percent]
    if steps > 0:
        return larger[min(steps, len(larger)) - 1] if larger else percent
    if steps < 0:
        return smaller[max(steps, -len(smaller))] if smaller else percent
    return percent


def set_font(
    widget: QtWidgets.QWidget, *, scale: float = 1.0, bold: bool = False, fixed: bool = False
) -> QtGui.QFont:
    """Give ``widget`` a font relative to the application's text size, and keep it so when
    the text size changes: ``scale`` times as large, ``bold``, or (``fixed``) the system's
    fixed-width font. Returns the font, to measure text with."""
    widget.setProperty(_RELATIVE_FONT, f"{scale}:{int(bold)}:{int(fixed)}")
    font = _relative_font(scale, bold, fixed)
    widget.setFont(font)
    return font


def _parse_relative(text: str) -> tuple[float, bool, bool]:
    scale, bold, fixed = text.split(":")
    return float(scale), bold == "1", fixed == "1"


def _relative_font(scale: float, bold: bool, fixed: bool) -> QtGui.QFont:
    font = fixed_font() if fixed else QtGui.QGuiApplication.font()
    if scale != 1.0 and font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * scale)
    elif scale != 1.0:
        font.setPixelSize(max(1, round(font.pixelSize() * scale)))
    font.setBold(bold or font.bold())
    return font


def fixed_font() -> QtGui.QFont:
    """The system's fixed-width font (code, JSON), at the application's text size: the
    system gives it its own size, which a larger text size would otherwise leave behind."""
    font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
    base, shown = system_font(), QtGui.QGuiApplication.font()
    if base.pointSizeF() > 0 and shown.pointSizeF() > 0 and font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * shown.pointSizeF() / base.pointSizeF())
    return font


class _FontFollower(QtCore.QObject):
    """Calls ``fit`` each time the font of the widget it watches changes."""

    def __init__(self, widget: QtWidgets.QWidget, fit: Callable[[], None]) -> None:
        super().__init__(widget)
        self._fit = fit
        widget.installEventFilter(self)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.FontChange:
            self._fit()
        return False


def follow_font(widget: QtWidgets.QWidget, fit: Callable[[], None]) -> None:
    """Call ``fit`` now, and again whenever ``widget``'s font changes (the text size was
    changed): for sizes measured from the font, such as a box a few lines tall."""
    fit()
    _FontFollower(widget, fit)
