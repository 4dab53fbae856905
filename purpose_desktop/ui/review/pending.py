"""The reviews waiting for the person, listed so that none is lost behind another window.

The run pane embeds it; clicking a review (or pressing Enter on it) brings its dialog to the
front.
"""

from __future__ import annotations

from typing import Final

from purpose_desktop.ui.accessibility import describe
from purpose_desktop.ui.qt import QtWidgets
from purpose_desktop.ui.review.gate import DialogReviewGate, PendingReview

EMPTY_TEXT: Final = "No reviews waiting"
_KIND_WORDS: Final = {"action": "Approve", "score": "Score"}


def _item_text(review: PendingReview) -> str:
    return f"{_KIND_WORDS[review.kind]} — {review.title}"


class PendingReviewsList(QtWidgets.QWidget):
    """The gate's pending reviews, oldest first, kept up to date as they come and go."""

    def __init__(self, gate: DialogReviewGate, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._gate = gate
        self.caption = QtWidgets.QLabel(EMPTY_TEXT)
        self.caption.setWordWrap(True)
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("pendingReviews")
        self.list.setAlternatingRowColors(True)
        describe(
            self.list,
            "Reviews waiting",
            "The reviews waiting for you, oldest first; Enter brings up the selected one",
        )
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.list, 1)
        # Takes the room only while the list is hidden: the caption stays at the top.
        layout.addStretch(0)
        # A click raises the dialog at once; itemActivated covers Enter (and double-click).
        self.list.itemClicked.connect(self._raise_item)
        self.list.itemActivated.connect(self._raise_item)
        gate.pending_changed.connect(self._refresh)
        self._refresh()

    def texts(self) -> list[str]:
        """The lines shown, in order."""
        return [self.list.item(row).text() for row in range(self.list.count())]

    def _refresh(self) -> None:
        pending = self._gate.pending
        self.list.clear()
        for review in pending:
            item = QtWidgets.QListWidgetItem(_item_text(review))
            item.setToolTip(f"Run {review.run_id[:8]}: bring up this review's dialog")
            self.list.addItem(item)
        count = len(pending)
        self.caption.setText(
            f"{count} review{'s' if count > 1 else ''} waiting: click one to bring up its dialog"
            if count
            else EMPTY_TEXT
        )
        self.list.setVisible(bool(count))

    def _raise_item(self, item: QtWidgets.QListWidgetItem) -> None:
        self._gate.raise_pending(self.list.row(item))
