"""The form for one agent: name, role, expertise, model, tools, review policy, step limit."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from purpose_desktop.engine.review import server_of
from purpose_desktop.engine.specs import ReviewPolicy
from purpose_desktop.engine.tools.base import Tool
from purpose_desktop.engine.tools.builtin import BUILTIN_TOOLS
from purpose_desktop.models.catalog import CatalogEntry
from purpose_desktop.ui.qt import QtCore, QtWidgets, Signal
from purpose_desktop.ui.team.draft import AgentDraft
from purpose_desktop.ui.team.model_choice import ModelChoice
from purpose_desktop.ui.theme import follow_font
from purpose_desktop.ui.widgets.field_marks import FieldMark, add_row, error_label, show_error

#: The ``source`` of a built-in tool (``ToolsService``'s ``BUILT_IN``).
BUILT_IN_SOURCE: Final = "built-in"
#: The ``source`` of one of the person's own tools.
USER_SOURCE: Final = "user"
#: How much of a tool's description its row shows.
ABOUT_CHARS: Final = 240
#: The widest the column of tool names gets; a longer name is cut there.
NAME_COLUMN_PX: Final = 260
_TOP = QtCore.Qt.AlignmentFlag.AlignTop


@dataclass(frozen=True)
class OfferedTool:
    """A tool the form offers: as ``ToolsService`` lists it (``source`` is
    :data:`BUILT_IN_SOURCE`, :data:`USER_SOURCE` or an MCP server's name)."""

    name: str
    description: str
    source: str
    risky: bool


def _source_title(source: str) -> str:
    if source == BUILT_IN_SOURCE:
        return "Built-in"
    if source == USER_SOURCE:
        return "Your tools"
    return f"MCP server “{source}”"


# Wider than the spec allows, so a step limit out of range is shown as a mistake at the
# field rather than silently changed by the spin box.
STEP_LIMIT_RANGE = (0, 999)


def _risky_names() -> str:
    return ", ".join(tool.name for tool in BUILTIN_TOOLS if tool.risky)


REVIEW_EXPLANATIONS: Mapping[ReviewPolicy, str] = {
    ReviewPolicy.ALWAYS: "A person approves every action before it runs.",
    ReviewPolicy.RISKY: (
        f"A person approves calls of risky tools ({_risky_names()}, and MCP tools their "
        "server does not say are read-only or non-destructive); the rest run at once."
    ),
    ReviewPolicy.NEVER: "Every action runs without asking.",
}


def keywords(text: str) -> tuple[str, ...]:
    """``"maths, sums,, "`` as ``("maths", "sums")``."""
    return tuple(word.strip() for word in text.split(",") if word.strip())


class ToolChecklist(QtWidgets.QFrame):
    """A check box per tool, each with what the tool does, grouped by where it comes from:
    built in, the person's own, each MCP server's.

    The built-in tools are there at once; :meth:`set_listing` adds the others when their
    listing arrives (:meth:`show_loading` says it is on its way, :meth:`show_problems` what
    went wrong). A tool the agent names that the listing lacks stays, ticked, with a
    warning that it is not available.
    """

    toggled = Signal()
    reload_requested = Signal()
    """The person asked to list the tools again (after changing ``mcp.json``, say)."""

    def __init__(self, tools: Sequence[Tool], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("agentTools")
        self.boxes: dict[str, QtWidgets.QCheckBox] = {}
        self.warnings: dict[str, QtWidgets.QLabel] = {}
        """The warning beside each ticked tool that is not available, by its name."""
        self._order: list[str] = []
        self._offered: list[OfferedTool] = [
            OfferedTool(tool.name, tool.description, BUILT_IN_SOURCE, tool.risky) for tool in tools
        ]
        self._listed = False  # whether the full listing arrived (else only built-ins)
        self._failed = False  # whether listing them failed (only built-ins, for now)
        self.status = QtWidgets.QLabel("")
        self.status.setObjectName("toolsStatus")
        self.status.setWordWrap(True)
        self.status.setProperty("hint", True)
        self.problems = error_label()
        self.problems.setObjectName("toolsProblems")
        self.reload_button = QtWidgets.QPushButton("Reload tools")
        self.reload_button.setToolTip(
            "Ask your tool files and the MCP servers for their tools again. Until mcp.json "
            "or a tool file changes, they are offered as they were last listed."
        )
        self.reload_button.clicked.connect(lambda _=False: self.reload_requested.emit())
        self.reload_button.hide()  # until something can be reloaded
        self.reload_button.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Fixed, QtWidgets.QSizePolicy.Policy.Fixed
        )
        self._list = QtWidgets.QVBoxLayout()
        self._list.setContentsMargins(0, 0, 0, 0)
        self._name_width = 0
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addStretch(0)
        top.addWidget(self.reload_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.problems)
        layout.addLayout(self._list)
        self.status.hide()
        self._rebuild()

    # --- what the form and the pane use ------------------------------------------------

    def chosen(self) -> tuple[str, ...]:
        """The ticked tools: those shown by :meth:`choose` in their order, then the others."""
        # Kept in the order the team file has them, so looking is not a change.
        ticked = [name for name, box in self.boxes.items() if box.isChecked()]
        shown = [name for name in self._order if name in ticked]
        return (*shown, *(name for name in ticked if name not in shown))

    def choose(self, names: Sequence[str]) -> None:
        """Tick ``names`` (and only them); a name no listed tool has gets a row of its own."""
        self._order = list(names)
        if any(name not in self.boxes for name in names) or self.warnings:
            self._rebuild(set(names))
        for name, box in self.boxes.items():
            box.setChecked(name in names)

    def show_loading(self) -> None:
        """Say that the person's and the MCP servers' tools are being listed."""
        self.status.setText("Looking for your tools and the MCP servers' tools…")
        self.status.show()
        self.reload_button.setEnabled(False)
        self.reload_button.show()

    def set_listing(self, tools: Sequence[OfferedTool], problems: Sequence[str] = ()) -> None:
        """Offer ``tools`` (every tool an agent can be given, built-in ones included) and say
        what kept a source from giving its tools."""
        self._offered = list(tools)
        self._listed, self._failed = True, False
        self.status.hide()
        self.reload_button.setEnabled(True)
        self.reload_button.show()
        show_error(self.problems, "\n".join(problems))
        self._rebuild()

    def show_problems(self, problem: str) -> None:
        """The listing failed (``mcp.json`` is not valid, say): the built-in tools stay."""
        self.status.hide()
        self.reload_button.setEnabled(True)
        self.reload_button.show()
        show_error(self.problems, f"Only the built-in tools can be offered: {problem}")
        self._failed = True
        self._rebuild()

    def source_of(self, name: str) -> str | None:
        """Where the tool ``name`` comes from (:data:`BUILT_IN_SOURCE`, ``user`` or its
        server's name), or ``None`` when it is not offered."""
        return next((tool.source for tool in self._offered if tool.name == name), None)

    # --- the rows ------------------------------------------------------------------------

    def _rebuild(self, ticked: set[str] | None = None) -> None:
        """Lay the rows out again, ticking ``ticked`` (by default, what is ticked now)."""
        if ticked is None:
            ticked = {name for name, box in self.boxes.items() if box.isChecked()}
        while self._list.count():
            item = self._list.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self.boxes, self.warnings = {}, {}
        offered = {tool.name for tool in self._offered}
        missing = list(dict.fromkeys(n for n in (*self._order, *ticked) if n not in offered))
        # One width for the names' column, so the descriptions line up across the groups.
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(n) for n in (*offered, *missing)), default=0)
        self._name_width = min(widest + metrics.height() * 3, NAME_COLUMN_PX)
        groups: dict[str, list[OfferedTool]] = {}
        for tool in self._offered:
            groups.setdefault(tool.source, []).append(tool)
        for source, tools in groups.items():
            self._heading(_source_title(source))
            for tool in tools:
                self._tool_row(tool.name, self._about(tool), ticked)
        if missing:
            self._heading("Named by the agent")
            for name in missing:
                warning = self._tool_row(name, self._missing_text(name), ticked | set(self._order))
                warning.setProperty("fieldError", self._listed or self._failed)
                warning.setProperty("hint", not (self._listed or self._failed))
                self.warnings[name] = warning
        if self.boxes:
            self.setFocusProxy(next(iter(self.boxes.values())))  # for the label's mnemonic

    def _heading(self, text: str) -> None:
        self._list.addWidget(QtWidgets.QLabel(f"<b>{html.escape(text)}</b>"))

    def _tool_row(self, name: str, about: str, ticked: set[str]) -> QtWidgets.QLabel:
        """A tool's check box and, beside it, ``about``; returns the label of ``about``."""
        # A row of its own rather than a grid's: a box layout gives a wrapped description
        # the height its width needs, where a grid's row can cut its last line.
        row = QtWidgets.QWidget()
        line = QtWidgets.QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        box = QtWidgets.QCheckBox(name.replace("&", "&&"))
        box.setChecked(name in ticked)
        box.setToolTip(name)
        box.toggled.connect(self.toggled)
        label = QtWidgets.QLabel(about)
        label.setTextFormat(QtCore.Qt.TextFormat.RichText)  # also when it holds no tag
        label.setWordWrap(True)
        label.setProperty("hint", True)
        line.addWidget(box, 0, _TOP)
        # Spacing rather than a wider box: a click beside a box's text does not tick it.
        line.addSpacing(max(0, self._name_width - box.sizeHint().width()))
        line.addWidget(label, 1)
        self._list.addWidget(row)
        self.boxes[name] = box
        return label

    def _missing_text(self, name: str) -> str:
        if self._failed:
            return "⚠ Not available: the tools beyond the built-in ones could not be listed."
        if not self._listed:
            return "Looked for when the tools are listed (or when a run starts)."
        server = server_of(name)
        if server is not None and server not in {tool.source for tool in self._offered}:
            where = f"there is no MCP server '{server}' with tools (see mcp.json)"
        elif server is not None:
            where = f"the MCP server '{server}' offers no such tool"
        else:
            where = "no built-in tool or tool of yours has this name"
        return f"⚠ Not available: {html.escape(where)}. A run of this team is refused until it is."

    @staticmethod
    def _about(tool: OfferedTool) -> str:
        description = tool.description.strip()
        if len(description) > ABOUT_CHARS:
            description = description[: ABOUT_CHARS - 1].rstrip() + "…"
        text = html.escape(description)
        return text + (" <b>Risky</b>: reviewed under the “risky” policy." if tool.risky else "")


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
            button.setAccessibleName(f"Review {policy.value}")  # the word alone says little
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
            "name": FieldMark(self.name_edit, "The agent's name, unique in the team"),
            "role": FieldMark(self.role_edit, "The agent's instructions (its system prompt)"),
            "expertise": FieldMark(
                self.expertise_edit,
                "Keywords, separated by commas, that route work to this agent",
            ),
            "model": self.model_choice.mark,
            "tools": FieldMark(self.tools),
            "review": FieldMark(self.review),
            "max_steps": FieldMark(
                self.steps_spin, "The most steps the agent takes on one task (1 to 200)"
            ),
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
        follow_font(self, self._fit_to_font)

    def _fit_to_font(self) -> None:
        metrics = self.fontMetrics()
        self.role_edit.setFixedHeight(metrics.lineSpacing() * 4 + 12)
        # A step limit is a few digits; a field across the whole form would look odd.
        self.marks["max_steps"].frame.setMaximumWidth(metrics.averageCharWidth() * 14)

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
