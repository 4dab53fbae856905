"""The GUI's review gate: each review the engine asks for opens a dialog and waits for it.

:class:`DialogReviewGate` implements the engine's ``ReviewGate`` protocol. A review opens a
non-modal dialog (:mod:`purpose_desktop.ui.review.dialogs`) and awaits a future that the
dialog's ``decided`` signal resolves, so the event loop runs on while the person thinks: other
agents stream, other reviews open beside it. The reviews waiting are listed in
:attr:`DialogReviewGate.pending` for :class:`~purpose_desktop.ui.review.pending.
PendingReviewsList`, so a dialog hidden behind another window is not lost.

When the run is cancelled while a review waits, the awaiting task is cancelled: its dialog
closes and leaves the list, and no decision is reported. Closing a dialog with the window's
close button rejects an action ("closed without a decision") and keeps a critic's score.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeVar

from purpose_desktop.ui.qt import QtCore, QtWidgets, Signal

if TYPE_CHECKING:
    # Loaded with the first review rather than with the window: the engine's review module
    # brings the team specs (pydantic) and the dialogs bring jsonschema.
    from purpose_desktop.engine.review import (
        ActionDecision,
        ActionReviewRequest,
        ScoreDecision,
        ScoreReviewRequest,
    )
    from purpose_desktop.ui.review.dialogs import ReviewDialog

CASCADE_PX: Final = 28
"""How far each further open dialog is moved down and right, so none hides another."""
T = TypeVar("T")
ReviewKind = Literal["action", "score"]


@dataclass(frozen=True)
class PendingReview:
    """A review waiting for the person: whose, which step, of what, and a one-line title."""

    run_id: str
    agent: str
    step: int
    kind: ReviewKind
    title: str


def action_title(request: ActionReviewRequest) -> str:
    """``solver, step 2: call calculator`` (or ``finish``, ``delegate to checker``)."""
    action = request.action
    if request.tool is not None:
        what = f"call {action.tool}"
    elif "agent" in action.arguments:
        what = f"{action.tool} to {action.arguments['agent']}"
    else:
        what = action.tool
    return f"{request.agent}, step {request.step}: {what}"


def score_title(request: ScoreReviewRequest) -> str:
    """``solver, step 2: Φ 0 → 4``."""
    return f"{request.agent}, step {request.step}: Φ {request.phi_before:g} → {request.phi:g}"


@dataclass(frozen=True)
class _Waiting:
    review: PendingReview
    dialog: ReviewDialog


class DialogReviewGate(QtCore.QObject):
    """Answers the engine's reviews from dialogs shown over ``parent`` (the main window).

    Several reviews may wait at once (several runs or agents); each has its own dialog.
    """

    pending_changed = Signal()
    """A review started or ended waiting: :attr:`pending` changed."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._window = parent
        self._waiting: list[_Waiting] = []

    def show_over(self, window: QtWidgets.QWidget) -> None:
        """Open the dialogs of later reviews over ``window`` (a window made after the gate)."""
        self._window = window
        self.setParent(window)

    @property
    def pending(self) -> tuple[PendingReview, ...]:
        """The reviews waiting, oldest first."""
        return tuple(waiting.review for waiting in self._waiting)

    def dialog_at(self, index: int) -> QtWidgets.QDialog:
        """The dialog of ``pending[index]``."""
        return self._waiting[index].dialog

    def raise_pending(self, index: int) -> None:
        """Bring the dialog of ``pending[index]`` to the front, shown and focused; nothing if
        that review has ended meanwhile."""
        if 0 <= index < len(self._waiting):
            self._bring_up(self._waiting[index].dialog)

    async def review_action(self, request: ActionReviewRequest) -> ActionDecision:
        from purpose_desktop.engine.review import ActionDecision
        from purpose_desktop.ui.review.dialogs import ActionReviewDialog

        review = PendingReview(
            request.run_id, request.agent, request.step, "action", action_title(request)
        )
        return await self._ask(ActionReviewDialog(request, self._window), review, ActionDecision)

    async def review_score(self, request: ScoreReviewRequest) -> ScoreDecision:
        from purpose_desktop.engine.review import ScoreDecision
        from purpose_desktop.ui.review.dialogs import ScoreReviewDialog

        review = PendingReview(
            request.run_id, request.agent, request.step, "score", score_title(request)
        )
        return await self._ask(ScoreReviewDialog(request, self._window), review, ScoreDecision)

    async def _ask(self, dialog: ReviewDialog, review: PendingReview, answer: type[T]) -> T:
        """Show ``dialog``, list it as pending, and wait for its decision. Cancelled, the
        dialog closes unanswered."""
        decision: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        def decided(value: object) -> None:
            # Off the list at once: the task that awaits goes on only at the loop's next turn.
            self._forget(dialog)
            if decision.done():
                return
            if isinstance(value, answer):
                decision.set_result(value)
            else:
                decision.set_exception(TypeError(f"A review dialog decided {value!r}."))

        dialog.decided.connect(decided)
        self._waiting.append(_Waiting(review, dialog))
        self._open(dialog)
        self.pending_changed.emit()
        try:
            return await decision
        finally:
            self._forget(dialog)
            dialog.withdraw()
            dialog.deleteLater()

    def _open(self, dialog: QtWidgets.QDialog) -> None:
        # show(), not open(): open() makes the dialog window-modal, which would lock the main
        # window (and the list of pending reviews) while it waits.
        others = len(self._waiting) - 1
        dialog.show()
        if others:
            dialog.move(dialog.pos() + QtCore.QPoint(CASCADE_PX, CASCADE_PX) * others)
        self._bring_up(dialog)

    @staticmethod
    def _bring_up(dialog: QtWidgets.QDialog) -> None:
        dialog.setWindowState(dialog.windowState() & ~QtCore.Qt.WindowState.WindowMinimized)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _forget(self, dialog: ReviewDialog) -> None:
        kept = [waiting for waiting in self._waiting if waiting.dialog is not dialog]
        if len(kept) != len(self._waiting):
            self._waiting = kept
            self.pending_changed.emit()
