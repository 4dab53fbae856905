"""Engine events into Qt signals, with tokens coalesced to about 40 frames a second.

A fast model emits hundreds of tokens a second; repainting for each would freeze the window.
Tokens are buffered per agent and released on a frame timer; any other event first flushes the
buffer, so views always see events in the order the engine emitted them.
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
    occurred = Signal(object)
    """Any event other than a token, as the engine emitted it."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: dict[str, list[str]] = {}
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.flush)

    def __call__(self, event: Event) -> None:
        # Imported here: the window is made before the engine is loaded.
        from purpose_desktop.engine.events import TokenStreamed

        if isinstance(event, TokenStreamed):
            self._pending.setdefault(event.agent, []).append(event.text)
            if not self._timer.isActive():
                self._timer.start()
            return
        self.flush()
        self.occurred.emit(event)

    def flush(self) -> None:
        self._timer.stop()
        pending, self._pending = self._pending, {}
        for agent, pieces in pending.items():
            self.tokens.emit(agent, "".join(pieces))
