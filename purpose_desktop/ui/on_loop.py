"""Starting asyncio work from Qt code that may run before the asyncio loop does.

The window is shown before the qasync loop starts (so it appears without waiting), and a pane
on the tab restored from the last session is shown with it. A task started then would be
bound to no running loop and never run; such work is put off to the loop's first turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from purpose_desktop.ui.qt import QtCore


def loop_running() -> bool:
    """Whether an asyncio loop runs in this thread (tasks can be started)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def call_on_loop(context: QtCore.QObject, call: Callable[[], object]) -> None:
    """Call ``call`` now if the asyncio loop runs, otherwise on the event loop's first turn;
    not at all if ``context`` is deleted before then."""
    if loop_running():
        call()
    else:
        QtCore.QTimer.singleShot(0, context, call)
