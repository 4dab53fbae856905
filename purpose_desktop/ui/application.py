"""The Qt application and its asyncio loop (qasync): one loop runs the engine and the UI.

Start-up shows the window first and does everything slow (reading the team file, describing the
models) in background tasks afterwards, so the window appears at once. Shutdown cancels every
task, ends every model process and only then stops the loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.config import Paths, Settings
from purpose_desktop.ui.error_dialog import ErrorReporter
from purpose_desktop.ui.main_window import MainWindow
from purpose_desktop.ui.on_loop import new_event_loop
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal
from purpose_desktop.ui.quiet_collector import QuietCollector, freeze_start_up
from purpose_desktop.ui.review.gate import DialogReviewGate
from purpose_desktop.ui.review.pending import PendingReviewsList
from purpose_desktop.ui.run.controller import RunController
from purpose_desktop.ui.single_instance import InstanceServer, hand_over, server_name
from purpose_desktop.ui.tasks import TaskKeeper
from purpose_desktop.ui.theme import follow_system_theme, show_first_theme

if TYPE_CHECKING:
    from purpose_desktop.engine.costs import PriceTable
    from purpose_desktop.models.router import ModelRouter
    from purpose_desktop.services.front_end import Services
    from purpose_desktop.services.runs import RunsService
    from purpose_desktop.ui.run.controller import Runner

Shutdown = Callable[[], Awaitable[None]]

log = logging.getLogger(__name__)
qt_log = logging.getLogger("qt")


class _QtMessages:
    """Qt's own messages go to the log file. While the QApplication is being created they go
    to stderr as well: that is when Qt reports a platform it cannot start, just before it
    aborts, and the person at the terminal needs to see why."""

    def __init__(self) -> None:
        self.echo = True

    def __call__(
        self, kind: QtCore.QtMsgType, context: QtCore.QMessageLogContext, message: str
    ) -> None:
        levels = {
            QtCore.QtMsgType.QtDebugMsg: logging.DEBUG,
            QtCore.QtMsgType.QtInfoMsg: logging.INFO,
            QtCore.QtMsgType.QtWarningMsg: logging.WARNING,
        }
        level = levels.get(kind, logging.ERROR)
        qt_log.log(level, "%s", message)
        if self.echo and level >= logging.WARNING:
            print(message, file=sys.stderr, flush=True)


def create_qapplication(paths: Paths) -> QtWidgets.QApplication:
    # Qt's own widgets (the file dialog's history) keep settings too; they belong in the home
    # folder with everything else, not in ~/.config. (On Windows the native format is the
    # registry, which has no path to move.)
    formats = QtCore.QSettings.Format
    for settings_format in (formats.NativeFormat, formats.IniFormat):
        QtCore.QSettings.setPath(
            settings_format, QtCore.QSettings.Scope.UserScope, str(paths.home / "qt")
        )
    existing = QtWidgets.QApplication.instance()
    app = (
        existing
        if isinstance(existing, QtWidgets.QApplication)
        else (QtWidgets.QApplication(sys.argv[:1]))
    )
    app.setApplicationName("Purpose Desktop")
    app.setOrganizationName("Purpose Desktop")
    app.setDesktopFileName("purpose-desktop")
    # The loop, not Qt, decides when to quit: shutdown needs the loop to end model processes.
    app.setQuitOnLastWindowClosed(False)
    return app


def build_main_window(
    *,
    paths: Paths,
    settings: Settings,
    runner: Runner,
    reporter: ErrorReporter,
    services: Services | None = None,
    run_history: RunsService | None = None,
    models: Callable[[], ModelRouter] | None = None,
) -> MainWindow:
    """The main window with its controller, the review dialogs and the runs list wired, and
    the prices saved in the Costs pane charged from the next run on. Without ``services``
    the window reaches no database: nothing is recorded or shown."""
    tasks = TaskKeeper(reporter)
    review = DialogReviewGate()
    controller = RunController(runner, tasks, review=review, history=run_history)
    window = MainWindow(
        paths=paths,
        settings=settings,
        controller=controller,
        tasks=tasks,
        services=services,
        models=models,
        make_pending_reviews=lambda: PendingReviewsList(review),
    )
    review.show_over(window)
    collector = QuietCollector(window)
    controller.bridge.tokens.connect(collector.busy)
    controller.bridge.occurred.connect(collector.busy)

    def use_prices(prices: PriceTable) -> None:
        controller.runner.use_prices(prices)  # not before: that would make the runner now

    window.prices_saved.connect(use_prices)
    reporter.set_parent(window)
    return window


def run_application(
    *,
    paths: Paths,
    settings: Settings,
    runner: Runner,
    shutdown: Shutdown,
    quit_after_shown: float | None = None,
    services: Services | None = None,
    run_history: RunsService | None = None,
    models: Callable[[], ModelRouter] | None = None,
    add_models: Sequence[Path] = (),
) -> int:
    """Show the main window and run until it is closed; returns the exit code."""
    qt_messages = _QtMessages()
    QtCore.qInstallMessageHandler(qt_messages)
    app = create_qapplication(paths)
    qt_messages.echo = False
    instance_name = server_name(paths.home)
    if hand_over(instance_name, add_models):
        print(
            "Purpose Desktop is already open: "
            + ("the files went to its window." if add_models else "its window is in front.")
        )
        return 0
    show_first_theme(app)  # before the window is built: it first shows in the right theme
    reporter = ErrorReporter(None, paths.log_file)
    previous_hook = sys.excepthook
    sys.excepthook = reporter.excepthook
    # The window is built and shown before the asyncio loop starts, so it appears without
    # waiting for anything asynchronous; its background work starts with the loop.
    window = build_main_window(
        paths=paths,
        settings=settings,
        runner=runner,
        reporter=reporter,
        services=services,
        run_history=run_history,
        models=models,
    )
    window.show()
    freeze_start_up()
    _serve_later_starts(window, instance_name)
    QtCore.QTimer.singleShot(0, lambda: _after_shown(app, window, quit_after_shown))
    window.add_files_when_started(add_models)
    _close_on_termination_signals(window)
    try:
        with asyncio.Runner(loop_factory=lambda: new_event_loop(app)) as runner_loop:
            return runner_loop.run(_serve(window, reporter, shutdown))
    except RuntimeError as exc:
        # Qt ends its own loop when the display goes away (an X server that died, a remote
        # session that dropped); qasync then reports the unfinished run this way. Model
        # workers end by themselves when this process has gone.
        if "Event loop stopped before Future completed" not in str(exc):
            raise
        log.error("Qt stopped the event loop; the display was probably lost")
        print(
            "purpose-desktop: the connection to the display was lost, so the app closed.",
            file=sys.stderr,
        )
        return 1
    finally:
        sys.excepthook = previous_hook
        QtCore.qInstallMessageHandler(None)


async def _serve(window: MainWindow, reporter: ErrorReporter, shutdown: Shutdown) -> int:
    asyncio.get_running_loop().set_exception_handler(reporter.loop_exception_handler)
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    if window.has_closed:  # closed before the loop got here
        closed.set()
    await closed.wait()
    await window.stop_background_work()
    await shutdown()
    return 0


def _serve_later_starts(window: MainWindow, name: str) -> None:
    """Later starts of the app, and Finder on macOS, hand their files to this window, which
    comes to the front."""

    def take(files: list[Path]) -> None:
        window.bring_to_front()
        if files:
            window.models_controller.add_files(files)

    if sys.platform == "darwin":
        # Finder hands files to a running app as file-open events, not as arguments.
        opener = _FileOpenEvents(window)
        opener.files_received.connect(take)
        QtWidgets.QApplication.instance().installEventFilter(opener)
    server = InstanceServer(name, window)
    if not server.listen():
        return  # the app still works; a second start then opens a second window
    server.files_received.connect(take)
    window.closed.connect(server.close)


class _FileOpenEvents(QtCore.QObject):
    files_received = Signal(list)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.FileOpen and isinstance(event, QtGui.QFileOpenEvent):
            self.files_received.emit([Path(event.file())])
            return True
        return super().eventFilter(watched, event)


def _close_on_termination_signals(window: MainWindow) -> None:
    """Ctrl+C in a terminal, or a polite kill, closes the window and shuts down cleanly."""

    def close(signum: int, frame: object) -> None:
        QtCore.QTimer.singleShot(0, window.close_anyway)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, close)
    # Python runs signal handlers only between bytecodes; a slow tick lets it do so while
    # Qt's own loop is waiting for events.
    tick = QtCore.QTimer(window)
    tick.timeout.connect(lambda: None)
    tick.start(250)


def _after_shown(
    app: QtWidgets.QApplication, window: MainWindow, quit_after_shown: float | None
) -> None:
    if quit_after_shown is not None:
        # Read by the start-up benchmark: when the window was on screen, by the wall clock.
        print(json.dumps({"shown_at": time.time()}), flush=True)
        QtCore.QTimer.singleShot(int(quit_after_shown * 1000), window.close_anyway)
    follow_system_theme(app)
    window.start_background_work()
