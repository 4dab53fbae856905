"""Where the application keeps its files, and the user's settings.

Every path the application writes is under one home folder: ``$PURPOSE_DESKTOP_HOME`` when it
is set, otherwise the platform's user data directory. Tests and portable installs point the
variable at a folder of their own and nothing is written anywhere else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purpose_desktop.errors import UserError

HOME_ENV = "PURPOSE_DESKTOP_HOME"
APP_NAME = "purpose-desktop"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Paths:
    """The files and folders of one installation, all below :attr:`home`."""

    home: Path

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Paths:
        """Paths below ``$PURPOSE_DESKTOP_HOME``, or the platform's user data directory."""
        override = environ.get(HOME_ENV, "").strip()
        if override:
            return cls(Path(override).expanduser().resolve())
        import platformdirs

        return cls(Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))

    @property
    def settings_file(self) -> Path:
        return self.home / "settings.json"

    @property
    def window_state_file(self) -> Path:
        return self.home / "window-state.ini"

    @property
    def database_file(self) -> Path:
        return self.home / "purpose-desktop.sqlite3"

    @property
    def prices_file(self) -> Path:
        """Money per million tokens for priced remote models, edited by the user."""
        return self.home / "prices.json"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def workspaces_dir(self) -> Path:
        return self.home / "workspaces"

    @property
    def teams_dir(self) -> Path:
        return self.home / "teams"

    @property
    def suites_dir(self) -> Path:
        """Benchmark suites the user added (YAML files), listed beside the built-in ones."""
        return self.home / "suites"

    @property
    def benchmarks_dir(self) -> Path:
        """Benchmark results (JSON) that the Benchmarks pane lists."""
        return self.home / "benchmarks"

    @property
    def workers_dir(self) -> Path:
        """Records of running model worker processes, to end them after a crash."""
        return self.home / "workers"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def log_file(self) -> Path:
        return self.logs_dir / "purpose-desktop.log"

    def ensure(self) -> None:
        """Create the home folder and its subfolders if they are missing."""
        for folder in (self.home, self.models_dir, self.workspaces_dir, self.teams_dir,
                       self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)


def default_threads() -> int:
    """Threads for local inference: every core but one on larger machines, at least two."""
    cores = os.cpu_count() or 2
    return max(2, min(cores - 1, 8)) if cores > 2 else cores


@dataclass(frozen=True)
class ServerSetting:
    """An OpenAI-compatible server the user added. Its API key, if any, is in the system
    keyring under ``name``, never here."""

    name: str
    base_url: str


@dataclass(frozen=True)
class Settings:
    """Preferences the user can change; stored as JSON in :attr:`Paths.settings_file`."""

    n_threads: int = dataclasses.field(default_factory=default_threads)
    context_size: int = 2048
    max_answer_tokens: int = 256
    model_memory_mib: int | None = None
    """How much memory loaded local models may use together; least recently used ones are
    unloaded to stay within it. ``None``: half of the machine's memory."""
    last_team_file: str | None = None
    ollama_host: str | None = None
    """Where Ollama listens; ``None``: ``$OLLAMA_HOST`` or http://127.0.0.1:11434."""
    servers: tuple[ServerSetting, ...] = ()
    store_url: str | None = None
    """Where runs and memory are stored: a SQLAlchemy URL (``postgresql://host/db`` to share
    memory across machines); ``None``: the SQLite file in the home folder. Leave a password
    out of it: PostgreSQL's client reads ``~/.pgpass`` or ``$PGPASSWORD``."""

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def load_settings(paths: Paths) -> Settings:
    """Read the settings file; a missing file gives defaults.

    A file that cannot be read as settings is kept aside (``settings.json.bad``) rather than
    overwritten, so nothing the user set is lost, and the defaults are used.
    """
    path = paths.settings_file
    if not path.exists():
        return Settings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise TypeError("settings must be a JSON object")
        return Settings(**_checked_values(raw))
    except (OSError, ValueError, TypeError) as exc:
        kept = path.with_name(path.name + ".bad")
        path.replace(kept)
        log.warning("Settings file %s could not be read (%s); kept it as %s", path, exc, kept)
        return Settings()


_POSITIVE_INTS = ("n_threads", "context_size", "max_answer_tokens")
_OPTIONAL_TEXTS = ("last_team_file", "ollama_host", "store_url")


def _valid(key: str, value: object) -> bool:
    if key in _POSITIVE_INTS:
        return type(value) is int and value > 0
    if key == "model_memory_mib":
        return value is None or (type(value) is int and value > 0)
    if key in _OPTIONAL_TEXTS:
        return value is None or isinstance(value, str)
    return False


def _servers(value: object) -> tuple[ServerSetting, ...]:
    entries = value if isinstance(value, list) else []
    if not isinstance(value, list):
        log.warning("Settings: 'servers' should be a list; ignored")
    servers = []
    for entry in entries:
        if (isinstance(entry, dict) and isinstance(entry.get("name"), str)
                and isinstance(entry.get("base_url"), str)):
            servers.append(ServerSetting(entry["name"], entry["base_url"]))
        else:
            log.warning("Settings: a server needs a name and a base_url; ignored %r", entry)
    return tuple(servers)


def _checked_values(raw: dict[str, Any]) -> dict[str, Any]:
    """The settings in ``raw`` that have the right type; each bad one is logged and left at
    its default, so one mistake in a hand-edited file costs nothing else."""
    known = {f.name for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "servers":
            values[key] = _servers(value)
        elif _valid(key, value):
            values[key] = value
        elif key in known:
            log.warning("Settings: %s = %r is not valid; the default is used", key, value)
    return values


def save_settings(paths: Paths, settings: Settings) -> None:
    """Write the settings atomically, so a crash mid-write never leaves a broken file."""
    paths.home.mkdir(parents=True, exist_ok=True)
    tmp = paths.settings_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(settings), indent=2), encoding="utf-8")
    tmp.replace(paths.settings_file)


def write_file_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, line endings as given) so that a crash midway
    leaves the old file or the new one, never half of one: the text goes to a file beside it,
    which is then renamed over it. :class:`UserError` saying why if it cannot be written;
    nothing is left behind then."""
    temporary = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
    try:
        temporary.write_bytes(text.encode("utf-8"))
        temporary.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # a folder that refused the file refuses this too
            temporary.unlink(missing_ok=True)
        raise UserError(f"Cannot write {path}: {exc.strerror or exc}") from None


def resources_dir() -> Path:
    """The folder of icons, style sheets and sample teams shipped with the application."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root is not None:
        return Path(frozen_root) / "resources"
    installed = Path(__file__).resolve().parent / "resources"  # inside an installed wheel
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "resources"  # a source checkout


def example_team_file() -> Path:
    """The sample team shown on first launch, using the bundled models."""
    return resources_dir() / "teams" / "example.yaml"
