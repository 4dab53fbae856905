"""The servers part of the models pane: where Ollama listens, the OpenAI-compatible servers,
and what each backend answered when it was last probed."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from purpose_desktop.ui.models.parts import message_label, push_button
from purpose_desktop.ui.qt import QtCore, QtWidgets, Signal
from purpose_desktop.ui.theme import follow_font, meaning_colour

if TYPE_CHECKING:
    from purpose_desktop.models.probe import BackendReport

_VISIBLE_LINES = 5  # lines of backends shown before they scroll


class ServersBox(QtWidgets.QGroupBox):
    ollama_host_requested = Signal(str)
    """Where Ollama listens, as typed ("" for the default)."""
    add_server_requested = Signal()
    probe_requested = Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Servers", parent)
        self.ollama_host = QtWidgets.QLineEdit()
        self.ollama_host.setPlaceholderText("http://127.0.0.1:11434 (the default)")
        self.ollama_host.setToolTip(
            "Where Ollama listens; leave empty for $OLLAMA_HOST or this computer"
        )
        self.ollama_host.setAccessibleName("Ollama host")
        self.ollama_host.returnPressed.connect(self._ask_for_host)
        self.host_button = push_button(
            "Set", "Use this Ollama host and probe it", self._ask_for_host
        )
        self.add_server_button = push_button(
            "Add server…",
            "An OpenAI-compatible server (LM Studio, vLLM, llama-server), "
            "with its API key if it needs one",
            self.add_server_requested.emit,
        )
        self.probe_button = push_button(
            "Probe now",
            "Ask Ollama and every server what they offer now",
            self.probe_requested.emit,
        )
        controls = QtWidgets.QHBoxLayout()
        controls.addWidget(QtWidgets.QLabel("Ollama host:"))
        controls.addWidget(self.ollama_host, 1)
        controls.addWidget(self.host_button)
        controls.addSpacing(12)
        controls.addWidget(self.add_server_button)
        controls.addWidget(self.probe_button)

        # Reasons a server cannot be reached are sentences: wrapped lines read better than
        # cells cut off at the table's edge.
        self.backends = message_label("modelBackends", "Not probed yet.")
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.backends)
        lines = _VISIBLE_LINES + 2  # and a line's height of margins above and below
        follow_font(
            scroll, lambda: scroll.setFixedHeight(lines * scroll.fontMetrics().lineSpacing())
        )
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(scroll)
        self._reports: list[BackendReport] = []

    def set_ollama_host(self, host: str | None) -> None:
        self.ollama_host.setText(host or "")

    def show_probing(self) -> None:
        self.probe_button.setEnabled(False)
        self.probe_button.setText("Probing…")

    @property
    def reports(self) -> list[BackendReport]:
        """What each backend answered when last probed."""
        return list(self._reports)

    def show_reports(self, reports: Sequence[BackendReport]) -> None:
        self._reports = list(reports)
        self.probe_button.setEnabled(True)
        self.probe_button.setText("Probe now")
        self._render()

    def state_of(self, where: str) -> str:
        """The state shown for the backend at ``where`` ("" for none)."""
        return next((_state(report) for report in self._reports if report.where == where), "")

    def _render(self) -> None:
        colours = self.palette()
        self.backends.setText(
            "".join(
                f'<p style="margin: 0 0 4px 0"><b>{html.escape(report.backend)}</b> at '
                f"{html.escape(report.where)}: "
                f'<span style="color: {meaning_colour(_meaning(report), colours).name()}">'
                f"{html.escape(_state(report))}</span></p>"
                for report in self._reports
            )
        )

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.PaletteChange:
            self._render()

    def _ask_for_host(self) -> None:
        self.ollama_host_requested.emit(self.ollama_host.text().strip())


def _state(report: BackendReport) -> str:
    return f"reachable: {report.detail}" if report.reachable else f"not reachable: {report.detail}"


def _meaning(report: BackendReport) -> str:
    return "success" if report.reachable else "error"
