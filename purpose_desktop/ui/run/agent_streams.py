"""The live token stream: one view per agent, stacked, the one at work highlighted; and every
agent interleaved in one view, in the order they spoke. Each view keeps a bounded history.

Reasoning a model writes apart from its answer shows under a "Thinking…" disclosure of the
agent's own, collapsed until the person opens it: it is worth reading, but it is not what the
agent did, and a reasoning model writes far more of it than of its answers."""

from __future__ import annotations

import collections
import functools
import html
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, set_by_name
from purpose_desktop.ui.theme import meaning_colour

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
# How a QTextDocument stores a line break.
_PARAGRAPH_SEPARATOR = "\u2029"


@dataclass
class _Section:
    """A part of a view: the tokens of one step (``key`` names its agent and step) or of a turn
    with no step, and once the step's action is known, that action as a person reads it."""

    key: tuple[str, int] | None
    heading: str
    raw: list[str] = field(default_factory=list)
    chars: int = 0
    action: tuple[str, str] | None = None  # (the readable line, the thought)


class StreamView(QtWidgets.QPlainTextEdit):
    """Read-only text that tokens are appended to, in sections (:meth:`start_section`); only
    the newest MAX_STREAM_BLOCKS lines and MAX_STREAM_CHARS characters are kept.

    Once a section's action is known (:meth:`show_action`), the section shows it as one
    readable line with the thought under it, in place of the tokens; :meth:`set_show_raw`
    shows every section's tokens again, as they came."""

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
        self.show_raw = False
        self._plain = QtGui.QTextCharFormat()
        # What was shown, so it can be shown again the other way; bounded like the text.
        self._sections: collections.deque[_Section] = collections.deque()
        self._kept_chars = 0
        # Where the newest section's tokens begin in the text. It stays put as text is added
        # after it, and moves with the text when the oldest lines are dropped.
        self._body: QtGui.QTextCursor | None = None

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
        """Add ``text`` (tokens) to the newest section and keep the end in sight."""
        if not self._sections:
            self._open(_Section(None, ""))
        section = self._sections[-1]
        section.raw.append(text)
        section.chars += len(text)
        self._kept_chars += len(text)
        if self._kept_chars > 2 * MAX_STREAM_CHARS:  # now and then: each time costs a join
            self._forget_oldest()
        self._write([(text, False)])

    def start_section(self, title: str, key: tuple[str, int] | None = None) -> None:
        """Begin a new section headed ``title`` (none when empty: it only starts on a line of
        its own), set apart from what came before; ``key`` (agent, step) names the step whose
        action :meth:`show_action` may later show."""
        self._open(_Section(key, title))
        self._write([(_opening(title, self._last_char()), False)])
        self._mark_body()

    def show_action(self, key: tuple[str, int], line: str, thought: str) -> None:
        """The action of step ``key`` is known: unless raw tokens are shown, the newest section,
        if it is that step's, shows ``line`` with ``thought`` under it instead of its tokens."""
        if not self._sections or self._sections[-1].key != key:
            return
        self._sections[-1].action = (line, thought)
        if self.show_raw or self._body is None:
            return
        cursor = QtGui.QTextCursor(self.document())
        cursor.setPosition(self._body.position())
        cursor.movePosition(
            QtGui.QTextCursor.MoveOperation.End, QtGui.QTextCursor.MoveMode.KeepAnchor
        )
        cursor.removeSelectedText()
        self._write(_action_runs(line, thought))

    def set_show_raw(self, raw: bool) -> None:
        """Show every section's tokens as they came (``True``), or each step whose action is
        known as that action (``False``); the text is written again from what was kept."""
        if raw == self.show_raw:
            return
        self.show_raw = raw
        super().clear()
        self._body = None
        runs: list[tuple[str, bool]] = []
        newest: list[tuple[str, bool]] | None = None  # the tokens whose action may still come
        for section in self._sections:
            runs.append((_opening(section.heading, _last_char(runs)), False))
            if section.action is not None and not raw:
                runs += _action_runs(*section.action)
            elif section is self._sections[-1]:
                newest = [("".join(section.raw), False)]
            else:
                runs.append(("".join(section.raw), False))
        self._write(runs)
        if newest is not None:
            self._mark_body()
            self._write(newest)

    def clear(self) -> None:
        """Forget the text and the sections it was made of."""
        super().clear()
        self._sections.clear()
        self._kept_chars = 0
        self._body = None

    def _open(self, section: _Section) -> None:
        self._sections.append(section)
        if len(self._sections) > MAX_STREAM_BLOCKS:
            self._kept_chars -= self._sections.popleft().chars

    def _last_char(self) -> str:
        """The last character of the text (a line break as ``\\n``), or "" if there is none."""
        document = self.document()
        if document.isEmpty():
            return ""
        last = document.characterAt(document.characterCount() - 2)
        return "\n" if last == _PARAGRAPH_SEPARATOR else last

    def _mark_body(self) -> None:
        self._body = QtGui.QTextCursor(self.document())
        self._body.movePosition(QtGui.QTextCursor.MoveOperation.End)
        self._body.setKeepPositionOnInsert(True)

    def _forget_oldest(self) -> None:
        """Keep about MAX_STREAM_CHARS characters of tokens: drop the oldest sections, and the
        start of the newest if it alone holds more."""
        while self._kept_chars > MAX_STREAM_CHARS and len(self._sections) > 1:
            self._kept_chars -= self._sections.popleft().chars
        newest = self._sections[-1]
        if newest.chars > MAX_STREAM_CHARS:
            kept = "".join(newest.raw)[-MAX_STREAM_CHARS:]
            newest.raw, newest.chars = [kept], len(kept)
            self._kept_chars = len(kept)

    def _write(self, runs: list[tuple[str, bool]]) -> None:
        """Add each (text, quiet) run at the end, quiet ones in the hint colour and italic, and
        keep the end in sight."""
        self._pace_scroll_bar()
        cursor = self.textCursor()
        cursor.movePosition(QtGui.QTextCursor.MoveOperation.End)
        for quiet, same in itertools.groupby(runs, key=lambda run: run[1]):
            # Set each time: text added after the quiet thought would take on its look.
            cursor.setCharFormat(self._quiet_format() if quiet else self._plain)
            _insert_broken(cursor, "".join(text for text, _ in same))
        excess = self.document().characterCount() - MAX_STREAM_CHARS
        if excess > 0:
            cursor.setPosition(0)
            cursor.setPosition(excess, QtGui.QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            cursor.movePosition(QtGui.QTextCursor.MoveOperation.End)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def _quiet_format(self) -> QtGui.QTextCharFormat:
        quiet = QtGui.QTextCharFormat()
        quiet.setForeground(meaning_colour("hint", self.palette()))
        quiet.setFontItalic(True)
        return quiet


def _opening(title: str, after: str) -> str:
    """What starts a section headed ``title`` after the text ``after`` (only whether there is
    any, and how it ends, matter): the heading, or only a line break when it has none."""
    if title:
        return _section_heading(title, bool(after))
    return "\n" if after and not after.endswith("\n") else ""


def _last_char(runs: list[tuple[str, bool]]) -> str:
    """The last character of the text in ``runs``, or "" if there is none."""
    return next((text[-1] for text, _ in reversed(runs) if text), "")


def _action_runs(line: str, thought: str) -> list[tuple[str, bool]]:
    """A step's action as (text, quiet) runs: the line, then the thought, quieter, under it
    (named, so it cannot be read as more of the action)."""
    return [(line, False)] + ([(f"\nthought: {thought}", True)] if thought.strip() else [])


def _section_heading(title: str, after_text: bool) -> str:
    """The text that starts a section headed ``title``, set apart from any text before."""
    return f"\n\n{title}\n" if after_text else f"{title}\n"


def _insert_broken(cursor: QtGui.QTextCursor, text: str) -> None:
    """Insert ``text`` at ``cursor`` with a line break wherever a line would pass
    MAX_LINE_CHARS."""
    lines = text.split("\n")
    if cursor.positionInBlock() + len(lines[0]) <= MAX_LINE_CHARS and all(
        len(line) <= MAX_LINE_CHARS for line in lines[1:]
    ):
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


def thinking_label(step: int | None, chars: int, *, done: bool) -> str:
    """What the disclosure of an agent's reasoning says: for the step whose reasoning came
    last, while it streams (``done`` false) or once the step's action is known."""
    where = "" if step is None else f" step {step}"
    if not done:
        return f"Thinking…{where}"
    return f"Thinking{where}: {chars:,} characters"


class ThinkingDisclosure(QtWidgets.QWidget):
    """An agent's reasoning, step by step, under a button that opens and closes it.

    Hidden until the agent's model writes reasoning; then shown closed, saying which step it
    is thinking in. The button takes the keyboard focus (Tab) and opens or closes with Space,
    as any button does; the reasoning itself is a read-only view with a bounded history."""

    def __init__(self, agent: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.agent = agent
        self.toggle = QtWidgets.QToolButton()
        self.toggle.setObjectName("thinkingToggle")
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        set_by_name(self.toggle, "toolButtonStyle", "ToolButtonTextBesideIcon")
        self.toggle.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.toggle.setAccessibleName(f"{agent}'s thinking")
        self.toggle.setToolTip(
            "The reasoning the model wrote before its answer: shown here, kept with the run, "
            "never given to the critic"
        )
        self.view = StreamView(f"{agent}'s reasoning appears here as it is generated.")
        self.view.setObjectName("thinkingView")
        self.view.setAccessibleName(f"{agent}'s reasoning")
        self.view.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        # Set apart from the answer's tokens below: reasoning reads in italics.
        font = self.view.font()
        font.setItalic(True)
        self.view.setFont(font)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.view, 1)
        self.step: int | None = None  # the step the next reasoning belongs to
        self._shown = False  # whether any reasoning was shown
        self._shown_step: int | None = None  # the step whose section the view ends with
        self._chars = 0  # of the reasoning of the view's last section
        self.toggle.toggled.connect(self._opened)
        self._opened(False)
        self.hide()

    @property
    def expanded(self) -> bool:
        """Whether the reasoning is open to read."""
        return self.toggle.isChecked()

    def start_step(self, step: int) -> None:
        """The agent begins ``step``: reasoning from now on belongs to it."""
        self.step = step

    def append(self, text: str) -> None:
        """The agent's model wrote ``text`` of reasoning in the current step."""
        if not self._shown or self._shown_step != self.step:
            self._shown, self._shown_step = True, self.step
            self._chars = 0
            self.view.start_section("" if self.step is None else f"── step {self.step} ──")
            self.toggle.setText(thinking_label(self.step, 0, done=False))
            self.show()
        self._chars += len(text)
        self.view.append_text(text)

    def finish_step(self, step: int) -> None:
        """``step``'s action is known, so its reasoning is complete."""
        if self._shown and self._shown_step == step:
            self.toggle.setText(thinking_label(step, self._chars, done=True))

    def _opened(self, expanded: bool) -> None:
        self.toggle.setArrowType(
            QtCore.Qt.ArrowType.DownArrow if expanded else QtCore.Qt.ArrowType.RightArrow
        )
        self.view.setVisible(expanded)
        self.toggle.setAccessibleDescription(
            "expanded: press Space to hide the reasoning"
            if expanded
            else "collapsed: press Space to show the reasoning"
        )


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
            self.header.sizeHint().height(),
        )
        self.view = StreamView(f"{agent}'s tokens appear here as they are generated.")
        self.view.setAccessibleName(f"{agent}'s stream")
        self.view.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.thinking = ThinkingDisclosure(agent)
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
        layout.addWidget(self.thinking)
        layout.addWidget(self.view, 2)
        # Opened, the reasoning takes a third of the agent's room; closed, only its button's.
        self.thinking.toggle.toggled.connect(
            lambda expanded: layout.setStretchFactor(self.thinking, 1 if expanded else 0)
        )
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
    together ("Interleaved": each agent's turn headed ``[name]``).

    Each step shows the tokens its model writes; once the step's action is known
    (:meth:`show_action`), it reads as that action in one line, unless "Show raw tokens"
    (:attr:`raw_tokens`) is ticked."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.streams: dict[str, AgentStream] = {}
        self.active_agent: str | None = None
        self._last_speaker: str | None = None
        self._stack = QtWidgets.QSplitter()
        set_by_name(self._stack, "orientation", "Vertical")
        self._stack.setChildrenCollapsible(False)
        self._placeholder = QtWidgets.QLabel(
            "Each agent's tokens appear here, in a view of its own, as they are generated."
        )
        self._placeholder.setWordWrap(True)
        set_by_name(self._placeholder, "alignment", "AlignCenter")
        self._stack.addWidget(self._placeholder)
        self.interleaved = StreamView("The agents' tokens appear here as they are generated.")
        self.interleaved.setAccessibleName("All agents' streams")
        self.raw_tokens = QtWidgets.QCheckBox("Show raw tokens")
        self.raw_tokens.setToolTip(
            "Show each step as its model wrote it, token by token, "
            "rather than as the action read from it"
        )
        self.raw_tokens.toggled.connect(self.set_show_raw)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._stack, "By agent")
        self.tabs.addTab(self.interleaved, "Interleaved")
        self.tabs.setCornerWidget(self.raw_tokens)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        # What waits to be written into the interleaved view: tokens, and the other changes
        # (a section begins, an action is known) as calls to make in order.
        self._unshown: list[str | Callable[[], None]] = []
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
            found.view.set_show_raw(self.raw_tokens.isChecked())
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
            self._unshown.append(functools.partial(self.interleaved.start_section, f"[{agent}]"))
        self._unshown.append(text)
        self._interleave()

    def append_thinking(self, agent: str, text: str) -> None:
        """``agent``'s model wrote ``text`` of reasoning: it goes under the agent's "Thinking…"
        disclosure (shown, closed, from the first reasoning on), never among the tokens."""
        self.stream(agent).thinking.append(text)

    def start_step(self, agent: str, step: int) -> None:
        """Set ``agent``'s next tokens (and reasoning) apart as those of ``step``."""
        self.set_active(agent)
        stream = self.stream(agent)
        stream.view.start_section(f"── step {step} ──", (agent, step))
        stream.thinking.start_step(step)
        # Interleaved, a step of the agent that spoke last goes on under the same heading.
        heading = "" if agent == self._last_speaker else f"[{agent}]"
        self._last_speaker = agent
        self._unshown.append(
            functools.partial(self.interleaved.start_section, heading, (agent, step))
        )
        self._interleave()

    def show_action(self, agent: str, step: int, line: str, thought: str = "") -> None:
        """``agent``'s ``step`` chose the action that reads ``line`` (with its ``thought``):
        the step shows it in place of its tokens, unless raw tokens are shown. Only the step
        whose tokens came last can be given its action."""
        stream = self.stream(agent)
        stream.view.show_action((agent, step), line, thought)
        stream.thinking.finish_step(step)
        self._unshown.append(
            functools.partial(self.interleaved.show_action, (agent, step), line, thought)
        )
        self._interleave()

    def set_show_raw(self, raw: bool) -> None:
        """Show the tokens as they came (``True``) or each step as its action (``False``), in
        every view; the "Show raw tokens" box follows."""
        self.raw_tokens.setChecked(raw)
        for stream in self.streams.values():
            stream.view.set_show_raw(raw)
        self.interleaved.set_show_raw(raw)

    def _interleave(self) -> None:
        if self.tabs.currentWidget() is self.interleaved:
            self._show_interleaved()
        elif not self._interleave_timer.isActive():
            self._interleave_timer.start()

    def _show_interleaved(self) -> None:
        """Write what waits into the interleaved view. While it is hidden, that happens a few
        times a second rather than on every frame: inserting costs a layout of its text."""
        self._interleave_timer.stop()
        waiting, self._unshown = self._unshown, []
        tokens: list[str] = []
        for item in waiting:
            if isinstance(item, str):
                tokens.append(item)
                continue
            if tokens:  # inserted at once: each insert costs about as much as a long one
                self.interleaved.append_text("".join(tokens))
                tokens.clear()
            item()
        if tokens:
            self.interleaved.append_text("".join(tokens))

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
