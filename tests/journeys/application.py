"""The application as a person starts it, for the journeys in this folder.

Each journey gets a fresh home folder, the parts the application builds from it (the real
model manager, whose bundled SmolLM2 runs in a worker process, and a real SQLite database),
and the main window wired as ``purpose-desktop`` wires it. The window is shown before the
event loop runs, and its background work starts on the loop's first turn, as at a real start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from purpose_desktop.app import AppParts, build_app_parts
from purpose_desktop.config import Paths
from purpose_desktop.services.runs import RunsService
from purpose_desktop.ui.application import build_main_window
from purpose_desktop.ui.error_dialog import ErrorReporter
from purpose_desktop.ui.main_window import MainWindow

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]
Screenshot = Callable[[Any, str], Path]


class App:
    """One start of the application in ``home``. :meth:`open` builds and shows the window;
    :meth:`shot` saves a picture of it (or of a dialog over it) for the journey's stage."""

    def __init__(self, home: Paths, screenshot: Screenshot, journey: str) -> None:
        self.paths = home
        self.parts: AppParts = build_app_parts(home)
        self.reporter = ErrorReporter(None, home.log_file)
        self._screenshot = screenshot
        self._journey = journey
        self._stage = 0
        self.outcomes: list[Any] = []
        """What each run of the window ended with, in order (``None``: cancelled or broke)."""
        self._window: MainWindow | None = None

    @property
    def window(self) -> MainWindow:
        assert self._window is not None, "open() the window first"
        return self._window

    def open(self) -> MainWindow:
        """The main window, wired as the application's own start wires it, on screen."""
        parts = self.parts
        window = build_main_window(
            paths=parts.paths,
            settings=parts.settings,
            runner=lambda: parts.runner,
            reporter=self.reporter,
            services=parts.services,
            run_history=RunsService(parts.services.store),
            models=lambda: parts.models,
        )
        window.resize(1280, 800)
        window.controller.finished.connect(self.outcomes.append)
        window.show()
        self._window = window
        return window

    def start(self) -> None:
        """What the application does once its loop runs: errors of tasks go to the error
        dialog, and the window's background work (the last team, the models) begins."""
        asyncio.get_running_loop().set_exception_handler(self.reporter.loop_exception_handler)
        self.window.start_background_work()

    def shot(self, stage: str, widget: Any = None) -> Path:
        """Save the window (or ``widget``) as the journey's next numbered stage."""
        self._stage += 1
        return self._screenshot(
            widget if widget is not None else self.window,
            f"journey-{self._journey}-{self._stage}-{stage}",
        )

    def close(self, run_in_qt_loop: RunInLoop) -> list[str]:
        """Close the window, then end what it started and what the services hold, as the
        application does when its window closes; the errors shown meanwhile (a task that
        raised opens an error dialog), in the words of their dialogs."""
        window = self._window
        if window is not None:
            # Outside the loop: the last window closing inside it would stop the loop.
            window.close_anyway()

        async def shut_down() -> None:
            if window is not None:
                await window.stop_background_work()
            await self.parts.aclose()

        run_in_qt_loop(shut_down())
        errors = [f"{box.text()}\n{box.detailedText()}" for box in self.reporter.open_dialogs]
        if window is not None:
            window.deleteLater()
        return errors
