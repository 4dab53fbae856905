"""Marking a form field as invalid where it is: a red border and a message under it.

Forms apply :data:`FORM_STYLE` to their top widget once; :class:`FieldMark` then only flips a
dynamic property, so the look lives in one style sheet. The border is drawn by a thin frame
around the field rather than by the field itself: a border in a style sheet makes Qt draw
spin boxes and drop-downs without their native arrows.
"""

from __future__ import annotations

from purpose_desktop.ui.accessibility import without_mnemonic
from purpose_desktop.ui.qt import QtWidgets

ERROR_COLOUR = "#c62828"

FORM_STYLE = f"""
QFrame#fieldFrame {{ border: 1px solid transparent; border-radius: 3px; }}
QFrame#fieldFrame[invalid="true"] {{ border-color: {ERROR_COLOUR}; }}
QLabel[fieldError="true"] {{ color: {ERROR_COLOUR}; }}
QLabel[hint="true"] {{ color: #5f6368; }}
"""
"""Invalid fields get a red border, error labels are red, hints (property ``hint``) grey."""


def error_label() -> QtWidgets.QLabel:
    """A label in the error colour (under :data:`FORM_STYLE`), hidden while empty."""
    label = QtWidgets.QLabel("")
    label.setProperty("fieldError", True)
    label.setWordWrap(True)
    label.hide()
    return label


def show_error(label: QtWidgets.QLabel, message: str) -> None:
    """Show ``message`` in ``label``, or hide the label when there is nothing to say."""
    label.setText(message)
    label.setVisible(bool(message))


class FieldMark:
    """A field in its frame, and the line under it that says what is wrong with it.

    Lay out :attr:`frame` (or :meth:`row`) where the field goes, not the field itself.
    ``description`` says what the field takes; a screen reader reads it after the field's
    name, with the problem first while there is one.
    """

    def __init__(self, field: QtWidgets.QWidget, description: str = "") -> None:
        self.field = field
        self.description = description
        field.setAccessibleDescription(description)
        self.frame = QtWidgets.QFrame()
        self.frame.setObjectName("fieldFrame")
        self.frame.setProperty("invalid", False)
        layout = QtWidgets.QVBoxLayout(self.frame)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(field)
        self.message = error_label()

    @property
    def problem(self) -> str | None:
        """What is wrong with the field now, or ``None``."""
        return self.message.text() or None

    @property
    def marked(self) -> bool:
        """Whether the field's border says it is invalid."""
        return bool(self.frame.property("invalid"))

    def show(self, problem: str | None) -> None:
        """Mark the field with ``problem``, or clear the mark when it is ``None``."""
        invalid = problem is not None
        if self.marked != invalid:
            self.frame.setProperty("invalid", invalid)
            # A dynamic property is only read when the widget is polished again.
            style = self.frame.style()
            style.unpolish(self.frame)
            style.polish(self.frame)
        self.field.setToolTip(problem or "")
        self.field.setAccessibleDescription(" ".join(filter(None, (problem, self.description))))
        show_error(self.message, problem or "")

    def row(self) -> QtWidgets.QWidget:
        """The framed field with its message under it, for a form layout's row."""
        box = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.frame)
        layout.addWidget(self.message)
        return box


def add_row(
    form: QtWidgets.QFormLayout, text: str, mark: FieldMark, shown: QtWidgets.QWidget | None = None
) -> None:
    """A row of ``form``: a label (its mnemonic focuses the field, and it names the field
    for a screen reader) and the marked field, or ``shown``, a widget that lays out the mark
    itself."""
    label = QtWidgets.QLabel(text)
    label.setBuddy(mark.field)
    # A screen reader finds a label by its buddy only beside the field, not around its frame.
    if text and not mark.field.accessibleName():
        mark.field.setAccessibleName(without_mnemonic(text))
    form.addRow(label, shown or mark.row())
