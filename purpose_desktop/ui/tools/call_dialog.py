"""The dialog that calls one tool by hand: its arguments in a form made from the tool's JSON
schema, the call made in the background with a Cancel, and what the tool answered.

A schema whose parameters are objects (or lists of objects) is edited as one JSON object
instead, as is any schema when "Edit as JSON" is ticked: the form's one-line editors suit
text, numbers, choices and short lists only. Either way the arguments are checked against
the schema before they are sent.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any, Final

from purpose_desktop.models.structured import validator_for
from purpose_desktop.ui.accessibility import describe
from purpose_desktop.ui.qt import QtGui, QtWidgets, Signal
from purpose_desktop.ui.theme import set_font
from purpose_desktop.ui.widgets.notice import notice_label, say
from purpose_desktop.ui.widgets.schema_form import SchemaForm, explain, main_type

DIALOG_WIDTH: Final = 620
RESULT_LINES: Final = 10


def needs_json(schema: Mapping[str, Any]) -> bool:
    """Whether the form cannot edit ``schema``'s arguments well: a parameter that is an
    object, or a list of objects or lists; a schema that is not a plain object of
    parameters."""
    if schema.get("type", "object") != "object" or any(
        key in schema for key in ("anyOf", "oneOf", "allOf", "$ref")
    ):
        return True
    properties = schema.get("properties") or {}
    if not isinstance(properties, Mapping):
        return True
    for spec in properties.values():
        if not isinstance(spec, Mapping):
            continue
        kind = main_type(spec)
        items = spec.get("items")
        if kind == "object" or (
            kind == "array"
            and isinstance(items, Mapping)
            and main_type(items) in ("object", "array")
        ):
            return True
    return False


def template(schema: Mapping[str, Any]) -> dict[str, Any]:
    """An object with each required parameter of ``schema`` (nested ones too) set to an
    empty value of its type, to be filled in."""
    empty: dict[str | None, Any] = {"string": "", "integer": 0, "number": 0, "boolean": False}
    filled: dict[str, Any] = {}
    properties = schema.get("properties") or {}
    for name in schema.get("required") or ():
        spec = properties.get(name) if isinstance(properties, Mapping) else None
        if not isinstance(spec, Mapping):
            filled[str(name)] = None
            continue
        kind = main_type(spec)
        choices = spec.get("enum")
        if isinstance(choices, list) and choices:
            filled[str(name)] = choices[0]
        elif kind == "object":
            filled[str(name)] = template(spec)
        elif kind == "array":
            filled[str(name)] = []
        else:
            filled[str(name)] = empty.get(kind)
    return filled


def check_arguments(schema: Mapping[str, Any], text: str) -> tuple[dict[str, Any] | None, str]:
    """The arguments ``text`` holds (a JSON object valid under ``schema``), or ``None`` and
    what is wrong with them."""
    try:
        values = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        return None, f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
    if not isinstance(values, dict):
        return None, 'The arguments must be a JSON object: {"name": value, ...}.'
    errors = sorted(
        validator_for(dict(schema)).iter_errors(values), key=lambda error: list(error.path)
    )
    if errors:
        error = errors[0]
        where = ".".join(str(part) for part in error.path)
        return None, f"{where}: {explain(error)}" if where else explain(error)
    return values, ""


class ToolCallDialog(QtWidgets.QDialog):
    """Call the tool ``name`` with arguments made from ``schema``. The dialog asks for the
    call through :attr:`call_requested` and is told what came of it; it makes no call."""

    call_requested = Signal(str)
    """The arguments, a JSON object as text, checked against the schema."""
    cancel_requested = Signal()
    """Stop the call under way."""

    def __init__(
        self,
        name: str,
        description: str,
        schema: Mapping[str, Any],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("toolCallDialog")
        self.setWindowTitle(f"Test call: {name}")
        self.setAccessibleDescription(description)
        self.setMinimumWidth(DIALOG_WIDTH)
        self.name = name
        self.schema = schema
        self.calling = False
        self.form: SchemaForm | None = None

        self._make_widgets()
        self._lay_out(name, description)
        self.call_button.clicked.connect(self.request_call)
        self.cancel_button.clicked.connect(self.cancel_requested.emit)
        self.close_button.clicked.connect(self.reject)
        self.json_box.textChanged.connect(self._check_json)
        if needs_json(schema):
            # The form cannot edit these parameters: JSON only.
            self.as_json.setChecked(True)
            self.as_json.setEnabled(False)
            self.as_json.setToolTip("Some parameters are objects: the arguments are JSON")
            self._show_json(template(schema))
        else:
            self._show_form({})
        self.as_json.toggled.connect(self._switch)
        self.resize(DIALOG_WIDTH, 560)

    def _make_widgets(self) -> None:
        self.as_json = QtWidgets.QCheckBox("Edit as &JSON")
        self.as_json.setToolTip("Write the arguments as one JSON object")
        self.json_box = QtWidgets.QPlainTextEdit()
        self.json_box.setObjectName("toolCallJson")
        set_font(self.json_box, fixed=True)
        self.json_box.setTabChangesFocus(True)
        describe(
            self.json_box, "Arguments as JSON", "The tool's arguments, written as one JSON object"
        )
        self.json_problem = notice_label()
        self.form_area = QtWidgets.QScrollArea()
        self.form_area.setWidgetResizable(True)
        self.form_area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 0)  # busy: a tool does not say how far it got
        self.progress.setMaximumHeight(8)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.answer = QtWidgets.QPlainTextEdit()
        self.answer.setObjectName("toolCallAnswer")
        self.answer.setReadOnly(True)
        answer_font = set_font(self.answer, fixed=True)
        self.answer.setPlaceholderText("What the tool answers shows here.")
        describe(self.answer, "Answer", "What the tool answered, or its error")
        self.answer.setMinimumHeight(QtGui.QFontMetrics(answer_font).lineSpacing() * 6)
        self.call_button = QtWidgets.QPushButton("&Call")
        self.call_button.setDefault(True)
        self.call_button.setToolTip("Call the tool with these arguments (Enter)")
        self.cancel_button = QtWidgets.QPushButton("Cancel call")
        self.cancel_button.setToolTip("Stop the call under way")
        self.cancel_button.hide()
        self.close_button = QtWidgets.QPushButton("Close")

    def _lay_out(self, name: str, description: str) -> None:
        about = QtWidgets.QLabel(description)
        about.setWordWrap(True)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.as_json)
        buttons.addStretch(1)
        for button in (self.call_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(QtWidgets.QLabel(f"<b>{html.escape(name)}</b>"))
        layout.addWidget(about)
        layout.addWidget(QtWidgets.QLabel("Arguments:"))
        layout.addWidget(self.form_area, 1)
        layout.addWidget(self.json_box, 1)
        layout.addWidget(self.json_problem)
        layout.addWidget(QtWidgets.QLabel("Answer:"))
        layout.addWidget(self.answer, 2)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    # --- editing ----------------------------------------------------------------------

    @property
    def editing_json(self) -> bool:
        return self.as_json.isChecked()

    def _show_form(self, values: Mapping[str, Any]) -> None:
        self.form = SchemaForm(self.schema, values)
        self.form.changed.connect(self._form_changed)
        self.form_area.setWidget(self.form)
        self.form_area.show()
        self.json_box.hide()
        say(self.json_problem, "")
        self._update_call_button()

    def _show_json(self, values: Mapping[str, Any]) -> None:
        self.json_box.setPlainText(json.dumps(values, indent=2, ensure_ascii=False))
        self.form_area.hide()
        self.json_box.show()
        self._check_json()

    def _switch(self, as_json: bool) -> None:
        if as_json:
            self._show_json(self.form.values() if self.form is not None else {})
            return
        values, _problem = check_arguments({}, self.json_box.toPlainText())
        self._show_form(values or {})

    def _form_changed(self) -> None:
        self._update_call_button()

    def _check_json(self) -> None:
        if not self.editing_json:
            return
        _values, problem = check_arguments(self.schema, self.json_box.toPlainText())
        say(self.json_problem, problem)
        self._update_call_button()

    def arguments(self) -> tuple[dict[str, Any] | None, str]:
        """The arguments entered, or ``None`` and what is wrong with them."""
        if self.editing_json or self.form is None:
            return check_arguments(self.schema, self.json_box.toPlainText())
        problems = self.form.problems()
        if problems:
            return None, "; ".join(f"{name}: {problem}" for name, problem in problems.items())
        return self.form.values(), ""

    def _update_call_button(self) -> None:
        values, _problem = self.arguments()
        self.call_button.setEnabled(values is not None and not self.calling)

    def request_call(self) -> None:
        """Ask for the call with the arguments entered, if they are valid."""
        if self.calling:
            return
        values, problem = self.arguments()
        if values is None:
            self._say(f"Not called: {problem}", "error")
            if self.form is not None and not self.editing_json:
                self.form.focus_first_problem()
            return
        self.call_requested.emit(json.dumps(values, ensure_ascii=False))

    # --- what the controller tells the dialog -------------------------------------------

    def show_calling(self) -> None:
        self.calling = True
        self.progress.show()
        self.cancel_button.show()
        self.call_button.setEnabled(False)
        self.answer.clear()
        self._say(f"Calling {self.name}…", "info")

    def show_result(self, text: str) -> None:
        """The tool answered ``text``."""
        self._done()
        self.answer.setPlainText(text)
        self._say("The tool answered.", "success")

    def show_failure(self, message: str) -> None:
        """The call failed: the tool's error, or why it could not be made."""
        self._done()
        self.answer.setPlainText(message)
        self._say("The call failed.", "error")

    def show_cancelling(self) -> None:
        """The call is being cancelled: the server it started is stopping."""
        self.cancel_button.setEnabled(False)
        self._say("Cancelling the call…", "warning")

    def show_cancelled(self) -> None:
        self._done()
        self._say("The call was cancelled.", "warning")

    @property
    def status_text(self) -> str:
        return self.status.text()

    def _done(self) -> None:
        self.calling = False
        self.progress.hide()
        self.cancel_button.hide()
        self.cancel_button.setEnabled(True)
        self._update_call_button()

    def _say(self, text: str, meaning: str) -> None:
        say(self.status, text, meaning)

    def reject(self) -> None:
        """Close; a call under way is cancelled."""
        if self.calling:
            self.cancel_requested.emit()
        super().reject()
