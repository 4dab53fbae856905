"""The composition root: builds the application's parts from settings (the store, the run
journal, the model manager, the runner and the services front ends use) and starts the GUI.

Only this module and :mod:`cli` choose concrete classes; everything below receives what it
needs. Importing this module stays cheap and Qt-free, so headless commands never load Qt.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.config import (
    STORE_URL_ENV,
    Paths,
    Settings,
    check_store_url,
    load_settings,
)
from purpose_desktop.errors import NoDisplayError, UserError
from purpose_desktop.models.orphans import end_orphaned_workers
from purpose_desktop.store.deferred import DeferredMemoryStore

if TYPE_CHECKING:
    from purpose_desktop.engine.loop.run import TeamRunner
    from purpose_desktop.engine.recording.trace_export import Tracing
    from purpose_desktop.engine.tools.mcp.tools import McpServers
    from purpose_desktop.models.router import ModelRouter
    from purpose_desktop.services.front_end import Services
    from purpose_desktop.services.tools import ToolsService
    from purpose_desktop.store.lazy_store import LazyStore
    from purpose_desktop.store.run_journal import SqlRunJournal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppParts:
    """Everything a front end (GUI or CLI) needs, wired together: the store opened on first
    use, the run journal, and (made when first asked for) the model manager, the runner and
    the services."""

    paths: Paths
    settings: Settings
    store: LazyStore
    journal: SqlRunJournal
    settings_problems: tuple[str, ...] = ()
    """What was wrong in the settings file (each value left at its default), one line each."""

    @functools.cached_property
    def models(self) -> ModelRouter:
        """The model manager, made the first time it is asked for (the window does not wait
        for the model layer to load)."""
        from purpose_desktop.models.memory import MIB
        from purpose_desktop.models.orphans import WorkerRecord
        from purpose_desktop.models.pool import LocalModelPool
        from purpose_desktop.models.router import ModelRouter

        settings, paths = self.settings, self.paths
        pool = LocalModelPool(
            paths.models_dir,
            n_ctx=settings.context_size,
            n_threads=settings.n_threads,
            memory_budget=None
            if settings.model_memory_mib is None
            else settings.model_memory_mib * MIB,
            record=WorkerRecord(paths.workers_dir),
        )
        return ModelRouter(
            pool,
            paths.models_dir,
            n_ctx=settings.context_size,
            ollama_host=settings.ollama_host,
            servers=settings.servers,
        )

    @functools.cached_property
    def runner(self) -> TeamRunner:
        """The engine's runner, made the first time it is asked for: that loads the engine,
        which the window does not wait for."""
        from purpose_desktop.engine.costs import load_prices
        from purpose_desktop.engine.loop.run import TeamRunner
        from purpose_desktop.engine.loop.tool_source import ToolSource

        return TeamRunner(
            self.models,
            DeferredMemoryStore(lambda: self.store.get().memory),
            workspaces_dir=self.paths.workspaces_dir,
            prices=load_prices(self.paths.prices_file),
            max_answer_tokens=self.settings.max_answer_tokens,
            journal=self.journal,
            tools=ToolSource(self._mcp_servers, user_tools=self.paths.user_tools_dir),
            approvals=self.services.permissions,
            observers=() if self.tracing is None else (self.tracing.observer,),
        )

    @functools.cached_property
    def tracing(self) -> Tracing | None:
        """The export of runs as OpenTelemetry traces, when the settings or the environment
        turn it on and its packages are installed (``build_app_parts`` said if they are not);
        made with the runner, so OpenTelemetry loads only then."""
        from purpose_desktop.engine.recording.trace_config import (
            tracing_config,
            tracing_installed,
        )

        config = tracing_config(self.settings)
        if config is None or not tracing_installed():
            return None
        from purpose_desktop import __version__
        from purpose_desktop.engine.recording.trace_export import Tracing

        log.info("Runs are traced to %s (turned on by %s)", config.endpoint, config.source)
        return Tracing(config, __version__)

    def _mcp_servers(self) -> McpServers:
        """The MCP servers of the home folder's ``mcp.json``, their processes recorded to be
        ended at the next start if the app is killed; made when a run first names one."""
        from purpose_desktop.engine.tools.mcp.config import load_mcp_config
        from purpose_desktop.engine.tools.mcp.tools import McpServers
        from purpose_desktop.models.orphans import WorkerRecord

        paths = self.paths
        return McpServers(
            load_mcp_config(paths.mcp_config_file),
            paths.logs_dir,
            WorkerRecord(paths.mcp_servers_dir),
        )

    @functools.cached_property
    def services(self) -> Services:
        """The services the window is handed, over the store."""
        import dataclasses

        from purpose_desktop.services.front_end import services_over

        services = services_over(self.store.get, self.paths.prices_file)
        return dataclasses.replace(services, tools=self._tools_service)

    def _tools_service(self) -> ToolsService:
        """The Tools pane's service, whose restart also stops the MCP servers the runs
        started (they start again, from mcp.json as it is then, when a run needs them)."""
        from purpose_desktop.services.tools import ToolsService

        return ToolsService(self.paths, stop_run_servers=self._stop_run_servers)

    async def _stop_run_servers(self) -> None:
        if "runner" in self.__dict__:  # made: it may hold MCP server processes
            await self.runner.aclose()

    async def aclose(self) -> None:
        """Stop the MCP servers the runs started, commit what the journal holds, close the
        database and end every model process. Safe to call more than once."""
        if "runner" in self.__dict__:  # made: it may hold MCP server processes
            await self.runner.aclose()
        if "models" in self.__dict__:  # made: it may hold model processes
            await self.models.aclose()
        tracing = self.__dict__.get("tracing")
        if tracing is not None:  # made: it may hold spans not sent yet
            await asyncio.to_thread(tracing.close)
        await asyncio.to_thread(self.journal.close)
        self.store.close()


def build_app_parts(paths: Paths | None = None) -> AppParts:
    paths = paths or Paths.from_environment()
    paths.ensure()
    configure_logging(paths)
    problems: list[str] = []
    settings = load_settings(paths, problems)
    problems.extend(_tracing_problems(settings))
    for problem in problems:
        log.warning("%s", problem)
    for folder in (paths.workers_dir, paths.mcp_servers_dir):
        end_orphaned_workers(folder)
    from purpose_desktop.store.lazy_store import LazyStore

    store = LazyStore(store_target(paths, settings))
    return AppParts(paths, settings, store, store.journal(), tuple(problems))


def _tracing_problems(settings: Settings) -> list[str]:
    """Tracing asked for (by the settings or an ``OTEL_*`` variable) without the packages
    that send traces: said at start-up, where the person looks, rather than silently not
    tracing."""
    from purpose_desktop.engine.recording.trace_config import (
        missing_extra_problem,
        tracing_config,
        tracing_installed,
    )

    config = tracing_config(settings)
    if config is None or tracing_installed():
        return []
    return [missing_extra_problem(config)]


def store_target(
    paths: Paths, settings: Settings, environ: Mapping[str, str] | None = None
) -> str | Path:
    """Where runs and memory are kept: ``$PURPOSE_DESKTOP_STORE_URL``, else the settings'
    store URL, else the SQLite file in the home folder. A URL the store cannot use raises
    :class:`UserError` naming where it was set: never a fallback to another database, where
    runs would seem to vanish."""
    env = os.environ if environ is None else environ
    from_env = env.get(STORE_URL_ENV, "").strip()
    if from_env:
        return check_store_url(from_env, STORE_URL_ENV)
    if settings.store_url is not None:
        return check_store_url(settings.store_url, f"{paths.settings_file}: store_url")
    return paths.database_file


def configure_logging(paths: Paths) -> None:
    """Log to a rotating file in the home folder, replacing a log file set up before."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _AppLogHandler):
            if handler.baseFilename == str(paths.log_file.resolve()):
                return
            root.removeHandler(handler)
            handler.close()
    _rotate(paths.log_file)
    handler = _AppLogHandler(paths.log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    threading.excepthook = _log_thread_exception


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    # Errors on helper threads (pipe readers, executors) would otherwise print and vanish.
    log.error(
        "Unexpected error in thread %s",
        getattr(args.thread, "name", "?"),
        exc_info=args.exc_value,
    )


class _AppLogHandler(logging.FileHandler):
    """The application's log file, told apart from handlers that others installed."""


def _rotate(log_file: Path, keep: int = 3, max_bytes: int = 2_000_000) -> None:
    """Start a new log file when the last one grew large, keeping ``keep`` old ones.

    Rotation happens at start-up only, so two processes (the app and a headless command)
    never rotate a file under each other's feet.
    """
    if not log_file.exists() or log_file.stat().st_size < max_bytes:
        return
    try:
        for index in range(keep - 1, 0, -1):
            older = log_file.with_name(f"{log_file.name}.{index}")
            if older.exists():
                older.replace(log_file.with_name(f"{log_file.name}.{index + 1}"))
        log_file.replace(log_file.with_name(f"{log_file.name}.1"))
    except OSError:
        pass  # another process has it open (Windows): rotate at a later start


def check_display(environ: Mapping[str, str] | None = None) -> None:
    """Raise :class:`NoDisplayError` on Linux when no display is there for a window, or when
    the X11 display lacks a system library Qt needs (Qt would abort without saying why)."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform and platform not in ("xcb", "wayland"):
        return  # offscreen, vnc, eglfs...: no desktop display needed
    if platform != "xcb" and env.get("WAYLAND_DISPLAY"):
        return
    if platform != "wayland" and env.get("DISPLAY"):
        _check_x11_libraries()
        return
    raise NoDisplayError(
        "No display found, so the window cannot open.\n"
        "  On a server or in CI, run it under a virtual display:  xvfb-run purpose-desktop\n"
        "  or with no window at all:  QT_QPA_PLATFORM=offscreen purpose-desktop\n"
        "Headless commands such as 'purpose-desktop run TEAM_FILE --task ...' need no display."
    )


# The system libraries Qt's X11 plugin links against (Debian package names).
X11_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 "
    "libxcb-shape0 libxcb-randr0 libxcb-xkb1 libxkbcommon-x11-0"
)


def _qt_xcb_plugin() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    plugin = root / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def _check_x11_libraries() -> None:
    # Loading Qt's X11 plugin ourselves first (about a millisecond) turns Qt's abort, whose
    # message often names the wrong library, into an error naming the one that is missing.
    plugin = _qt_xcb_plugin()
    if plugin is None:
        return
    import ctypes

    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        raise NoDisplayError(
            f"The window cannot open on this X11 display: a system library Qt needs is "
            f"missing ({exc}).\n"
            f"  Debian/Ubuntu:  sudo apt install {X11_PACKAGES}\n"
            "  Fedora:         sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms\n"
            "Or run without a window:  QT_QPA_PLATFORM=offscreen purpose-desktop"
        ) from None


def run_gui(quit_after_shown: float | None = None, add_models: Sequence[Path] = ()) -> int:
    """Start the desktop application and return its exit code when the window closes;
    ``add_models`` are GGUF files to add once the window is up (the app opened with them).
    A start that fails is shown in a dialog and logged: started from a desktop menu or a file
    manager, the app has no terminal to print to."""
    check_display()
    paths = Paths.from_environment()
    from purpose_desktop.services.runs import RunsService
    from purpose_desktop.ui.application import run_application
    from purpose_desktop.ui.error_dialog import report_start_failure

    try:
        parts = build_app_parts(paths)  # a store URL it cannot use is said in the dialog
        return run_application(
            paths=parts.paths,
            settings=parts.settings,
            runner=lambda: parts.runner,  # made with the first run
            shutdown=parts.aclose,
            quit_after_shown=quit_after_shown,
            services=parts.services,
            run_history=RunsService(parts.services.store),
            models=lambda: parts.models,  # made when the window's background work starts
            add_models=add_models,
        )
    except Exception as exc:
        report_start_failure(exc, paths.log_file)
        return exc.exit_code if isinstance(exc, UserError) else 1
