"""Engine events into Qt signals, with tokens coalesced to about 40 frames a second.

A fast model emits hundreds of tokens a second; repainting for each would freeze the window.
Tokens are buffered per agent and released on a frame timer; any other event first flushes the
buffer, so views always see events in the order the engine emitted them. Reasoning a model
writes apart from its answer (``ThinkingStreamed``) is coalesced the same way, on a signal of
its own, so views can keep it apart from the answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from purpose_desktop.ui.qt import QtCore, Signal

if TYPE_CHECKING:
    from purpose_desktop.engine.events import Event

FRAME_MS = 25


class EventBridge(QtCore.QObject):
    """A subscriber for the engine's event stream that re-emits on Qt signals."""

    tokens = Signal(str, str)
    """An agent's name and the text it produced since the last frame."""
    thinking = Signal(str, str)
    """An agent's name and the reasoning it wrote since the last frame."""
    occurred = Signal(object)
    """Any event other than a token or reasoning, as the engine emitted it."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: dict[str, list[str]] = {}
        self._pending_thinking: dict[str, list[str]] = {}
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.flush)

    def __call__(self, event: Event) -> None:
        # Imported here: the window is made before the engine is loaded.
        from purpose_desktop.engine.events import ThinkingStreamed, TokenStreamed

        if isinstance(event, TokenStreamed | ThinkingStreamed):
            pending = self._pending if isinstance(event, TokenStreamed) else self._pending_thinking
            pending.setdefault(event.agent, []).append(event.text)
            if not self._timer.isActive():
                self._timer.start()
            return
        self.flush()
        self.occurred.emit(event)

    def flush(self) -> None:
        self._timer.stop()
        # Reasoning first: within a frame, a model's reasoning comes before its answer.
        thinking, self._pending_thinking = self._pending_thinking, {}
        for agent, pieces in thinking.items():
            self.thinking.emit(agent, "".join(pieces))
        pending, self._pending = self._pending, {}
        for agent, pieces in pending.items():
            self.tokens.emit(agent, "".join(pieces))
