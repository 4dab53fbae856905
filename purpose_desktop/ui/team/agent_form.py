"""The form for one agent: name, role, expertise, model, tools, review policy, step limit."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from purpose_desktop.engine.specs import ReviewPolicy
from purpose_desktop.engine.tools.base import Tool
from purpose_desktop.engine.tools.builtin import BUILTIN_TOOLS
from purpose_desktop.models.catalog import CatalogEntry
from purpose_desktop.ui.qt import QtWidgets, Signal
from purpose_desktop.ui.team.draft import AgentDraft
from purpose_desktop.ui.team.model_choice import ModelChoice
from purpose_desktop.ui.widgets.field_marks import FieldMark, add_row

# Wider than the spec allows, so a step limit out of range is shown as a mistake at the
# field rather than silently changed by the spin box.
STEP_LIMIT_RANGE = (0, 999)


def _risky_names() -> str:
    return ", ".join(tool.name for tool in BUILTIN_TOOLS if tool.risky)


REVIEW_EXPLANATIONS: Mapping[ReviewPolicy, str] = {
    ReviewPolicy.ALWAYS: "A person approves every action before it runs.",
    ReviewPolicy.RISKY: (
        f"A person approves calls of risky tools ({_risky_names()}); the rest run at once."
    ),
    ReviewPolicy.NEVER: "Every action runs without asking.",
}


def keywords(text: str) -> tuple[str, ...]:
    """``"maths, sums,, "`` as ``("maths", "sums")``."""
    return tuple(word.strip() for word in text.split(",") if word.strip())


class ToolChecklist(QtWidgets.QFrame):
    """A check box per tool, each with what the tool does."""

    toggled = Signal()

    def __init__(self, tools: Sequence[Tool], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("agentTools")
        self.boxes: dict[str, QtWidgets.QCheckBox] = {}
        self._order: list[str] = []
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setColumnStretch(1, 1)
        for row, tool in enumerate(tools):
            box = QtWidgets.QCheckBox(tool.name)
            box.toggled.connect(self.toggled)
            about = QtWidgets.QLabel(self._about(tool))
            about.setWordWrap(True)
            about.setProperty("hint", True)
            grid.addWidget(box, row, 0)
            grid.addWidget(about, row, 1)
            self.boxes[tool.name] = box
        if self.boxes:
            self.setFocusProxy(next(iter(self.boxes.values())))  # for the label's mnemonic

    @staticmethod
    def _about(tool: Tool) -> str:
        text = html.escape(tool.description)
        return text + (" <b>Risky</b>: reviewed under the “risky” policy." if tool.risky else "")

    def chosen(self) -> tuple[str, ...]:
        """The ticked tools: those shown by :meth:`choose` in their order, then the others."""
        # Kept in the order the team file has them, so looking is not a change.
        ticked = [name for name, box in self.boxes.items() if box.isChecked()]
        shown = [name for name in self._order if name in ticked]
        return (*shown, *(name for name in ticked if name not in shown))

    def choose(self, names: Sequence[str]) -> None:
        self._order = list(names)
        for name, box in self.boxes.items():
            box.setChecked(name in names)


class ReviewChoice(QtWidgets.QFrame):
    """Always / risky / never as radio buttons, with what the chosen one means."""

    changed = Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("agentReview")
        self.buttons: dict[str, QtWidgets.QRadioButton] = {}
        self.explanation = QtWidgets.QLabel("")
        self.explanation.setWordWrap(True)
        self.explanation.setProperty("hint", True)
        group = QtWidgets.QButtonGroup(self)
        row = QtWidgets.QHBoxLayout()
        for policy in ReviewPolicy:
            button = QtWidgets.QRadioButton(policy.value)
            button.setToolTip(REVIEW_EXPLANATIONS[policy])
            group.addButton(button)
            row.addWidget(button)
            self.buttons[policy.value] = button
        row.addStretch(1)
        self.setFocusProxy(self.buttons[ReviewPolicy.RISKY.value])  # for the label's mnemonic
        group.buttonToggled.connect(self._toggled)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.explanation)

    def policy(self) -> str:
        return next((name for name, button in self.buttons.items() if button.isChecked()), "")

    def choose(self, policy: str) -> None:
        self.buttons[policy].setChecked(True)
        self._explain()

    def _toggled(self, _button: QtWidgets.QAbstractButton, checked: bool) -> None:
        if checked:
            self._explain()
            self.changed.emit()

    def _explain(self) -> None:
        policy = self.policy()
        self.explanation.setText(REVIEW_EXPLANATIONS[ReviewPolicy(policy)] if policy else "")


class AgentForm(QtWidgets.QWidget):
    """Edits one :class:`AgentDraft`; :attr:`edited` fires on every change the person makes."""

    edited = Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.name_edit = QtWidgets.QLineEdit()
        self.name_edit.setObjectName("agentName")
        self.role_edit = QtWidgets.QPlainTextEdit()
        self.role_edit.setObjectName("agentRole")
        self.role_edit.setPlaceholderText("The agent's instructions (its system prompt)")
        self.role_edit.setFixedHeight(self.fontMetrics().lineSpacing() * 4 + 12)
        self.expertise_edit = QtWidgets.QLineEdit()
        self.expertise_edit.setObjectName("agentExpertise")
        self.expertise_edit.setPlaceholderText("keywords that route work here, e.g. maths, sums")
        self.model_choice = ModelChoice("Choose a model…")
        self.model_choice.setObjectName("agentModel")
        self.tools = ToolChecklist(BUILTIN_TOOLS)
        self.review = ReviewChoice()
        self.steps_spin = QtWidgets.QSpinBox()
        self.steps_spin.setObjectName("agentSteps")
        self.steps_spin.setRange(*STEP_LIMIT_RANGE)
        self.steps_spin.setToolTip("The most steps the agent takes on one task (1 to 200)")
        self.marks = {
            "name": FieldMark(self.name_edit),
            "role": FieldMark(self.role_edit),
            "expertise": FieldMark(self.expertise_edit),
            "model": self.model_choice.mark,
            "tools": FieldMark(self.tools),
            "review": FieldMark(self.review),
            "max_steps": FieldMark(self.steps_spin),
        }
        self._filling = False
        self._build_layout()
        for signal in (
            self.name_edit.textEdited,
            self.role_edit.textChanged,
            self.expertise_edit.textEdited,
            self.model_choice.changed,
            self.tools.toggled,
            self.review.changed,
            self.steps_spin.valueChanged,
        ):
            signal.connect(self._changed)

    def _build_layout(self) -> None:
        form = QtWidgets.QFormLayout()
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(form)
        outer.addStretch(1)  # spare height goes below the form, not between its rows
        # Mnemonics keep clear of the window's menus and tabs (F R V H, T M C O), which a
        # clash would stop from opening.
        rows = (
            ("Nam&e", "name"),
            ("Ro&le", "role"),
            ("E&xpertise", "expertise"),
            ("Mo&del", "model"),
            ("Tool&s", "tools"),
            ("Revie&w", "review"),
            ("Ste&p limit", "max_steps"),
        )
        for label, field in rows:
            # The model's row holds the whole choice: the drop-down and its description.
            shown = self.model_choice if field == "model" else None
            add_row(form, label, self.marks[field], shown)
        # A step limit is a few digits; a field across the whole form would look odd.
        self.marks["max_steps"].frame.setMaximumWidth(self.fontMetrics().averageCharWidth() * 14)

    def set_catalog(self, entries: Sequence[CatalogEntry], budget_bytes: int) -> None:
        self.model_choice.set_catalog(entries, budget_bytes)

    def show_agent(self, agent: AgentDraft) -> None:
        """Fill the form with ``agent``; this is not an edit, so :attr:`edited` stays quiet."""
        self._filling = True
        try:
            self.name_edit.setText(agent.name)
            self.role_edit.setPlainText(agent.role)
            self.expertise_edit.setText(", ".join(agent.expertise))
            self.expertise_edit.setCursorPosition(0)  # show the start of a long list
            self.model_choice.set_reference(agent.model)
            self.tools.choose(agent.tools)
            self.review.choose(agent.review)
            self.steps_spin.setValue(agent.max_steps)
        finally:
            self._filling = False

    def agent(self) -> AgentDraft:
        """The agent as the form shows it now."""
        return AgentDraft(
            name=self.name_edit.text(),
            role=self.role_edit.toPlainText(),
            model=self.model_choice.reference(),
            expertise=keywords(self.expertise_edit.text()),
            tools=self.tools.chosen(),
            max_steps=self.steps_spin.value(),
            review=self.review.policy(),
        )

    def show_problems(self, problems: Mapping[str, str]) -> None:
        """Mark each field named in ``problems``; clear the marks of the others."""
        for field, mark in self.marks.items():
            mark.show(problems.get(field))

    def _changed(self) -> None:
        if not self._filling:
            self.edited.emit()
