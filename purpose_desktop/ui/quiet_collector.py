"""Python's full garbage collections moved out of the moments when tokens stream.

A full collection (of the oldest generation) walks every object the interpreter tracks: with
the window, the engine and a few runs, 100,000 objects or more, which holds the event loop for
60 to 160 ms. Python starts one by itself whenever enough long-lived objects have piled up, and
during a run that is in the middle of a stream: ``bench ui`` saw its slowest frame go from
about 25 ms to 110 to 160 ms in one round of five, each time at such a collection.

Two things keep it out of the way. The objects start-up made (modules, the window's widgets),
which live as long as the app does, are frozen once the window is built, so no collection
walks them again. And once the window has had no event from a run for a second, a full
collection runs then, while nothing streams, if any objects have reached the oldest generation
since the last: what piles up during a run is collected after it, and rarely during the next.
"""

from __future__ import annotations

import gc

from purpose_desktop.ui.qt import QtCore

QUIET_MS = 1000
"""How long the window must go without a run's events before it collects."""


class QuietCollector(QtCore.QObject):
    """Runs a full garbage collection once :meth:`busy` has not been called for ``quiet_ms``."""

    def __init__(self, parent: QtCore.QObject | None = None, quiet_ms: int = QUIET_MS) -> None:
        super().__init__(parent)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(quiet_ms)
        self._timer.timeout.connect(self._collect)

    def busy(self, *_: object) -> None:
        """Something streamed: wait for another quiet spell before collecting."""
        self._timer.start()

    def _collect(self) -> None:
        # The third count is how many collections of the middle generation there have been
        # since the last full one: none means nothing new has reached the oldest.
        if gc.get_count()[2] > 0:
            gc.collect()


def freeze_start_up() -> None:
    """Leave every object that exists now out of all later collections.

    For the app's own start, once its window is built: those objects live until it quits.
    """
    gc.freeze()
