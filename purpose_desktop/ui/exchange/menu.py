"""The File menu's imports and exports, as actions with their shortcuts and status tips."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

from purpose_desktop.ui.exchange.controller import Exchange
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, set_by_name

#: Export run… and Save run as report… have shortcuts; Ctrl+I is the Tools pane's import.
EXPORT_RUN_SHORTCUT = "Ctrl+E"
REPORT_SHORTCUT = "Ctrl+Shift+E"
IMPORT_RUN_SHORTCUT = "Ctrl+Shift+I"


@dataclass(frozen=True)
class ExchangeActions:
    """The File menu's imports and exports, in the order the menu lists them."""

    import_run: QtGui.QAction
    import_memory: QtGui.QAction
    import_team: QtGui.QAction
    export_run: QtGui.QAction
    save_report: QtGui.QAction
    export_memory: QtGui.QAction
    export_all_memory: QtGui.QAction
    export_team: QtGui.QAction

    def add_to(self, menu: QtWidgets.QMenu) -> None:
        """Add the imports, then the exports, each group after a separator."""
        for field in fields(self):
            if field.name in ("import_run", "export_run"):  # the first of each group
                menu.addSeparator()
            menu.addAction(getattr(self, field.name))


def exchange_actions(exchange: Exchange, parent: QtCore.QObject) -> ExchangeActions:
    """The actions of ``exchange``, owned by ``parent`` (the window). Without a database,
    only Export team… is enabled: the rest has nothing to read or write."""

    def action(
        text: str, tip: str, slot: Callable[[], None], shortcut: str = "", *, store: bool = True
    ) -> QtGui.QAction:
        made = QtGui.QAction(text, parent)
        if shortcut:
            set_by_name(made, "shortcut", shortcut)
            tip = f"{tip} ({shortcut})"
        made.setStatusTip(tip)
        made.setToolTip(tip)
        made.triggered.connect(lambda _checked=False: slot())
        made.setEnabled(exchange.recording or not store)
        return made

    return ExchangeActions(
        import_run=action(
            "&Import run…",
            "Add a run from a file 'runs export' or Export run… wrote",
            exchange.import_run,
            IMPORT_RUN_SHORTCUT,
        ),
        import_memory=action(
            "Import &memory…",
            "Merge a memory file into what the teams have learned",
            exchange.import_memory,
        ),
        import_team=action(
            "Import t&eam…",
            "Check a team file, save it in the database and open it",
            exchange.import_team,
        ),
        export_run=action(
            "E&xport run…",
            "Write the run selected in the Runs list (or the one shown) to a file",
            exchange.export_run,
            EXPORT_RUN_SHORTCUT,
        ),
        save_report=action(
            "Save run as &report…",
            "Save the run selected in the Runs list (or the one shown) as one HTML page",
            exchange.save_report,
            REPORT_SHORTCUT,
        ),
        export_memory=action(
            "Export memor&y…",
            "Write what the team shown in the Memory pane has learned to a file",
            exchange.export_memory,
        ),
        export_all_memory=action(
            "Export all teams' memory…",
            "Write what every team has learned to one file",
            lambda: exchange.export_memory(every_team=True),
        ),
        export_team=action(
            "Export &team…",
            "Write the current team, as saved, to a team file",
            exchange.export_team,
            store=False,
        ),
    )
