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
from datetime import datetime
from pathlib import Path
from typing import Any

from purpose_desktop.errors import UserError
from purpose_desktop.limits import LimitError, check_int, check_name, check_text

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
    def mcp_config_file(self) -> Path:
        """The MCP servers the user set up, in the ``mcpServers`` format of other apps."""
        return self.home / "mcp.json"

    @property
    def tools_listing_file(self) -> Path:
        """The last listing of the user's and the MCP servers' tools, kept so that they
        need not be listed (every server started) each time the app starts."""
        return self.home / "tools-listing.json"

    @property
    def user_tools_dir(self) -> Path:
        """The user's own tools: each public function of its Python files is a tool. It is
        not created: a missing folder just means there are none."""
        return self.home / "tools"

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
    def mcp_servers_dir(self) -> Path:
        """Records of running MCP server processes, to end them after a crash."""
        return self.home / "mcp-servers"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def log_file(self) -> Path:
        return self.logs_dir / "purpose-desktop.log"

    def ensure(self) -> None:
        """Create the home folder and its subfolders if they are missing."""
        for folder in (
            self.home,
            self.models_dir,
            self.workspaces_dir,
            self.teams_dir,
            self.logs_dir,
        ):
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
    text_size: int = 100
    """The size of the app's text in percent of the system's (View → Larger text)."""
    tracing: bool = False
    """Export every run as OpenTelemetry traces over OTLP/HTTP (needs the ``otel`` extra);
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` in the environment turns it on too (docs/tracing.md)."""
    tracing_endpoint: str | None = None
    """Where traces go: a collector's URL (``/v1/traces`` is added to a base URL); ``None``:
    http://localhost:4318/v1/traces. Headers such as a key come from
    ``OTEL_EXPORTER_OTLP_HEADERS``, never from this file."""
    tracing_contents: bool = False
    """Put message contents (task, answers, tool arguments and results) in the traces."""

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


#: What each number in the settings may be, from and to.
SETTING_RANGES: dict[str, tuple[int, int]] = {
    "n_threads": (1, 256),
    "context_size": (128, 1_048_576),
    "max_answer_tokens": (1, 32_768),
    "model_memory_mib": (64, 16_777_216),
    "text_size": (50, 400),
}
#: A store URL that overrides the settings' (``sqlite:///...`` or ``postgresql://...``).
STORE_URL_ENV = "PURPOSE_DESKTOP_STORE_URL"
#: How many set-aside copies of unreadable settings files are kept (the newest ones).
KEPT_BAD_SETTINGS = 5
_OPTIONAL_TEXTS = ("last_team_file", "ollama_host", "store_url", "tracing_endpoint")
#: The settings that are true or false.
_FLAGS = ("tracing", "tracing_contents")


def load_settings(paths: Paths, problems: list[str] | None = None) -> Settings:
    """Read the settings file; a missing file gives defaults.

    A value that is not valid is left at its default and the rest are kept. A file that
    cannot be read as settings at all is kept aside (``settings.json.bad-YYYYmmdd-HHMMSS``,
    the newest :data:`KEPT_BAD_SETTINGS` of them) rather than overwritten, so nothing the user
    set is lost, and the defaults are used. Each problem is one line for the person: added to
    ``problems`` when given (for the caller to show), else logged as a warning.
    """
    found: list[str] = []
    try:
        return _read_settings(paths.settings_file, found)
    finally:
        if problems is None:
            for problem in found:
                log.warning("%s", problem)
        else:
            problems.extend(found)


def _read_settings(path: Path, problems: list[str]) -> Settings:
    if not path.exists():
        return Settings()
    from purpose_desktop.safe_load import load_json

    try:
        raw = load_json(path.read_bytes(), check_values=False)  # each is checked by name
        if not isinstance(raw, dict):
            raise TypeError("settings must be a JSON object")
        return Settings(**_checked_values(raw, problems))
    except (OSError, ValueError, TypeError) as exc:
        try:
            kept = f"it was kept as {_keep_aside(path).name}"
        except OSError as moving:
            kept = f"it could not be kept aside ({moving.strerror or moving})"
        problems.append(
            f"{path} could not be read ({exc}); {kept} and the default settings are used"
        )
        return Settings()


def _keep_aside(path: Path) -> Path:
    """Rename the unreadable settings file to a name of its own and forget all but the newest
    :data:`KEPT_BAD_SETTINGS` such copies; where it went."""
    stem = f"{path.name}.bad-{datetime.now():%Y%m%d-%H%M%S}"
    kept, number = path.with_name(stem), 1
    while kept.exists():
        number += 1
        kept = path.with_name(f"{stem}-{number}")
    path.replace(kept)
    copies = sorted(path.parent.glob(f"{path.name}.bad-*"), key=lambda p: p.stat().st_mtime_ns)
    for old in copies[:-KEPT_BAD_SETTINGS]:
        with contextlib.suppress(OSError):
            old.unlink()
    return kept


def _problem(key: str, value: object) -> str | None:
    """Why ``value`` cannot be the setting ``key``, or ``None`` when it can."""
    if value is None:
        return None if key in _OPTIONAL_TEXTS or key == "model_memory_mib" else ("it must be given")
    if key in _FLAGS:
        return None if isinstance(value, bool) else "it must be true or false"
    if key in SETTING_RANGES:
        return _range_problem(key, value)
    if not isinstance(value, str):
        return "it must be text"
    try:
        check_text(value, "it")
    except LimitError as exc:
        return str(exc)
    return None


def _range_problem(key: str, value: object) -> str | None:
    low, high = SETTING_RANGES[key]
    try:
        check_int(value, "it", low, high)
    except LimitError as exc:
        return str(exc).removesuffix(".")
    return None


def _servers(value: object, problems: list[str]) -> tuple[ServerSetting, ...]:
    if not isinstance(value, list):
        _refuse(problems, "servers", value, "it must be a list")
        return ()
    servers = []
    for entry in value:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("name"), str)
            and isinstance(entry.get("base_url"), str)
        ):
            _refuse(problems, "servers", entry, "a server needs a name and a base_url")
            continue
        try:
            servers.append(
                ServerSetting(
                    check_name(entry["name"], "its name"),
                    check_text(entry["base_url"], "its base_url"),
                )
            )
        except LimitError as exc:
            _refuse(problems, "servers", entry, str(exc).removesuffix("."))
    return tuple(servers)


def _refuse(problems: list[str], key: str, value: object, why: str) -> None:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    problems.append(f"Settings: {key} = {shown} is not used: {why}")


def _checked_values(raw: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """The settings in ``raw`` that are valid; each bad one is reported and left at its
    default, so one mistake in a hand-edited file costs nothing else. Unknown keys (from a
    newer version of the app, say) are passed over."""
    known = {f.name for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "servers":
            values[key] = _servers(value, problems)
        elif key in known:
            why = _problem(key, value)
            if why is None:
                values[key] = value
            else:
                _refuse(problems, key, value, f"{why}; the default is used")
    return values


def check_store_url(url: str, where: str) -> str:
    """``url`` if it names a database the store can use in a place that stays put: a SQLite
    file by its absolute path in a folder that exists (``sqlite:////home/me/runs.sqlite3``),
    or a PostgreSQL database (``postgresql://host/name``). :class:`UserError` naming
    ``where`` it was set otherwise; nothing is created."""
    scheme, separator, rest = url.partition("://")
    backend = scheme.split("+", 1)[0].lower()
    if not separator or backend not in ("sqlite", "postgresql"):
        raise UserError(
            f"{where}: {url!r} is not a database URL the app can use. Give "
            "sqlite:////ABSOLUTE/PATH/FILE.sqlite3 or postgresql://HOST/DATABASE."
        )
    if backend == "postgresql":
        if not rest.strip("/"):
            raise UserError(f"{where}: {url!r} names no PostgreSQL server or database.")
        return url
    path = rest[1:].partition("?")[0] if rest.startswith("/") else ""
    if not path or path == ":memory:" or not Path(path).is_absolute():
        raise UserError(
            f"{where}: {url!r} must name a SQLite file by its absolute path, "
            "such as sqlite:////home/me/purpose.sqlite3 (four slashes), so that "
            "it is the same file wherever the app starts."
        )
    if not Path(path).parent.is_dir():
        raise UserError(
            f"{where}: the folder of {path} does not exist; create it, or choose "
            "another place for the database."
        )
    return url


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
