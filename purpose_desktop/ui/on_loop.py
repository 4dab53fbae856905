"""Starting asyncio work from Qt code that may run before the asyncio loop does.

The window is shown before the qasync loop starts (so it appears without waiting), and a pane
on the tab restored from the last session is shown with it. A task started then would be
bound to no running loop and never run; such work is put off to the loop's first turn.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

from purpose_desktop.ui.qt import QtCore, qasync


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


class _AppEventLoop(qasync.QEventLoop):  # type: ignore[misc]  # qasync has no type hints
    """qasync's loop with asyncio's async-generator hooks, which its ``run_forever`` leaves out.

    Without them an async generator left unfinished (the httpx streams of the Ollama and
    OpenAI-compatible clients, when a run is stopped mid-answer) is closed by the garbage
    collector wherever it happens to run, outside any task, and anyio then fails with
    "Attempted to exit cancel scope in a different task". With them the loop closes it in a task
    of its own, and ``asyncio.Runner`` closes the rest when the loop ends.
    """

    def run_forever(self) -> object:
        previous = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(
            firstiter=self._asyncgen_firstiter_hook, finalizer=self._asyncgen_finalizer_hook
        )
        try:
            return super().run_forever()
        finally:
            sys.set_asyncgen_hooks(*previous)


def new_event_loop(app: QtCore.QCoreApplication) -> asyncio.AbstractEventLoop:
    """The asyncio loop that runs on ``app``'s Qt event loop (for ``asyncio.Runner``)."""
    loop: asyncio.AbstractEventLoop = _AppEventLoop(app)
    return loop
