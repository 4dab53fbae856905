"""The kinds of file the window opens and saves, and file dialogs opened without blocking the
event loop (``open()``, never ``exec()``): runs, reviews and model loads go on while one is
open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from purpose_desktop.ui.qt import QtWidgets


@dataclass(frozen=True)
class FileKind:
    """What a dialog offers: the filter of its list, and the suffix a saved file gets when
    the person types a name without one."""

    filter: str
    suffix: str


RUN_FILE = FileKind("Run files (*.jsonl);;All files (*)", "jsonl")
MEMORY_FILE = FileKind("Memory files (*.json);;All files (*)", "json")
TEAM_FILE = FileKind("Team files (*.yaml *.yml *.toml);;All files (*)", "yaml")
REPORT_FILE = FileKind("Web pages (*.html *.htm);;All files (*)", "html")


def ask_to_open(
    parent: QtWidgets.QWidget,
    title: str,
    folder: Path,
    kind: FileKind,
    chosen: Callable[[Path], object],
) -> QtWidgets.QFileDialog:
    """Ask for an existing file in ``folder``; ``chosen`` is called with it, if one is."""
    dialog = QtWidgets.QFileDialog(parent, title, str(folder), kind.filter)
    dialog.setFileMode(QtWidgets.QFileDialog.FileMode.ExistingFile)
    return _opened(dialog, chosen)


def ask_to_save(
    parent: QtWidgets.QWidget,
    title: str,
    suggested: Path,
    kind: FileKind,
    chosen: Callable[[Path], object],
) -> QtWidgets.QFileDialog:
    """Ask where to save, suggesting ``suggested``; ``chosen`` is called with the file (the
    dialog has asked before replacing one), if one is."""
    dialog = QtWidgets.QFileDialog(parent, title, str(suggested), kind.filter)
    dialog.setAcceptMode(QtWidgets.QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix(kind.suffix)
    return _opened(dialog, chosen)


def _opened(
    dialog: QtWidgets.QFileDialog, chosen: Callable[[Path], object]
) -> QtWidgets.QFileDialog:
    dialog.setObjectName("fileDialog")
    dialog.fileSelected.connect(lambda name: chosen(Path(name)))
    dialog.finished.connect(lambda _result: dialog.deleteLater())
    dialog.open()
    return dialog
