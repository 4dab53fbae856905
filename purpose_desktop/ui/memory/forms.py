"""The form that edits a heuristic, or injects a new one written by a person.

It is not modal and never blocks the event loop: Save hands the draft to whoever opened the
form (:attr:`HeuristicForm.submitted`), which writes it off the loop and then either closes
the form or shows why the write failed. Until then the form keeps everything typed in it, so a
full disk or a locked database costs the person nothing but a second Save.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from purpose_desktop.engine.learning.memory import Heuristic, Tier
from purpose_desktop.ui.qt import QtGui, QtWidgets, Signal
from purpose_desktop.ui.theme import follow_font, meaning_colour


@dataclass(frozen=True)
class HeuristicDraft:
    """What the form holds: the parts of a heuristic a person writes."""

    tier: Tier
    pattern: str
    strategy: str
    pinned: bool

    @classmethod
    def of(cls, heuristic: Heuristic) -> HeuristicDraft:
        return cls(heuristic.tier, heuristic.pattern, heuristic.strategy, heuristic.pinned)


class HeuristicForm(QtWidgets.QDialog):
    """Tier, pattern, strategy and pin of one heuristic. Ctrl+Enter saves, Esc cancels."""

    submitted = Signal(object)
    """A :class:`HeuristicDraft` to save; the form waits for :meth:`saved` or
    :meth:`show_error`."""

    def __init__(
        self,
        parent: QtWidgets.QWidget | None,
        *,
        title: str,
        intro: str,
        draft: HeuristicDraft | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("heuristicForm")
        self.setWindowTitle(title)
        self.setMinimumWidth(520)
        self.intro = QtWidgets.QLabel(intro)
        self.intro.setWordWrap(True)
        self.tier_box = QtWidgets.QComboBox()
        for tier in Tier:
            self.tier_box.addItem(tier.value.capitalize(), tier)
        self.tier_box.setToolTip(
            "Strategic: how to approach a kind of task. Procedural: which "
            "steps work, in which order. Tool: how to call one tool well."
        )
        self.pattern_edit = QtWidgets.QPlainTextEdit()
        self.pattern_edit.setPlaceholderText("When… (the situation this applies to)")
        self.strategy_edit = QtWidgets.QPlainTextEdit()
        self.strategy_edit.setPlaceholderText("Do… (what to do then)")
        self.pattern_edit.setAccessibleDescription("When the heuristic applies: the situation")
        self.strategy_edit.setAccessibleDescription("What to do in that situation")
        for edit, lines in ((self.pattern_edit, 3), (self.strategy_edit, 5)):
            edit.setTabChangesFocus(True)
            follow_font(edit, functools.partial(_fit_lines, edit, lines))
        self.pinned_box = QtWidgets.QCheckBox(
            "Pinned: put it before the others whenever it fits the situation"
        )
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("heuristicFormMessage")
        self.message.setWordWrap(True)
        self.save_button = QtWidgets.QPushButton("Save")
        self.save_button.setDefault(True)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self._lay_out()
        chosen = draft or HeuristicDraft(Tier.PROCEDURAL, "", "", pinned=False)
        self.tier_box.setCurrentIndex(list(Tier).index(chosen.tier))
        self.pattern_edit.setPlainText(chosen.pattern)
        self.strategy_edit.setPlainText(chosen.strategy)
        self.pinned_box.setChecked(chosen.pinned)
        self._saving = False
        self.pattern_edit.textChanged.connect(self._update)
        self.strategy_edit.textChanged.connect(self._update)
        self.save_button.clicked.connect(self._save)
        self.cancel_button.clicked.connect(self.reject)
        save_shortcut = QtGui.QShortcut(QtGui.QKeySequence("Ctrl+Return"), self)
        save_shortcut.activated.connect(self._save)
        self._update()
        self.pattern_edit.setFocus()

    def _lay_out(self) -> None:
        form = QtWidgets.QFormLayout()
        form.addRow("&Tier", self.tier_box)
        form.addRow("&Pattern", self.pattern_edit)
        form.addRow("&Strategy", self.strategy_edit)
        form.addRow("", self.pinned_box)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addLayout(buttons)

    def draft(self) -> HeuristicDraft:
        return HeuristicDraft(
            Tier(self.tier_box.currentData()),
            self.pattern_edit.toPlainText().strip(),
            self.strategy_edit.toPlainText().strip(),
            self.pinned_box.isChecked(),
        )

    def saved(self) -> None:
        """The draft is stored: the form closes."""
        self._saving = False
        self.accept()

    def show_error(self, message: str) -> None:
        """The draft could not be stored: say why, and let the person try again."""
        self._saving = False
        self._say(message, "error")
        self._update_button()

    def _save(self) -> None:
        if not self.save_button.isEnabled():
            return
        self._saving = True
        self._say("Saving…", "hint")
        self._update_button()
        self.submitted.emit(self.draft())

    def _update(self) -> None:
        draft = self.draft()
        missing = [
            name
            for name, value in (("pattern", draft.pattern), ("strategy", draft.strategy))
            if not value
        ]
        self._say(f"Write the {' and the '.join(missing)}." if missing else "", "hint")
        self._update_button()

    def _update_button(self) -> None:
        draft = self.draft()
        self.save_button.setEnabled(bool(draft.pattern and draft.strategy) and not self._saving)

    def _say(self, text: str, meaning: str) -> None:
        self.message.setText(text)
        colours = self.message.palette()
        colours.setColor(QtGui.QPalette.ColorRole.WindowText, meaning_colour(meaning))
        self.message.setPalette(colours)


def _fit_lines(edit: QtWidgets.QPlainTextEdit, lines: int) -> None:
    """Make ``edit`` ``lines`` lines of its font tall."""
    edit.setFixedHeight(edit.fontMetrics().lineSpacing() * lines + 14)
