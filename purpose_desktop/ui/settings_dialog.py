"""File ▸ Settings…: the preferences kept in the home folder's ``settings.json`` that are not
set elsewhere in the window (the text size is in the View menu; the Ollama address, other
servers and the memory budget for models in the Models pane, where they apply at once).

The models, the database and tracing are set up when the app starts, so a change takes effect
at the next start; the dialog says so, and the window keeps the new values until then. It is
opened with ``open()`` and never blocks the event loop; Save reports what changed through
:attr:`SettingsDialog.changed`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from purpose_desktop.config import SETTING_RANGES, STORE_URL_ENV, Settings, check_store_url
from purpose_desktop.engine.recording.trace_config import tracing_config
from purpose_desktop.errors import UserError
from purpose_desktop.ui.qt import QtWidgets, Signal
from purpose_desktop.ui.widgets.addresses import address_problem
from purpose_desktop.ui.widgets.field_marks import FORM_STYLE, FieldMark, add_row

RESTART_NOTE = "Changes take effect the next time the app starts."
ELSEWHERE_NOTE = (
    "The Ollama address, other servers and the memory for models are set in the Models pane; "
    "the text size in the View menu."
)


def optional_address_problem(url: str, example: str) -> str | None:
    """Why ``url`` is not an http(s) address; "" (none given) is fine."""
    return address_problem(url, example) if url else None


def store_problem(url: str) -> str | None:
    """Why ``url`` cannot be the database ("" is the home folder's, which is fine), or
    ``None``."""
    if not url:
        return None
    try:
        check_store_url(url, "The database")
    except UserError as exc:
        return str(exc)
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None  # a port that is not a number: the database's own error says so
    if password:
        return (
            "Leave the password out: the settings file is plain text. PostgreSQL reads it from "
            "~/.pgpass or $PGPASSWORD."
        )
    return None


def environment_notes(environ: Mapping[str, str]) -> list[str]:
    """What in ``environ`` overrides the settings the dialog sets, one line each."""
    notes = []
    if environ.get(STORE_URL_ENV, "").strip():
        notes.append(f"{STORE_URL_ENV} is set: the app uses it instead of the database here.")
    traced = tracing_config(Settings(), environ)
    if traced is not None:
        notes.append(f"{traced.source} is set: runs are traced to it whatever is chosen here.")
    elif tracing_config(Settings(tracing=True), environ) is None:
        notes.append("Tracing is turned off in the environment (OpenTelemetry's variables).")
    return notes


def _spin(key: str, suffix: str = "") -> QtWidgets.QSpinBox:
    spin = QtWidgets.QSpinBox()
    spin.setRange(*SETTING_RANGES[key])
    spin.setSuffix(suffix)
    spin.setGroupSeparatorShown(True)
    return spin


class SettingsDialog(QtWidgets.QDialog):
    """The settings of ``settings``, to change. Save emits :attr:`changed` with the settings
    that differ (by :class:`~purpose_desktop.config.Settings` field name) and closes; Cancel
    and Esc close it with nothing changed."""

    changed = Signal(dict)
    """The changed settings, as keyword arguments of ``Settings.replace``."""

    def __init__(
        self,
        settings: Settings,
        parent: QtWidgets.QWidget | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """``environ`` (``os.environ`` by default) is read for variables that override a
        setting, which the dialog names."""
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.setStyleSheet(FORM_STYLE)
        self.setMinimumWidth(560)
        self._settings = settings
        self.threads = _spin("n_threads")
        self.context_size = _spin("context_size", " tokens")
        self.answer_tokens = _spin("max_answer_tokens", " tokens")
        self.store_url = QtWidgets.QLineEdit()
        self.store_url.setPlaceholderText("the SQLite file in the home folder")
        self.tracing = QtWidgets.QCheckBox("&Export every run as OpenTelemetry traces")
        self.tracing_endpoint = QtWidgets.QLineEdit()
        self.tracing_endpoint.setPlaceholderText("http://localhost:4318/v1/traces")
        self.tracing_contents = QtWidgets.QCheckBox(
            "Include the conte&nts: tasks, answers, tool arguments and results"
        )
        self._marks = {
            "store_url": FieldMark(
                self.store_url,
                "Where runs and memory are kept: sqlite:////PATH/FILE.sqlite3 or "
                "postgresql://HOST/DATABASE; leave a password out",
            ),
            "tracing_endpoint": FieldMark(self.tracing_endpoint, "A collector's OTLP/HTTP URL"),
        }
        overrides = environment_notes(os.environ if environ is None else environ)
        self.note = QtWidgets.QLabel(" ".join([RESTART_NOTE, ELSEWHERE_NOTE, *overrides]))
        self.note.setProperty("hint", True)
        self.note.setWordWrap(True)
        self._buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Save
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self._buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Save)
        self._lay_out()
        self._show(settings)
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)
        self.store_url.textChanged.connect(lambda _text: self._check_store())
        self.tracing_endpoint.textChanged.connect(lambda _text: self._check_tracing())
        self.tracing.toggled.connect(lambda _on: self._check_tracing())
        self._check_store()
        self._check_tracing()

    def _lay_out(self) -> None:
        models = QtWidgets.QFormLayout()
        models.addRow("&Threads", self.threads)
        models.addRow("Context si&ze", self.context_size)
        models.addRow("&Answer tokens", self.answer_tokens)
        storage = QtWidgets.QFormLayout()
        add_row(storage, "&Database", self._marks["store_url"])
        tracing = QtWidgets.QFormLayout()
        tracing.addRow(self.tracing)
        add_row(tracing, "Co&llector", self._marks["tracing_endpoint"])
        tracing.addRow(self.tracing_contents)
        layout = QtWidgets.QVBoxLayout(self)
        for title, form in (("Models", models), ("Storage", storage), ("Tracing", tracing)):
            box = QtWidgets.QGroupBox(title)
            box.setLayout(form)
            layout.addWidget(box)
        layout.addWidget(self.note)
        layout.addWidget(self._buttons)
        cores = os.cpu_count()
        self.threads.setToolTip(
            "Threads each local model computes with"
            + (f"; this machine has {cores} cores" if cores else "")
        )
        self.context_size.setToolTip("How many tokens a local model reads at once")
        self.answer_tokens.setToolTip("The most tokens an agent may write in one step")

    def _show(self, settings: Settings) -> None:
        self.threads.setValue(settings.n_threads)
        self.context_size.setValue(settings.context_size)
        self.answer_tokens.setValue(settings.max_answer_tokens)
        self.store_url.setText(settings.store_url or "")
        self.tracing.setChecked(settings.tracing)
        self.tracing_endpoint.setText(settings.tracing_endpoint or "")
        self.tracing_contents.setChecked(settings.tracing_contents)

    def values(self) -> dict[str, Any]:
        """Every setting the dialog holds, as it holds it now."""
        return {
            "n_threads": self.threads.value(),
            "context_size": self.context_size.value(),
            "max_answer_tokens": self.answer_tokens.value(),
            "store_url": self.store_url.text().strip() or None,
            "tracing": self.tracing.isChecked(),
            "tracing_endpoint": self.tracing_endpoint.text().strip() or None,
            "tracing_contents": self.tracing_contents.isChecked(),
        }

    def changes(self) -> dict[str, Any]:
        """The settings that differ from those the dialog was opened with."""
        return {
            key: value
            for key, value in self.values().items()
            if getattr(self._settings, key) != value
        }

    def _check_store(self) -> None:
        # Only when the address changes: the check looks at the disk for a SQLite folder.
        self._marks["store_url"].show(store_problem(self.store_url.text().strip()))
        self._allow_save()

    def _check_tracing(self) -> None:
        on = self.tracing.isChecked()
        # Checked only while tracing is on: the field cannot be edited otherwise.
        endpoint = self.tracing_endpoint.text().strip() if on else ""
        problem = optional_address_problem(endpoint, "http://localhost:4318/v1/traces")
        self._marks["tracing_endpoint"].show(problem)
        self.tracing_endpoint.setEnabled(on)
        self.tracing_contents.setEnabled(on)
        self._allow_save()

    def _allow_save(self) -> None:
        self.save_button.setEnabled(not self._invalid())

    def _invalid(self) -> bool:
        return any(mark.problem for mark in self._marks.values())

    def accept(self) -> None:
        if self._invalid():
            return
        changes = self.changes()
        if changes:
            self.changed.emit(changes)
        super().accept()
