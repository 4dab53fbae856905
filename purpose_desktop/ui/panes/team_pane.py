"""The team pane: which team is open and the agents in it."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from purpose_desktop.ui.qt import QtWidgets, set_by_name
from purpose_desktop.ui.widgets import read_only_table

if TYPE_CHECKING:
    from purpose_desktop.engine.specs import LoadedTeam

COLUMNS = ("Agent", "Model", "Expertise", "Tools", "Review", "Step limit", "Role")


class TeamPane(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QtWidgets.QLabel("No team open")
        self.title.setObjectName("paneTitle")
        self.source = QtWidgets.QLabel("")
        set_by_name(self.source, "textInteractionFlags", "TextSelectableByMouse")
        self.description = QtWidgets.QLabel("")
        self.description.setWordWrap(True)
        self.open_button = QtWidgets.QPushButton("Open team…")
        self.open_button.setToolTip("Open a team file (Ctrl+O)")
        self.agents = read_only_table(COLUMNS)

        header = QtWidgets.QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.open_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.source)
        layout.addWidget(self.description)
        layout.addWidget(self.agents, 1)

    def show_team(self, team: LoadedTeam) -> None:
        spec = team.spec
        self.title.setText(f"<h2>{html.escape(spec.name)}</h2>")
        self.source.setText(str(team.source) if team.source else "")
        self.description.setText(spec.description)
        self.agents.setRowCount(len(spec.agents))
        for row, agent in enumerate(spec.agents):
            values = (
                agent.name,
                agent.model,
                ", ".join(agent.expertise),
                ", ".join(agent.tools) or "none",
                agent.review.value,
                str(agent.max_steps),
                agent.role,
            )
            for column, value in enumerate(values):
                self.agents.setItem(row, column, QtWidgets.QTableWidgetItem(value))
        self.agents.resizeColumnsToContents()
