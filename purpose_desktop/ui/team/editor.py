"""The team editor: the team's own fields, its agents, and the form of the chosen agent.

It holds the :class:`TeamDraft` being edited and checks it after every change, marking each
invalid field where it is, and says whether the team's local models fit the memory budget
together. Files, saving and asking before losing changes are the team pane's business.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import replace

from purpose_desktop.engine.team_fit import TeamFit, model_uses, models_fit
from purpose_desktop.models.catalog import CatalogEntry
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal, set_by_name
from purpose_desktop.ui.team.agent_form import AgentForm
from purpose_desktop.ui.team.approvals import ApprovalsBox
from purpose_desktop.ui.team.draft import (
    AGENTS,
    DraftCheck,
    TeamDraft,
    agent_problems,
    check_draft,
    new_team_draft,
    with_new_agent,
)
from purpose_desktop.ui.team.model_choice import FITS_COLOUR, ModelChoice, suggested_model
from purpose_desktop.ui.widgets.builders import read_only_table
from purpose_desktop.ui.widgets.field_marks import (
    ERROR_COLOUR,
    FORM_STYLE,
    FieldMark,
    add_row,
    error_label,
    show_error,
)

AGENT_COLUMNS = ("Agent", "Model", "Review")
PROBLEM_COLOUR = QtGui.QColor("#c62828")


class TeamEditor(QtWidgets.QWidget):
    """Edits a team; :attr:`edited` fires on every change the person makes."""

    edited = Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(FORM_STYLE)
        self.name_edit = QtWidgets.QLineEdit()
        self.name_edit.setObjectName("teamName")
        self.description_edit = QtWidgets.QLineEdit()
        self.description_edit.setObjectName("teamDescription")
        self.description_edit.setPlaceholderText("What the team is for (optional)")
        self.default_model = ModelChoice("None: each agent's own model")
        self.default_model.setToolTip(
            "The model of the agent that takes a task nobody's expertise fits"
        )
        self.marks = {
            "name": FieldMark(self.name_edit, "The team's name, shown in the title and in runs"),
            "description": FieldMark(self.description_edit, "What the team is for (optional)"),
            "default_model": self.default_model.mark,
        }
        self.agents = read_only_table(AGENT_COLUMNS)
        self.agents.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.agents.setAccessibleName("Agents")
        self.agents.setAccessibleDescription(
            "The team's agents with their models; select one to edit it on the right"
        )
        header = self.agents.horizontalHeader()
        for column in range(len(AGENT_COLUMNS) - 1):
            header.setSectionResizeMode(column, header.ResizeMode.ResizeToContents)
        self.agents_error = error_label()
        self.fit_label = QtWidgets.QLabel("")
        self.fit_label.setObjectName("teamFit")
        self.fit_label.setWordWrap(True)
        self.fit_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        set_by_name(self.fit_label, "textInteractionFlags", "TextSelectableByMouse")
        # Mnemonics keep clear of the window's menus and tabs, as in the agent form.
        self.add_button = QtWidgets.QPushButton("&Add agent")
        self.remove_button = QtWidgets.QPushButton("Remove a&gent")
        self.form = AgentForm()
        self.approvals = ApprovalsBox()
        self.approvals.hide()  # until the pane can read them
        self.agent_box = QtWidgets.QGroupBox("Agent")
        self._draft = new_team_draft("")
        self._check = check_draft(self._draft)
        self._catalog: tuple[Sequence[CatalogEntry], int] = ((), 0)
        self._catalog_known = False
        self._fit: TeamFit | None = None
        self._build_layout()
        self._connect()

    def _build_layout(self) -> None:
        team_form = QtWidgets.QFormLayout()
        add_row(team_form, "Team &name", self.marks["name"])
        add_row(team_form, "Descr&iption", self.marks["description"])
        add_row(team_form, "Defa&ult model", self.marks["default_model"], self.default_model)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        left = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(team_form)
        column.addWidget(QtWidgets.QLabel("<b>Agents</b>"))
        column.addWidget(self.agents, 1)
        column.addWidget(self.agents_error)
        column.addWidget(self.fit_label)
        column.addLayout(buttons)
        column.addWidget(self.approvals)

        scroll = _FormScroll()
        scroll.setAccessibleDescription("The selected agent's settings")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.form)
        QtWidgets.QVBoxLayout(self.agent_box).addWidget(scroll)
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.agent_box)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def _connect(self) -> None:
        self.name_edit.textEdited.connect(self._team_edited)
        self.description_edit.textEdited.connect(self._team_edited)
        self.default_model.changed.connect(self._team_edited)
        self.agents.itemSelectionChanged.connect(self._show_selected)
        self.add_button.clicked.connect(self.add_agent)
        self.remove_button.clicked.connect(self.remove_agent)
        self.form.edited.connect(self._agent_edited)

    # --- what callers use --------------------------------------------------------------

    @property
    def check(self) -> DraftCheck:
        """The check of the draft as it is now: its spec when valid, and its problems."""
        return self._check

    def draft(self) -> TeamDraft:
        return self._draft

    def show_draft(self, draft: TeamDraft) -> None:
        """Show ``draft`` with its first agent chosen; not an edit, so :attr:`edited` stays
        quiet."""
        self._draft = draft
        self.name_edit.setText(draft.name)
        self.description_edit.setText(draft.description)
        self.description_edit.setCursorPosition(0)
        self.default_model.set_reference(draft.default_model)
        self.agents.setRowCount(len(draft.agents))
        self._recheck()
        self._select(0)

    @property
    def fit(self) -> TeamFit | None:
        """Whether the team's local models fit the memory budget together, as shown; ``None``
        until the catalog is known."""
        return self._fit

    def set_catalog(self, entries: Sequence[CatalogEntry], budget_bytes: int) -> None:
        self._catalog = (entries, budget_bytes)
        self._catalog_known = True
        self.default_model.set_catalog(entries, budget_bytes)
        self.form.set_catalog(entries, budget_bytes)
        self._show_fit()

    def suggested_model(self) -> str:
        """The team's default model, or the catalog's best fit: what a new agent starts on."""
        return self._draft.default_model or suggested_model(*self._catalog)

    def add_agent(self) -> None:
        """Add an agent on :meth:`suggested_model`, choose it and put the cursor on its name."""
        self._draft = with_new_agent(self._draft, self.suggested_model())
        self.agents.setRowCount(len(self._draft.agents))
        self._changed()
        self._select(len(self._draft.agents) - 1)
        self.form.name_edit.setFocus()
        self.form.name_edit.selectAll()

    def remove_agent(self) -> None:
        """Remove the chosen agent and choose the one that takes its place in the list."""
        index = self.selected_index()
        if index is None:
            return
        agents = self._draft.agents
        self._draft = replace(self._draft, agents=agents[:index] + agents[index + 1 :])
        self.agents.setRowCount(len(self._draft.agents))
        self._changed()
        self._select(min(index, len(self._draft.agents) - 1))

    def selected_index(self) -> int | None:
        rows = self.agents.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    # --- keeping the draft, the table and the marks together ---------------------------

    def _team_edited(self) -> None:
        self._draft = replace(
            self._draft,
            name=self.name_edit.text(),
            description=self.description_edit.text(),
            default_model=self.default_model.reference(),
        )
        self._changed()

    def _agent_edited(self) -> None:
        index = self.selected_index()
        if index is None:
            return
        agents = list(self._draft.agents)
        agents[index] = self.form.agent()
        self._draft = replace(self._draft, agents=tuple(agents))
        self._changed()

    def _changed(self) -> None:
        self._recheck()
        self.edited.emit()

    def _recheck(self) -> None:
        self._check = check_draft(self._draft)
        problems = self._check.problems
        for field, mark in self.marks.items():
            mark.show(problems.get((field,)))
        show_error(self.agents_error, problems.get(AGENTS, ""))
        for row in range(len(self._draft.agents)):
            self._fill_row(row)
        index = self.selected_index()
        if index is not None:
            self.form.show_problems(agent_problems(problems, index))
        self.remove_button.setEnabled(index is not None)
        self._show_fit()

    def _show_fit(self) -> None:
        # Worked out from the catalog already in memory, so no file is read here: a model
        # file the catalog does not hold is said to be not measured (the CLI's check reads it).
        if not self._catalog_known:
            self._fit = None
            self.fit_label.setText("Reading the models…")
            return
        draft = self._draft
        uses = model_uses(
            [(agent.name, agent.model) for agent in draft.agents],
            draft.router.model or draft.default_model,
        )
        entries, budget = self._catalog
        fit = models_fit(draft.name.strip() or "Untitled team", uses, entries, budget)
        self._fit = fit
        head, *rest = (html.escape(line.strip()) for line in fit.lines)
        if fit.fits or fit.total_bytes > budget:
            colour = FITS_COLOUR if fit.fits else ERROR_COLOUR
            head = f'<span style="color:{colour}">{head}</span>'
        self.fit_label.setText(head + "".join(f"<br>{line}" for line in rest))

    def _fill_row(self, row: int) -> None:
        agent = self._draft.agents[row]
        problems = agent_problems(self._check.problems, row)
        tip = "\n".join(problems.values())
        for column, text in enumerate((agent.name, agent.model, agent.review)):
            item = self.agents.item(row, column)
            if item is None:
                item = QtWidgets.QTableWidgetItem()
                self.agents.setItem(row, column, item)
            item.setText(text)
            item.setToolTip(tip)
            # The table shows which agent needs attention even while another is in the form.
            item.setForeground(PROBLEM_COLOUR if problems else self.palette().text())

    def _select(self, row: int) -> None:
        if row < 0:
            self.agents.clearSelection()
            self._show_selected()
        else:
            self.agents.selectRow(row)
            self._show_selected()  # also when the row was chosen already

    def _show_selected(self) -> None:
        index = self.selected_index()
        self.agent_box.setEnabled(index is not None)
        self.remove_button.setEnabled(index is not None)
        if index is None:
            self.agent_box.setTitle("Agent")
            return
        self.agent_box.setTitle(f"Agent {index + 1} of {len(self._draft.agents)}")
        self.form.show_agent(self._draft.agents[index])
        self.form.show_problems(agent_problems(self._check.problems, index))


class _FormScroll(QtWidgets.QScrollArea):
    """A scroll area that gives its form the height the form's width needs.

    Qt sizes a scroll area's widget by its size hint, which does not count the extra lines
    of wrapped text at the width it gets (the tools' descriptions): rows would be squeezed
    and their last lines cut off once the form scrolls.
    """

    def setWidget(self, widget: QtWidgets.QWidget) -> None:
        super().setWidget(widget)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if watched is self.widget() and event.type() == QtCore.QEvent.Type.LayoutRequest:
            self._fit()
        return super().eventFilter(watched, event)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        widget = self.widget()
        if widget is not None and widget.hasHeightForWidth():
            widget.setMinimumHeight(widget.heightForWidth(self.viewport().width()))
