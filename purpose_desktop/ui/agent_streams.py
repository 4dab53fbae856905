"""The live token stream: one view per agent, stacked, the one at work highlighted; and every
agent interleaved in one view, in the order they spoke. Each view keeps a bounded history."""

from __future__ import annotations

import html

from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, set_by_name

# A view keeps a bounded history so a long run cannot grow memory without limit: lines, and
# characters for output without line breaks.
MAX_STREAM_BLOCKS = 5000
MAX_STREAM_CHARS = 500_000
# Qt lays out a whole paragraph again on every insert, so a model that never emits a line
# break would make each token slower than the last; such output is broken into display lines.
MAX_LINE_CHARS = 2000
#: How often a hidden view catches up with the tokens it missed.
HIDDEN_VIEW_MS = 400
#: How often a streaming view's scroll bar is redrawn.
SCROLL_BAR_MS = 250

_STREAM_STYLE = "#agentStream { border: 1px solid palette(mid); border-radius: 3px; }"
#: What the header of the agent at work says.
AT_WORK = "● at work"


class StreamView(QtWidgets.QPlainTextEdit):
    """Read-only text that tokens are appended to; only the newest MAX_STREAM_BLOCKS lines and
    MAX_STREAM_CHARS characters are kept."""

    def __init__(self, placeholder: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_STREAM_BLOCKS)
        self.setPlaceholderText(placeholder)
        bar = self.verticalScrollBar()
        # The scroll bar changes with every frame of tokens, and drawing it costs more than
        # drawing the new text: while tokens stream, it is redrawn a few times a second.
        self._bar_redraw = QtCore.QTimer(self)
        self._bar_redraw.setSingleShot(True)
        self._bar_redraw.setInterval(SCROLL_BAR_MS)
        self._bar_redraw.timeout.connect(lambda: bar.setUpdatesEnabled(True))
        self._bar_opaque = False

    def _pace_scroll_bar(self) -> None:
        bar = self.verticalScrollBar()
        if not self._bar_opaque:
            # Drawn opaque (it paints all of its area), it repaints alone rather than with the
            # panes behind it. Set on first use: the first touch of ``QtCore.Qt`` costs about
            # 40 ms, which the window's start-up should not pay.
            bar.setAutoFillBackground(True)
            bar.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
            self._bar_opaque = True
        if bar.updatesEnabled():
            bar.setUpdatesEnabled(False)  # until the timer: enabling it again redraws it
            self._bar_redraw.start()

    def append_text(self, text: str) -> None:
        """Add ``text`` at the end and keep the end in sight."""
        self._pace_scroll_bar()
        cursor = self.textCursor()
        cursor.movePosition(QtGui.QTextCursor.MoveOperation.End)
        _insert_broken(cursor, text)
        excess = self.document().characterCount() - MAX_STREAM_CHARS
        if excess > 0:
            cursor.setPosition(0)
            cursor.setPosition(excess, QtGui.QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            cursor.movePosition(QtGui.QTextCursor.MoveOperation.End)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def start_section(self, title: str) -> None:
        """Begin a new section headed ``title``, set apart from what came before."""
        self.append_text(_section_heading(title, not self.document().isEmpty()))


def _section_heading(title: str, after_text: bool) -> str:
    """The text that starts a section headed ``title``, set apart from any text before."""
    return f"\n\n{title}\n" if after_text else f"{title}\n"


def _insert_broken(cursor: QtGui.QTextCursor, text: str) -> None:
    """Insert ``text`` at ``cursor`` with a line break wherever a line would pass
    MAX_LINE_CHARS."""
    lines = text.split("\n")
    if (cursor.positionInBlock() + len(lines[0]) <= MAX_LINE_CHARS
            and all(len(line) <= MAX_LINE_CHARS for line in lines[1:])):
        cursor.insertText(text)  # at once: Qt makes each line a block of its own
        return
    for index, line in enumerate(lines):
        if index:
            cursor.insertText("\n")
        rest, room = line, MAX_LINE_CHARS - cursor.positionInBlock()
        while len(rest) > room:
            cursor.insertText(rest[:room] + "\n")
            rest, room = rest[room:], MAX_LINE_CHARS
        cursor.insertText(rest)


class AgentStream(QtWidgets.QFrame):
    """One agent's stream under a header with its name; highlighted while the agent works."""

    def __init__(self, agent: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.agent = agent
        self.setObjectName("agentStream")
        self.setStyleSheet(_STREAM_STYLE)
        # The header's text never changes, and the "at work" mark keeps one fixed size:
        # a label whose size may change asks every layout up to the window to be done
        # again, and the window then repaints whole, each time another agent takes over.
        self.header = QtWidgets.QLabel(f"<b>{html.escape(agent)}</b>")
        self.header.setObjectName("agentStreamHeader")
        self.at_work = QtWidgets.QLabel()
        self.at_work.setFixedSize(
            self.at_work.fontMetrics().horizontalAdvance(AT_WORK) + 12,
            self.header.sizeHint().height())
        self.view = StreamView(f"{agent}'s tokens appear here as they are generated.")
        self.view.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        # Highlighted through palette roles, not style-sheet properties: re-polishing a
        # style sheet costs a repaint of far more than the header.
        bar = QtWidgets.QWidget()
        bar.setAutoFillBackground(True)
        bar_layout = QtWidgets.QHBoxLayout(bar)
        bar_layout.setContentsMargins(4, 2, 4, 2)
        bar_layout.addWidget(self.header, 1)
        bar_layout.addWidget(self.at_work)
        self._bar = bar
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(self.view, 1)
        self.active = False
        self._show_state()

    def set_active(self, active: bool) -> None:
        if active == self.active:
            return
        self.active = active
        self._show_state()

    def _show_state(self) -> None:
        self.at_work.setText(AT_WORK if self.active else "")
        roles = QtGui.QPalette.ColorRole
        self._bar.setBackgroundRole(roles.Highlight if self.active else roles.Window)
        for label in (self.header, self.at_work):
            label.setForegroundRole(roles.HighlightedText if self.active else roles.WindowText)


class AgentStreams(QtWidgets.QWidget):
    """Tokens by agent ("By agent": a view each, stacked in the order they first spoke) and all
    together ("Interleaved": each agent's turn headed ``[name]``)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.streams: dict[str, AgentStream] = {}
        self.active_agent: str | None = None
        self._last_speaker: str | None = None
        self._stack = QtWidgets.QSplitter()
        set_by_name(self._stack, "orientation", "Vertical")
        self._stack.setChildrenCollapsible(False)
        self._placeholder = QtWidgets.QLabel(
            "Each agent's tokens appear here, in a view of its own, as they are generated.")
        self._placeholder.setWordWrap(True)
        set_by_name(self._placeholder, "alignment", "AlignCenter")
        self._stack.addWidget(self._placeholder)
        self.interleaved = StreamView("The agents' tokens appear here as they are generated.")
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._stack, "By agent")
        self.tabs.addTab(self.interleaved, "Interleaved")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self._unshown: list[tuple[str, bool]] = []  # (text, is a heading) for the interleaved
        self._interleave_timer = QtCore.QTimer(self)
        self._interleave_timer.setSingleShot(True)
        self._interleave_timer.setInterval(HIDDEN_VIEW_MS)
        self._interleave_timer.timeout.connect(self._show_interleaved)
        self.tabs.currentChanged.connect(lambda _: self._show_interleaved())

    def stream(self, agent: str) -> AgentStream:
        """The view of ``agent``, made the first time it is asked for."""
        found = self.streams.get(agent)
        if found is None:
            self._placeholder.hide()
            found = self.streams[agent] = AgentStream(agent)
            self._stack.addWidget(found)
        return found

    def append(self, agent: str, text: str) -> None:
        """``agent`` produced ``text``: it shows in its view and, headed, in the interleaved one.

        The highlight follows steps (:meth:`start_step`), not tokens: with several agents
        streaming, moving it on every frame would lay out and repaint the whole window each
        time (``purpose-desktop bench ui``)."""
        self.stream(agent).view.append_text(text)
        if agent != self._last_speaker:
            self._last_speaker = agent
            self._unshown.append((f"[{agent}]", True))
        self._unshown.append((text, False))
        if self.tabs.currentWidget() is self.interleaved:
            self._show_interleaved()
        elif not self._interleave_timer.isActive():
            self._interleave_timer.start()

    def _show_interleaved(self) -> None:
        """Write what waits into the interleaved view. While it is hidden, that happens a few
        times a second rather than on every frame: inserting costs a layout of its text."""
        self._interleave_timer.stop()
        pieces, self._unshown = self._unshown, []
        # Inserted at once: each insert costs about as much as a long one.
        written = not self.interleaved.document().isEmpty()
        parts: list[str] = []
        for text, heading in pieces:
            parts.append(_section_heading(text, written or bool(parts)) if heading else text)
        if parts:
            self.interleaved.append_text("".join(parts))

    def start_step(self, agent: str, step: int) -> None:
        """Set ``agent``'s next tokens apart as those of ``step``."""
        self.set_active(agent)
        self.stream(agent).view.start_section(f"── step {step} ──")

    def set_active(self, agent: str | None) -> None:
        """Highlight ``agent``'s view as the one at work (``None``: nobody is)."""
        if agent == self.active_agent:
            return
        if self.active_agent in self.streams:
            self.streams[self.active_agent].set_active(False)
        self.active_agent = agent
        if agent is not None:
            self.stream(agent).set_active(True)

    def clear(self) -> None:
        """Forget every agent's stream (a new run is shown)."""
        for stream in self.streams.values():
            stream.setParent(None)  # out of the stack now; deleted once Qt is done with it
            stream.deleteLater()
        self.streams.clear()
        self.active_agent = self._last_speaker = None
        self._unshown.clear()
        self._interleave_timer.stop()
        self.interleaved.clear()
        self._placeholder.show()
