"""Small widget builders shared by the panes."""

from __future__ import annotations

from collections.abc import Sequence

from purpose_desktop.ui.qt import QtWidgets


def read_only_table(columns: Sequence[str]) -> QtWidgets.QTableWidget:
    """A table of whole-row selections that the user reads but does not edit in place."""
    table = QtWidgets.QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setStretchLastSection(True)
    table.setAlternatingRowColors(True)
    return table
