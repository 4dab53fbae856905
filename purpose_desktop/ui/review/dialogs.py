"""The dialogs in which a person reviews an agent's action and corrects the critic's score.

Both are non-modal: the run's other agents go on streaming while one waits, and several can
be open at once. Neither blocks in ``exec()``; each reports its one decision through its
:attr:`~ReviewDialog.decided` signal and hides.

Keys: Enter approves (the action as proposed, or as edited once the form was changed; for a
score, the slider's value once it was moved), Esc rejects (the action, with the reason typed
so far; for a score, the override, keeping the critic's value), and the arrow keys move the
score's slider in half steps.

Closing the window is not a decision the person made, so it takes the cautious side: an
action is rejected with the reason :data:`CLOSED_REASON` (nothing runs that nobody approved),
and a score keeps the critic's value (nothing is taught that nobody meant).
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Mapping
from typing import Any, Final

from purpose_desktop.engine.loop.action_schema import TASK_MAX_LENGTH
from purpose_desktop.engine.review import (
    ActionDecision,
    ActionReviewRequest,
    ApprovalKind,
    ScoreDecision,
    ScoreReviewRequest,
    half_steps,
    server_of,
)
from purpose_desktop.engine.tools.base import Tool
from purpose_desktop.engine.trajectory import DELEGATE, FINISH, Action
from purpose_desktop.ui.accessibility import describe
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal
from purpose_desktop.ui.theme import follow_font, set_font
from purpose_desktop.ui.widgets.schema_form import SchemaForm, shown

CLOSED_REASON: Final = "closed without a decision"
"""The reason given to the agent when the person closes an action's dialog."""
DIALOG_WIDTH: Final = 600
SHORT_TEXT_CHARS: Final = 240
"""Longer text (or text of more than :data:`SHORT_TEXT_LINES` lines) is shown in a
scrolling box rather than a label, so a tool's long output cannot stretch the dialog."""
SHORT_TEXT_LINES: Final = 3
BOX_LINES: Final = 6
SLIDER_STEPS_PER_POINT: Final = 2
"""The slider counts half points: 0 to 20 is Φ 0 to 10."""
_RISKY_STYLE: Final = "color: #b45309; font-weight: bold;"


# --- what the dialogs show ---------------------------------------------------------------


def arguments_schema(request: ActionReviewRequest) -> Mapping[str, Any]:
    """The JSON schema of the action's arguments: its tool's, or that of finish or delegate.

    An action naming no known tool gets an empty schema, so its arguments are all shown as
    they are.
    """
    if request.tool is not None:
        return request.tool.parameters
    if request.action.tool == FINISH:
        return {
            "type": "object",
            "required": ["answer"],
            "properties": {
                "answer": {"type": "string", "description": "the final answer to the task"}
            },
        }
    if request.action.tool == DELEGATE:
        return {
            "type": "object",
            "required": ["agent", "task"],
            "properties": {
                "agent": {"type": "string", "description": "the teammate to hand the task to"},
                "task": {
                    "type": "string",
                    "maxLength": TASK_MAX_LENGTH,
                    "description": "what the teammate should do",
                },
            },
        }
    return {"type": "object", "properties": {}}


def _what_it_wants(request: ActionReviewRequest) -> str:
    agent = html.escape(request.agent)
    if request.action.tool == FINISH:
        return f"<b>{agent}</b> wants to finish with this answer"
    if request.action.tool == DELEGATE:
        return f"<b>{agent}</b> wants to hand a task to a teammate"
    tool = html.escape(request.action.tool)
    return f"<b>{agent}</b> wants to call <b>{tool}</b>"


def hints_text(tool: Tool) -> str:
    """What an MCP server says about its tool, in words (its annotations), and so whether
    it is asked about under the "risky" policy."""
    hints = tool.hints
    if hints is None or (hints.read_only is None and hints.destructive is None):
        said = "The server does not say whether this tool changes anything, so it counts as risky."
    elif hints.read_only:
        said = "The server says this tool only reads: it changes nothing."
    elif hints.destructive:
        said = "The server says this tool may change or delete things, so it counts as risky."
    elif hints.destructive is False:
        said = "The server says this tool may add things but deletes or overwrites nothing."
    else:
        said = "The server says this tool changes things, so it counts as risky."
    if hints is not None and hints.open_world is not None:
        said += (
            " It reaches beyond this computer (the internet, other services)."
            if hints.open_world
            else " It stays within its own data."
        )
    return said


def score_text(phi: float) -> str:
    """Φ as shown: at most two decimals, no trailing zeros (``6``, ``6.5``, ``6.33``)."""
    return f"{round(phi, 2):g}"


def _plain(rich: str) -> str:
    """What a screen reader should say for the rich text ``rich``."""
    return QtGui.QTextDocumentFragment.fromHtml(rich).toPlainText()


def _arguments_text(action: Action) -> str:
    """One ``name: value`` line per argument; a value of several lines (code) goes under its
    name, indented, so it keeps its own layout."""
    lines = []
    for name, value in action.arguments.items():
        text = shown(value)
        lines.append(
            f"{name}:\n{textwrap.indent(text, '    ')}" if "\n" in text else f"{name}: {text}"
        )
    return "\n".join(lines)


# --- small widgets -------------------------------------------------------------------------


def _heading(html: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(html)
    label.setWordWrap(True)
    set_font(label, scale=1.15)
    return label


def _note(text: str) -> QtWidgets.QLabel:
    """Secondary text, in the palette's quieter colour."""
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    label.setForegroundRole(QtGui.QPalette.ColorRole.PlaceholderText)
    return label


def _reading(text: str, *, fixed: bool = False) -> QtWidgets.QWidget:
    """Text to read and copy: a label when short, a scrolling box when long. ``fixed`` uses
    a fixed-width font (code, arguments)."""
    if len(text) <= SHORT_TEXT_CHARS and text.count("\n") < SHORT_TEXT_LINES:
        label = QtWidgets.QLabel(text)
        label.setWordWrap(True)
        label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        if fixed:
            set_font(label, fixed=True)
        return label
    box = QtWidgets.QPlainTextEdit(text)
    box.setReadOnly(True)
    box.setTabChangesFocus(True)
    if fixed:
        set_font(box, fixed=True)
    lines = max(min(BOX_LINES, text.count("\n") + 1), SHORT_TEXT_LINES)
    follow_font(box, lambda: box.setFixedHeight(box.fontMetrics().lineSpacing() * lines + 12))
    return box


def _button(tip: str, text: str, *other_texts: str) -> QtWidgets.QPushButton:
    """A button showing ``text``, wide enough for each of ``other_texts`` it will show later,
    so the buttons beside it do not move when its text changes."""
    button = QtWidgets.QPushButton()
    width = 0
    for shown_text in (*other_texts, text):
        button.setText(shown_text)
        width = max(width, button.sizeHint().width())
    button.setMinimumWidth(width)
    button.setToolTip(tip)
    return button


def _info_rows(rows: list[tuple[str, QtWidgets.QWidget]]) -> QtWidgets.QFormLayout:
    layout = QtWidgets.QFormLayout()
    layout.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    for caption, widget in rows:
        layout.addRow(f"{caption}:", widget)
    return layout


def _button_row(hint: str, *buttons: QtWidgets.QPushButton) -> QtWidgets.QHBoxLayout:
    row = QtWidgets.QHBoxLayout()
    row.addWidget(_note(hint), 1)
    for button in buttons:
        row.addWidget(button)
    return row


# --- what both dialogs share ---------------------------------------------------------------


class ReviewDialog(QtWidgets.QDialog):
    """A non-modal dialog that reports exactly one decision and then hides.

    Subclasses say what Enter, Esc and closing the window decide.
    """

    decided = Signal(object)
    """The decision (an :class:`ActionDecision` or a :class:`ScoreDecision`), once."""

    def __init__(self, title: str, parent: QtWidgets.QWidget | None) -> None:
        super().__init__(parent)
        self.setModal(False)
        self.setWindowTitle(title)
        self.setMinimumWidth(DIALOG_WIDTH)
        self._decided = False

    @property
    def is_decided(self) -> bool:
        """Whether the decision was made (or the dialog withdrawn)."""
        return self._decided

    def withdraw(self) -> None:
        """Hide without deciding: nobody waits for the answer any more (the run ended)."""
        self._decided = True
        self.hide()

    def _decide(self, decision: ActionDecision | ScoreDecision) -> None:
        if self._decided:
            return
        self._decided = True
        self.decided.emit(decision)
        super().accept()

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        # QDialog would turn Enter into its default button and Esc into reject(), which is
        # also what the window's close button calls; the review keys are handled here.
        key = QtCore.Qt.Key(event.key())
        if key in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter):
            self._enter()
        elif key == QtCore.Qt.Key.Key_Escape:
            self._escape()
        elif not self._other_key(key):
            super().keyPressEvent(event)
            return
        event.accept()

    def reject(self) -> None:
        """The window's close button (Esc is handled in :meth:`keyPressEvent`)."""
        if self._decided:
            self.hide()
        else:
            self._decide(self._when_closed())

    def _enter(self) -> None:
        raise NotImplementedError

    def _escape(self) -> None:
        raise NotImplementedError

    def _when_closed(self) -> ActionDecision | ScoreDecision:
        raise NotImplementedError

    def _other_key(self, key: QtCore.Qt.Key) -> bool:
        """Handle another key that reached the dialog; ``True`` if it was used."""
        return False


# --- the action -----------------------------------------------------------------------------


class ActionReviewDialog(ReviewDialog):
    """An agent's proposed action: approve it, approve it edited, or reject it with a reason.

    The arguments are a :class:`SchemaForm` built from the tool's schema. Once the form is
    changed, Enter (and "Edit & approve") runs the edited call; "Approve as proposed" still
    runs the agent's own. "Always allow" applies with either approval: for the rest of the
    run, or kept for the team (the tool, or every tool of its MCP server). An MCP tool's
    server and name are shown apart, with what the server says about it.
    """

    def __init__(
        self, request: ActionReviewRequest, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(f"Review step {request.step} — {request.agent}", parent)
        self.setObjectName("actionReviewDialog")
        self.request = request
        # Announced with the title when the dialog comes up.
        self.setAccessibleDescription(
            f"{_plain(_what_it_wants(request))}. Enter approves, Escape rejects."
        )
        self.form = SchemaForm(arguments_schema(request), request.action.arguments)
        self._proposed = self.form.values()
        self.approve_button = _button(
            "Run the action as the agent proposed it (Enter)", "&Approve", "&Approve as proposed"
        )
        self.edit_button = _button(
            "Run the action with your changes (Enter, once you changed an argument)",
            "&Edit && approve",
        )
        self.reject_button = _button("Do not run it; the agent is told why (Esc)", "&Reject")
        self.reason_edit = QtWidgets.QLineEdit()
        self.reason_edit.setPlaceholderText("Why not? The agent reads this (optional)")
        describe(
            self.reason_edit,
            "Reason to reject",
            "Why not? The agent reads this (optional); Enter rejects with it",
        )
        self.reason_edit.setClearButtonEnabled(True)
        tool = request.tool.name if request.tool is not None else request.action.tool
        self.always_allow_box = QtWidgets.QCheckBox(f"Al&ways allow {tool} for this run")
        self.always_allow_box.setToolTip(
            "Approve this tool's later calls in this run without asking"
        )
        self.always_allow_box.setVisible(request.tool is not None)
        self.server = None if request.tool is None else server_of(request.tool.name)
        team = f"“{request.team.replace('&', '&&')}”"
        self.remember_tool_box = QtWidgets.QCheckBox(f"Always allow this &tool for team {team}")
        self.remember_tool_box.setToolTip(
            "Never ask about this tool again in this team's runs (kept; revoke it in the Team pane)"
        )
        self.remember_tool_box.setVisible(request.tool is not None and bool(request.team))
        self.remember_server_box = QtWidgets.QCheckBox(
            f"Always allow this &server ({self.server or ''}: all its tools) for team {team}"
        )
        self.remember_server_box.setToolTip(
            "Never ask about any tool of this MCP server again in this team's runs (kept; "
            "revoke it in the Team pane)"
        )
        self.remember_server_box.setVisible(self.server is not None and bool(request.team))
        # Narrowest first: each approval covers those before it.
        self._scopes = (self.always_allow_box, self.remember_tool_box, self.remember_server_box)
        self._own_choice = {box: False for box in self._scopes}
        self._linking = False
        for box in self._scopes[1:]:
            box.toggled.connect(self._cover_narrower_scopes)
        self._lay_out()
        self.approve_button.clicked.connect(self.approve)
        self.edit_button.clicked.connect(self.approve_edited)
        self.reject_button.clicked.connect(self.reject_action)
        self.form.changed.connect(self._refresh)
        self._refresh()
        # Enter approves at once; a click in the form starts an edit.
        self.approve_button.setFocus()

    def _lay_out(self) -> None:
        request = self.request
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(_heading(_what_it_wants(request)))
        tool = request.tool
        mcp = tool is not None and self.server is not None
        self.origin_label = QtWidgets.QLabel(
            f"Server: <b>{html.escape(self.server or '')}</b> · Tool: "
            f"<b>{html.escape(tool.name.partition('.')[2] if tool else '')}</b>"
        )
        self.origin_label.setObjectName("reviewOrigin")
        self.origin_label.setVisible(mcp)
        self.hints_label = _note(hints_text(tool) if tool is not None and mcp else "")
        self.hints_label.setObjectName("reviewHints")
        self.hints_label.setVisible(mcp)
        layout.addWidget(self.origin_label)
        if tool is not None:
            layout.addWidget(_note(tool.description))
            layout.addWidget(self.hints_label)
            if tool.risky and mcp:
                # The hints say why it is risky; in the warning's colour, no second line.
                self.hints_label.setForegroundRole(QtGui.QPalette.ColorRole.WindowText)
                self.hints_label.setStyleSheet(_RISKY_STYLE)
            elif tool.risky:
                warning = QtWidgets.QLabel(
                    "This tool runs code or changes files in the run's workspace."
                )
                warning.setStyleSheet(_RISKY_STYLE)
                layout.addWidget(warning)
        thought = request.action.thought.strip() or "(no thought given)"
        layout.addLayout(_info_rows([("Thought", _reading(thought))]))
        arguments = QtWidgets.QGroupBox("Arguments")
        QtWidgets.QVBoxLayout(arguments).addWidget(self.form)
        layout.addWidget(arguments, 1)
        layout.addWidget(self.always_allow_box)
        layout.addWidget(self.remember_tool_box)
        layout.addWidget(self.remember_server_box)
        reject_row = QtWidgets.QHBoxLayout()
        reject_row.addWidget(self.reason_edit, 1)
        reject_row.addWidget(self.reject_button)
        layout.addLayout(reject_row)
        layout.addLayout(
            _button_row("Enter approves · Esc rejects", self.edit_button, self.approve_button)
        )

    def is_edited(self) -> bool:
        """Whether the arguments in the form differ from the agent's."""
        return self.form.values() != self._proposed

    def _refresh(self) -> None:
        edited, problems = self.is_edited(), self.form.problems()
        self.edit_button.setEnabled(edited and not problems)
        self.edit_button.setDefault(edited)
        self.approve_button.setDefault(not edited)
        self.approve_button.setText("&Approve as proposed" if edited else "&Approve")
        self.edit_button.setToolTip(
            "Fix first: " + "; ".join(f"{name}: {text}" for name, text in problems.items())
            if edited and problems
            else "Run the action with your changes (Enter)"
        )

    def approve(self) -> None:
        """Approve the action as the agent proposed it."""
        self._decide(
            ActionDecision("approve", always_allow=self._always_allow(), remember=self._remember())
        )

    def approve_edited(self) -> None:
        """Approve the action with the form's arguments; nothing while a field is at fault."""
        if not self.form.is_valid():
            self.form.focus_first_problem()
            return
        action = self.request.action
        edited = Action(action.tool, self.form.values(), action.thought)
        self._decide(
            ActionDecision(
                "edit",
                action=edited,
                always_allow=self._always_allow(),
                remember=self._remember(),
            )
        )

    def reject_action(self) -> None:
        """Reject the action with the reason typed so far (which may be empty)."""
        self._decide(ActionDecision("reject", reason=self.reason_edit.text().strip()))

    def _cover_narrower_scopes(self) -> None:
        """Show what a ticked approval covers: allowing the server allows the tool, and
        allowing the tool for the team allows it for this run, so those boxes are ticked and
        locked while it is; unticking it gives them back the person's own choice."""
        if self._linking:
            return
        self._linking = True
        try:
            covered = False
            for box in reversed(self._scopes):
                if covered:
                    if box.isEnabled():
                        self._own_choice[box] = box.isChecked()
                    box.setChecked(True)
                    box.setEnabled(False)
                elif not box.isEnabled():
                    box.setEnabled(True)
                    box.setChecked(self._own_choice[box])
                covered = covered or (box.isChecked() and not box.isHidden())
        finally:
            self._linking = False

    def _always_allow(self) -> bool:
        return self.request.tool is not None and (
            self.always_allow_box.isChecked() or self._remember() is not None
        )

    def _remember(self) -> ApprovalKind | None:
        """What the person asked to keep allowed for the team: the server's approval covers
        the tool's, so it wins when both are ticked."""
        if self.request.tool is None or not self.request.team:
            return None
        if self.server is not None and self.remember_server_box.isChecked():
            return "server"
        return "tool" if self.remember_tool_box.isChecked() else None

    def _enter(self) -> None:
        if self.reason_edit.hasFocus() and self.reason_edit.text().strip():
            self.reject_action()  # Enter ends the reason being typed; it does not approve
        elif self.is_edited():
            self.approve_edited()
        else:
            self.approve()

    def _escape(self) -> None:
        self.reject_action()

    def _when_closed(self) -> ActionDecision:
        reason = self.reason_edit.text().strip() or CLOSED_REASON
        return ActionDecision("reject", reason=reason)


# --- the score ---------------------------------------------------------------------------


def slider_position(phi: float) -> int:
    """The slider's position for ``phi``: the nearest half step."""
    return round(half_steps(phi) * SLIDER_STEPS_PER_POINT)


class ScoreReviewDialog(ReviewDialog):
    """The critic's score Φ of a step, with its evidence, and a slider (0 to 10 in half
    steps) to override it with an optional reason.

    "Override" is enabled once the person has moved the slider to a score other than the
    critic's. Enter overrides when it is, and keeps the critic's score when it is not.
    """

    def __init__(
        self, request: ScoreReviewRequest, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(f"Score step {request.step} — {request.agent}", parent)
        self.setObjectName("scoreReviewDialog")
        self.request = request
        self.setAccessibleDescription(
            f"The critic scores {request.agent}'s step {request.step} "
            f"{score_text(request.phi)} of 10 (it was {score_text(request.phi_before)}). "
            "Enter applies your score, Escape keeps the critic's."
        )
        self._touched = False
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, 10 * SLIDER_STEPS_PER_POINT)
        self.slider.setPageStep(SLIDER_STEPS_PER_POINT)
        self.slider.setTickInterval(SLIDER_STEPS_PER_POINT)
        self.slider.setTickPosition(QtWidgets.QSlider.TickPosition.TicksBelow)
        self.slider.setValue(slider_position(request.phi))
        self.slider.setToolTip("Your score for this step: ← and → move it by half a point")
        self.value_label = QtWidgets.QLabel()
        self.value_label.setObjectName("scoreValue")
        self.change_label = _note("")
        self.reason_edit = QtWidgets.QLineEdit()
        self.reason_edit.setPlaceholderText("Why this score? (optional; kept with the correction)")
        describe(
            self.reason_edit,
            "Reason for your score",
            "Why this score? (optional; kept with the correction). The arrow keys still move "
            "the score",
        )
        self.reason_edit.setClearButtonEnabled(True)
        self.keep_button = _button(
            "Leave Φ as the critic scored it (Esc)", "&Keep the critic's score"
        )
        self.override_button = _button(
            "Use your score instead of the critic's (Enter)",
            "&Override",
            "&Override with 10",
            "&Override with 9.5",
        )
        self._lay_out()
        self.slider.valueChanged.connect(self._moved)
        self.keep_button.clicked.connect(self.keep)
        self.override_button.clicked.connect(self.override)
        self._refresh()
        self.slider.setFocus()  # the arrow keys move it from the start

    def _lay_out(self) -> None:
        request = self.request
        agent = html.escape(request.agent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(
            _heading(
                f"The critic scores <b>{agent}</b>'s step {request.step}: Φ "
                f"{score_text(request.phi_before)} → <b>{score_text(request.phi)}</b>"
            )
        )
        action = request.action
        arguments = _arguments_text(action)
        layout.addLayout(
            _info_rows(
                [
                    (
                        "Action",
                        _reading(
                            f"{action.tool}\n{arguments}" if arguments else action.tool, fixed=True
                        ),
                    ),
                    ("Observation", _reading(request.observation.text or "(nothing)")),
                    ("Evidence", _reading(request.evidence or "(the critic gave none)")),
                ]
            )
        )
        layout.addWidget(self._score_box())
        layout.addLayout(
            _button_row(
                "← → move the slider · Enter applies · Esc keeps the critic's score",
                self.keep_button,
                self.override_button,
            )
        )

    def _score_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Your score")
        font = set_font(self.value_label, scale=1.6, bold=True)
        # Wide enough for "10" and "9.5", so the slider does not jump as the value changes.
        self.value_label.setMinimumWidth(QtGui.QFontMetrics(font).horizontalAdvance("10.5"))
        self.value_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        scale = QtWidgets.QHBoxLayout()
        scale.addWidget(_note("0"))
        scale.addStretch(1)
        scale.addWidget(_note("5"))
        scale.addStretch(1)
        scale.addWidget(_note("10"))
        track = QtWidgets.QVBoxLayout()
        track.addWidget(self.slider)
        track.addLayout(scale)
        row = QtWidgets.QHBoxLayout()
        row.addLayout(track, 1)
        row.addWidget(self.value_label)
        layout = QtWidgets.QVBoxLayout(box)
        layout.addLayout(row)
        layout.addWidget(self.change_label)
        layout.addWidget(self.reason_edit)
        return box

    @property
    def value(self) -> float:
        """The slider's score, 0 to 10 in half steps."""
        return self.slider.value() / SLIDER_STEPS_PER_POINT

    def is_moved(self) -> bool:
        """Whether the person set the slider to a score other than the critic's."""
        return self._touched and self.value != self.request.phi

    def _moved(self) -> None:
        # The slider starts at the half step nearest the critic's score (4.5 for 4.33); only
        # a value the person chose counts as an override, even if it is that same 4.5.
        self._touched = True
        self._refresh()

    def _refresh(self) -> None:
        moved = self.is_moved()
        self.value_label.setText(score_text(self.value))
        critic = score_text(self.request.phi)
        self.change_label.setText(
            f"The critic gave {critic}; yours is {round(self.value - self.request.phi, 2):+g}."
            if moved
            else f"The critic gave {critic}. Move the slider to override it."
        )
        # The slider's own value counts half points (17 for 8.5): the name says the score,
        # so a screen reader announces it as the slider moves.
        describe(
            self.slider,
            f"Your score: Φ {score_text(self.value)} of 10",
            f"{self.change_label.text()} ← and → move it by half a point.",
        )
        self.override_button.setEnabled(moved)
        self.override_button.setDefault(moved)
        self.keep_button.setDefault(not moved)
        self.override_button.setText(
            f"&Override with {score_text(self.value)}" if moved else "&Override"
        )

    def keep(self) -> None:
        """Keep the critic's score."""
        self._decide(ScoreDecision())

    def override(self) -> None:
        """Use the slider's score, with the reason typed; nothing while it is not moved."""
        if self.is_moved():
            self._decide(ScoreDecision(self.value, self.reason_edit.text().strip()))

    def _enter(self) -> None:
        if self.is_moved():
            self.override()
        else:
            self.keep()

    def _escape(self) -> None:
        self.keep()

    def _when_closed(self) -> ScoreDecision:
        return ScoreDecision()

    def _other_key(self, key: QtCore.Qt.Key) -> bool:
        # Arrow keys the focused widget left unused (Up and Down in the reason's line, say)
        # still move the slider.
        steps = {
            QtCore.Qt.Key.Key_Left: -1,
            QtCore.Qt.Key.Key_Down: -1,
            QtCore.Qt.Key.Key_Right: 1,
            QtCore.Qt.Key.Key_Up: 1,
        }
        if key not in steps:
            return False
        self.slider.setValue(self.slider.value() + steps[key])
        return True
