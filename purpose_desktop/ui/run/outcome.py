"""The outcome of the run shown: how it ended, its answer to read, select and copy, and for a
run that did not complete or whose answer its final score doubts, why and what to do next."""

from __future__ import annotations

import html
from dataclasses import replace

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.dispatch import EventDispatcher
from purpose_desktop.engine.outcome_text import OutcomeReader, OutcomeReport
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, set_by_name
from purpose_desktop.ui.theme import meaning_colour

#: The shortcut that copies the answer while the outcome is shown.
COPY_SHORTCUT = "Ctrl+Shift+C"
#: The answer's box grows with the answer up to this many lines, then scrolls.
ANSWER_LINES = 6
#: How long the Copy button says "Copied" after a copy.
COPIED_MS = 1500

_MEANINGS = {"completed": "success", "failed": "error", "cancelled": "warning"}
_STYLE = (
    "#runOutcome { background: palette(alternate-base); border: 1px solid palette(mid);"
    " border-radius: 4px; }"
)


NOT_SAVED_ADVICE = (
    "Copy the answer to keep it. Check the disk and the database (Help ▸ About "
    "names the data folder), then start the app again."
)


class RunOutcome(QtWidgets.QFrame):
    """Hidden until a run ends; then its status, its answer if it gave one (:attr:`answer_view`,
    with :attr:`copy_button`) and, unless it completed with an answer its score does not
    doubt, why and what to do next.

    Fed every event of the run shown (:meth:`add_event`), live or replayed; :meth:`clear`
    forgets it when another run is shown. :attr:`copy_action` copies the answer with
    :data:`COPY_SHORTCUT` while the outcome is on screen.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runOutcome")
        self.setStyleSheet(_STYLE)
        self._reader = OutcomeReader()
        self.report: OutcomeReport | None = None
        """How the run shown ended; ``None`` while none has."""
        self._events = EventDispatcher()
        for begins in (ev.RunStarted, ev.RunResumed, ev.RunForked):
            self._events.on(begins, lambda _: self._hide())

        self.status_label = QtWidgets.QLabel()
        self.details_label = QtWidgets.QLabel()
        self.details_label.setForegroundRole(QtGui.QPalette.ColorRole.PlaceholderText)
        self.copy_button = QtWidgets.QPushButton("Copy")
        self.copy_button.setToolTip(f"Copy the answer ({COPY_SHORTCUT})")
        self.answer_view = QtWidgets.QPlainTextEdit()
        self.answer_view.setReadOnly(True)
        self.answer_view.setObjectName("runAnswer")
        self.answer_view.setAccessibleName("Answer")
        self.reason_label = QtWidgets.QLabel()
        self.advice_label = QtWidgets.QLabel()
        for label in (self.reason_label, self.advice_label):
            label.setWordWrap(True)
            set_by_name(label, "textInteractionFlags", "TextSelectableByMouse")
        self.copy_action = QtGui.QAction("Copy the answer", self)
        set_by_name(self.copy_action, "shortcut", COPY_SHORTCUT)
        self.addAction(self.copy_action)  # active while this widget is on screen
        self._copied = QtCore.QTimer(self)
        self._copied.setSingleShot(True)
        self._copied.setInterval(COPIED_MS)
        self._copied.timeout.connect(lambda: self.copy_button.setText("Copy"))
        self.copy_button.clicked.connect(self.copy_answer)
        self.copy_action.triggered.connect(lambda _=False: self.copy_answer())

        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.status_label)
        top.addWidget(self.details_label, 1)
        top.addWidget(self.copy_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.answer_view)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.advice_label)
        self.clear()

    # --- for callers ------------------------------------------------------------------

    def answer_text(self) -> str:
        """The answer of the run shown ("" before it ends, or when it gave none)."""
        return self.report.answer if self.report is not None else ""

    def status_text(self) -> str:
        """How the run shown ended ("Completed", "Failed" or "Cancelled"), or "No answer yet"
        while it has not."""
        return self.report.headline if self.report is not None else "No answer yet"

    def reason_text(self) -> str:
        """Why the run did not complete, or why its answer is doubtful ("" otherwise, or
        before it ends)."""
        return self.report.reason if self.report is not None else ""

    def advice_text(self) -> str:
        """What to do next about a run that did not complete or a doubtful answer ("" otherwise)."""
        return self.report.advice if self.report is not None else ""

    def add_event(self, event: ev.Event) -> None:
        """Take in the next event of the run shown; the run's end shows its outcome, and a
        resume or fork in a replayed record starts afresh."""
        report = self._reader.read(event)
        if report is not None:
            self.show_report(report)
        else:
            self._events.dispatch(event)

    def clear(self) -> None:
        """Forget the run shown and hide (another run is about to be shown)."""
        self._reader = OutcomeReader()
        self._hide()

    def copy_answer(self) -> None:
        """Put the answer on the clipboard (nothing happens while there is none)."""
        answer = self.answer_text()
        if not answer:
            return
        clipboard = QtGui.QGuiApplication.clipboard()
        clipboard.setText(answer)
        self.copy_button.setText("Copied")
        self._copied.start()

    # --- showing ----------------------------------------------------------------------

    def show_report(self, report: OutcomeReport) -> None:
        """Show ``report`` as the outcome of the run shown."""
        self.report = report
        meaning = "warning" if report.doubtful else _MEANINGS[report.status]
        colour = meaning_colour(meaning, self.palette()).name()
        self.status_label.setText(
            f"<b style='color: {colour}'>{html.escape(report.headline, quote=False)}</b>"
        )
        self.details_label.setText(html.escape(report.details, quote=False))
        self.answer_view.setPlainText(report.answer)
        self.answer_view.setVisible(bool(report.answer))
        self.copy_button.setEnabled(bool(report.answer))
        self.copy_button.setText("Copy")
        self.copy_action.setEnabled(bool(report.answer))
        self._copied.stop()
        for label, title, text in (
            (self.reason_label, "Why", report.reason),
            (self.advice_label, "What to do next", report.advice),
        ):
            label.setText(f"<b>{title}:</b> {html.escape(text, quote=False)}")
            label.setVisible(bool(text))
        self.show()
        self._fit_answer()

    def note_not_saved(self, problem: str) -> None:
        """Add to the outcome shown that the run's record could not be saved, and why (unless
        its reason says so already: a run ends as failed when its recording stops)."""
        if self.report is None or problem in self.report.reason:
            return
        self.show_report(
            replace(
                self.report,
                reason=" ".join(
                    filter(None, (self.report.reason, f"The run was not saved: {problem}"))
                ),
                # A failure's advice says what to do about it; a doubtful answer's is worth
                # keeping too, after how to keep the answer.
                advice=(
                    f"{NOT_SAVED_ADVICE} {self.report.advice}"
                    if self.report.doubtful
                    else self.report.advice or NOT_SAVED_ADVICE
                ),
            )
        )

    def _hide(self) -> None:
        self.report = None
        self.answer_view.clear()
        self.copy_action.setEnabled(False)
        self.hide()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_answer()  # wrapped at a new width, the answer takes more or fewer lines

    def _fit_answer(self) -> None:
        """Make the answer's box as tall as the answer, from one line to ANSWER_LINES."""
        view = self.answer_view
        metrics = view.fontMetrics()
        margins = view.contentsMargins()
        width = max(view.viewport().width() - 2 * int(view.document().documentMargin()), 1)
        text = view.toPlainText()
        # The view breaks lines between words, and a word too long for a line anywhere in it:
        # each way of measuring alone would count too few lines for some text.
        flags = QtCore.Qt.TextFlag
        height = max(
            metrics.boundingRect(0, 0, width, 10**6, wrap.value, text).height()
            for wrap in (flags.TextWordWrap, flags.TextWrapAnywhere)
        )
        lines = min(max(round(height / metrics.lineSpacing()), 1), ANSWER_LINES)
        # Two pixels to spare: without them the view counts its last line as cut off, and
        # offers to scroll to it.
        view.setFixedHeight(
            lines * metrics.lineSpacing()
            + margins.top()
            + margins.bottom()
            + 2 * int(view.document().documentMargin())
            + 2
        )
