"""The composition root: builds the services from settings and starts the GUI.

Only this module and :mod:`cli` choose concrete classes; everything below receives what it
needs. Importing this module stays cheap and Qt-free, so headless commands never load Qt.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from dataclasses import dataclass

from purpose_desktop.config import Paths, Settings, load_settings
from purpose_desktop.engine.run import TeamRunner
from purpose_desktop.errors import NoDisplayError
from purpose_desktop.models.pool import LocalModelPool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """Everything a front end (GUI or CLI) needs, wired together."""

    paths: Paths
    settings: Settings
    models: LocalModelPool
    runner: TeamRunner

    async def aclose(self) -> None:
        """End every model process. Safe to call more than once."""
        await self.models.aclose()


def build_services(paths: Paths | None = None) -> Services:
    paths = paths or Paths.from_environment()
    paths.ensure()
    configure_logging(paths)
    settings = load_settings(paths)
    models = LocalModelPool(
        paths.models_dir, n_ctx=settings.context_size, n_threads=settings.n_threads
    )
    runner = TeamRunner(models, max_answer_tokens=settings.max_answer_tokens)
    return Services(paths, settings, models, runner)


def configure_logging(paths: Paths) -> None:
    """Log to a rotating file in the home folder; warnings also go to stderr."""
    root = logging.getLogger()
    if any(getattr(h, "purpose_desktop", False) for h in root.handlers):
        return
    file_handler = logging.handlers.RotatingFileHandler(
        paths.log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    file_handler.purpose_desktop = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)


def check_display(environ: dict[str, str] | None = None) -> None:
    """Raise :class:`NoDisplayError` on Linux when no display is there for a window."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return
    raise NoDisplayError(
        "No display found, so the window cannot open.\n"
        "  On a server or in CI, run it under a virtual display:  xvfb-run purpose-desktop\n"
        "  or with no window at all:  QT_QPA_PLATFORM=offscreen purpose-desktop\n"
        "Headless commands such as 'purpose-desktop run TEAM_FILE --task ...' need no display."
    )


def run_gui(quit_after_shown: float | None = None) -> int:
    """Start the desktop application and return its exit code when the window closes."""
    check_display()
    services = build_services()
    from purpose_desktop.ui.application import run_application

    return run_application(
        paths=services.paths,
        settings=services.settings,
        runner=services.runner,
        shutdown=services.aclose,
        quit_after_shown=quit_after_shown,
    )
