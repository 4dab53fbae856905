"""An editable form for a tool's arguments, generated from the tool's flat JSON schema.

Each parameter gets the editor its type calls for: a line for a short string, a multi-line
box in a fixed-width font for long text such as code or a file's content, a line checked as
a whole number or a number, a check box for a boolean, a list to choose from for an ``enum``.
Every field is checked against its own schema as it is edited, and one at fault gets a red
border and says what is wrong right under it. Arguments the schema does not declare are kept
and shown too, so nothing the agent proposed is hidden from the person or silently dropped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Protocol

from jsonschema.exceptions import ValidationError

from purpose_desktop.models.structured import validator_for
from purpose_desktop.ui.qt import QtGui, QtWidgets, Signal
from purpose_desktop.ui.theme import set_font
from purpose_desktop.ui.widgets.field_marks import FORM_STYLE, FieldMark, add_row

LONG_TEXT_CHARS: Final = 500
"""A string parameter allowed to be longer than this (its ``maxLength``) gets a multi-line
editor: python's ``code`` and write_file's ``content`` do, calculator's ``expression`` not."""
LONG_VALUE_CHARS: Final = 80
"""A proposed string longer than this, or with a line break, gets a multi-line editor too."""
TEXT_LINES: Final = 8
"""How many lines a multi-line editor shows before it scrolls."""

_TYPE_WORDS: Final = {
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "boolean": "true or false",
    "null": "empty",
}
# Words for the validators a tool's flat schema uses; anything else keeps jsonschema's text.
_MESSAGES: Final = {
    "maxLength": "At most {limit} characters; this has {count}.",
    "minLength": "At least {limit} characters; this has {count}.",
    "minimum": "At least {limit}.",
    "maximum": "At most {limit}.",
    "exclusiveMinimum": "More than {limit}.",
    "exclusiveMaximum": "Less than {limit}.",
    "enum": "One of {choices}.",
    "const": "Must be {choices}.",
    "type": "Should be {kind}.",
    "pattern": "Should match the pattern {limit}.",
}


class _Missing:
    """No value: an optional field left empty is left out of the arguments."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


class _Unreadable(ValueError):
    """The text cannot be read as the field's type; the message says what is wanted."""


# --- reading text as a JSON value ---------------------------------------------------------


def _as_text(text: str) -> str:
    return text


def _as_integer(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise _Unreadable("Enter a whole number, such as 42.") from None


def _as_number(text: str) -> int | float:
    stripped = text.strip()
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        number = float(stripped)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise _Unreadable("Enter a number, such as 2.5.")
    return number


def _as_json(text: str) -> Any:
    """JSON when the text is JSON (``3``, ``true``, ``[1, 2]``), else the text itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def shown(value: Any) -> str:
    """``value`` as a person reads and edits it: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# --- editors: show one value and read it back ---------------------------------------------


class _Editor(Protocol):
    """One field's editor. :meth:`read` gives the value, :data:`MISSING` when left empty, or
    raises :class:`_Unreadable`."""

    widget: QtWidgets.QWidget

    def read(self) -> Any: ...

    def on_change(self, callback: Callable[[], None]) -> None: ...


class _LineEditor(_Editor):
    def __init__(self, value: Any, parse: Callable[[str], Any]) -> None:
        self.line = QtWidgets.QLineEdit("" if value is MISSING else shown(value))
        self.line.setCursorPosition(0)  # the start of a long value, not its end
        self.widget = self.line
        self._parse = parse

    def read(self) -> Any:
        text = self.line.text()
        return MISSING if not text.strip() else self._parse(text)

    def on_change(self, callback: Callable[[], None]) -> None:
        self.line.textChanged.connect(callback)


class _TextEditor(_Editor):
    """Several lines in a fixed-width font: code and file contents keep their layout."""

    def __init__(self, value: Any) -> None:
        self.box = QtWidgets.QPlainTextEdit("" if value is MISSING else shown(value))
        font = set_font(self.box, fixed=True)
        metrics = QtGui.QFontMetrics(font)
        self.box.setTabStopDistance(4 * metrics.horizontalAdvance(" "))
        self.box.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        # Tab moves to the next field, as in the rest of the form; code is rarely typed here.
        self.box.setTabChangesFocus(True)
        self.box.setMinimumHeight(metrics.lineSpacing() * TEXT_LINES + 12)
        self.widget = self.box

    def read(self) -> Any:
        text = self.box.toPlainText()
        return MISSING if not text.strip() else text

    def on_change(self, callback: Callable[[], None]) -> None:
        self.box.textChanged.connect(callback)


class _CheckEditor(_Editor):
    """An optional boolean the agent left out stays out until the person ticks or unticks it."""

    def __init__(self, name: str, value: Any, default: Any) -> None:
        # The box carries the name, so a click on the name ticks it as well.
        self.box = QtWidgets.QCheckBox(name)
        self.box.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Maximum, QtWidgets.QSizePolicy.Policy.Fixed
        )
        self.box.setChecked(bool(default) if value is MISSING else bool(value))
        self.widget = self.box
        self._given = value is not MISSING
        self.box.toggled.connect(self._touched)

    def _touched(self) -> None:
        self._given = True

    def read(self) -> Any:
        return self.box.isChecked() if self._given else MISSING

    def on_change(self, callback: Callable[[], None]) -> None:
        self.box.toggled.connect(callback)


class _ChoiceEditor(_Editor):
    """The ``enum``'s values to choose from; a proposed value outside it is listed as well,
    so the person sees what the agent wrote (and the field says it is not allowed)."""

    NOT_SET = "(not set)"

    def __init__(self, value: Any, choices: Iterable[Any], required: bool) -> None:
        self.combo = QtWidgets.QComboBox()
        options: list[Any] = [] if required else [MISSING]
        options += list(choices)
        if value not in options:
            options.append(value)
        for option in options:
            self.combo.addItem(self.NOT_SET if option is MISSING else shown(option))
        self._options = options
        self.combo.setCurrentIndex(options.index(value))
        self.widget = self.combo

    def read(self) -> Any:
        return self._options[self.combo.currentIndex()]

    def on_change(self, callback: Callable[[], None]) -> None:
        self.combo.currentIndexChanged.connect(callback)


def main_type(schema: Mapping[str, Any]) -> str | None:
    """The JSON type a parameter takes: its ``type``, the first besides ``null`` in a list."""
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), None)
    return declared if isinstance(declared, str) else None


def _is_long(schema: Mapping[str, Any], value: Any) -> bool:
    limit = schema.get("maxLength")
    if isinstance(limit, int) and limit > LONG_TEXT_CHARS:
        return True
    return isinstance(value, str) and ("\n" in value or len(value) > LONG_VALUE_CHARS)


def _editor_for(name: str, schema: Mapping[str, Any], value: Any, required: bool) -> _Editor:
    """The editor the parameter ``name`` of ``schema`` wants, holding ``value``."""
    choices = schema.get("enum")
    if isinstance(choices, list):
        return _ChoiceEditor(value, choices, required)
    kind = main_type(schema)
    if kind == "boolean" and (value is MISSING or isinstance(value, bool)):
        return _CheckEditor(name, value, schema.get("default", False))
    if kind == "string" and not isinstance(value, str | _Missing):
        kind = None  # the agent wrote another type: show it as it is, and say so
    parsers: dict[str | None, Callable[[str], Any]] = {
        "integer": _as_integer,
        "number": _as_number,
        "string": _as_text,
    }
    if kind == "string" and _is_long(schema, value):
        return _TextEditor(value)
    return _LineEditor(value, parsers.get(kind, _as_json))


def _extra_editor(value: Any) -> _Editor:
    """An argument the schema does not declare: a string stays a string, anything else is
    edited as JSON."""
    if isinstance(value, str):
        return _TextEditor(value) if _is_long({}, value) else _LineEditor(value, _as_text)
    return _LineEditor(value, _as_json)


# --- checking a value --------------------------------------------------------------------


def explain(error: ValidationError) -> str:
    """A JSON-schema error about one value, in a few plain words."""
    template = _MESSAGES.get(str(error.validator))
    if template is None:
        return error.message[:1].upper() + error.message[1:] + "."
    limit = error.validator_value
    options = limit if isinstance(limit, list) else [limit]
    kind = main_type({"type": limit}) if isinstance(limit, str | list) else None
    return template.format(
        limit=limit,
        count=len(error.instance) if isinstance(error.instance, str) else 0,
        choices=", ".join(shown(option) for option in options),
        kind=_TYPE_WORDS.get(kind or "", kind),
    )


class _Field:
    """One parameter's row: its editor, the hint under it and what is wrong with it."""

    def __init__(
        self,
        name: str,
        schema: Mapping[str, Any],
        editor: _Editor,
        *,
        required: bool,
        hint: str,
    ) -> None:
        self.name = name
        self.schema = schema
        self.editor = editor
        self.required = required
        self.hint = hint
        self.mark = FieldMark(editor.widget, hint or f"The argument {name}")

    def value(self) -> Any:
        """The value as entered, :data:`MISSING` when left empty; raises
        :class:`_Unreadable`."""
        return self.editor.read()

    def problem(self) -> str | None:
        try:
            value = self.value()
        except _Unreadable as exc:
            return str(exc)
        if value is MISSING:
            return "Required." if self.required else None
        errors = sorted(
            validator_for(dict(self.schema)).iter_errors(value), key=lambda e: str(e.validator)
        )
        return explain(errors[0]) if errors else None

    def show_problem(self) -> None:
        """Check the value and mark the field: a red border and the reason under it."""
        self.mark.show(self.problem())

    def add_to(self, form: QtWidgets.QFormLayout) -> None:
        """The row: the name, then the editor with its problem and the parameter's
        description under it. A check box shows the name itself."""
        shown = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(shown)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.mark.frame)
        layout.addWidget(self.mark.message)
        if self.hint:
            hint = QtWidgets.QLabel(self.hint)
            hint.setWordWrap(True)
            hint.setProperty("hint", True)
            layout.addWidget(hint)
        named = isinstance(self.editor, _CheckEditor)
        add_row(form, "" if named else self.name, self.mark, shown)


# --- the form --------------------------------------------------------------------------


def _properties(schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    properties = schema.get("properties") or {}
    return {
        str(name): spec if isinstance(spec, Mapping) else {} for name, spec in properties.items()
    }


class SchemaForm(QtWidgets.QWidget):
    """The arguments of one call of a tool, editable, one row per parameter of ``schema``
    (a flat JSON schema object) and one per extra key of ``values``, prefilled from
    ``values``."""

    changed = Signal()
    """Any field was edited; its problems are already shown."""

    def __init__(
        self,
        schema: Mapping[str, Any],
        values: Mapping[str, Any],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setStyleSheet(FORM_STYLE)
        required = {str(name) for name in schema.get("required", ())}
        self._fields = [
            self._declared(name, spec, values.get(name, MISSING), name in required)
            for name, spec in _properties(schema).items()
        ]
        declared = {f.name for f in self._fields}
        self._fields += [
            self._extra(str(name), value)
            for name, value in values.items()
            if str(name) not in declared
        ]
        self._layout_fields()
        for field in self._fields:
            field.editor.on_change(self._edited)
            field.show_problem()

    @staticmethod
    def _declared(name: str, spec: Mapping[str, Any], value: Any, required: bool) -> _Field:
        description = str(spec.get("description", "")).strip()
        hint = description if required else f"{description} (optional)".strip()
        return _Field(
            name, spec, _editor_for(name, spec, value, required), required=required, hint=hint
        )

    @staticmethod
    def _extra(name: str, value: Any) -> _Field:
        return _Field(
            name,
            {},
            _extra_editor(value),
            required=True,
            hint="Not one of the tool's parameters; kept as the agent wrote it.",
        )

    def _layout_fields(self) -> None:
        layout = QtWidgets.QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        if not self._fields:
            layout.addRow(QtWidgets.QLabel("No arguments."))
        for field in self._fields:
            field.add_to(layout)

    def _edited(self) -> None:
        for field in self._fields:
            field.show_problem()
        self.changed.emit()

    @property
    def names(self) -> list[str]:
        """The fields' names, in the order shown."""
        return [field.name for field in self._fields]

    def editor(self, name: str) -> QtWidgets.QWidget:
        """The widget that edits the argument ``name``."""
        return self._field(name).editor.widget

    def _field(self, name: str) -> _Field:
        for field in self._fields:
            if field.name == name:
                return field
        raise KeyError(name)

    def shown_problem(self, name: str) -> str | None:
        """What the field ``name`` says is wrong with it (under a red border), if anything."""
        mark = self._field(name).mark
        return mark.problem if mark.marked and not mark.message.isHidden() else None

    def problems(self) -> dict[str, str]:
        """What is wrong, by field name; empty when every field is fine."""
        return {
            field.name: problem
            for field in self._fields
            if (problem := field.problem()) is not None
        }

    def is_valid(self) -> bool:
        return not self.problems()

    def values(self) -> dict[str, Any]:
        """The arguments as entered: fields left empty are left out, and so are fields whose
        text cannot be read as their type (:meth:`is_valid` says whether there are any)."""
        values: dict[str, Any] = {}
        for field in self._fields:
            try:
                value = field.value()
            except _Unreadable:
                continue
            if value is not MISSING:
                values[field.name] = value
        return values

    def focus_first_problem(self) -> None:
        """Put the cursor in the first field at fault, if any."""
        for field in self._fields:
            if field.problem() is not None:
                field.editor.widget.setFocus()
                return
