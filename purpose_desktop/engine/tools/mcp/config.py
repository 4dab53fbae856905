"""``mcp.json``: the MCP servers a person set up, in the format Claude Desktop, Cursor and
LM Studio use::

    {"mcpServers": {
        "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
        "docs": {"url": "https://example.org/mcp", "headers": {"Authorization": "Bearer ..."}}
    }}

A server has either a ``command`` (started as a process that speaks MCP on its standard input
and output) or a ``url`` (streamable HTTP). A server marked ``"disabled": true`` (as Cline and
others write) is left out; other keys those apps write (``type``, ``timeout``, ...) are
ignored. :func:`import_mcp_servers` merges the servers of another app's file into one.

A value of ``env`` or ``headers`` whose name looks secret (a token, key, password...) is kept
in the system keyring, not in the file: there it is written ``"keyring:NAME"``, NAME being
its entry in the keyring, which :func:`with_secrets` reads when the server starts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from purpose_desktop.config import write_file_atomically
from purpose_desktop.engine.tools.names import SERVER_NAME
from purpose_desktop.errors import UserError
from purpose_desktop.limits import LimitError, shown
from purpose_desktop.safe_load import load_json

__all__ = [
    "HttpServer",
    "ImportReport",
    "McpConfig",
    "StdioServer",
    "import_mcp_servers",
    "load_mcp_config",
    "with_secrets",
]

#: The largest mcp.json read; a configuration is a few kilobytes.
MAX_CONFIG_BYTES = 1_000_000
#: Where mcp.json holds a value kept in the system keyring, it holds this and its name there.
KEYRING_REFERENCE = "keyring:"
#: The names of ``env`` and ``headers`` values that hold secrets: tokens, API keys,
#: passwords, credentials (``GITHUB_PERSONAL_ACCESS_TOKEN``, ``Authorization``...).
SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASS|AUTH|CREDENTIAL|COOKIE", re.IGNORECASE)


class StdioServer(BaseModel):
    """A server started as a process: ``command`` with ``args``. It inherits only a few
    variables of the app's environment (``PATH``, ``HOME`` and the like), and ``env``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    command: str = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)

    @property
    def transport(self) -> str:
        return "stdio"


class HttpServer(BaseModel):
    """A server reached over streamable HTTP at ``url``, sent ``headers`` with every request."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    url: str
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _web_address(cls, url: str) -> str:
        if not re.match(r"https?://[^/\s]+", url):
            raise ValueError("must be an http:// or https:// address")
        return url

    @property
    def transport(self) -> str:
        return "http"


ServerConfig = StdioServer | HttpServer


@dataclass(frozen=True)
class McpConfig:
    """The servers of one ``mcp.json``, by name, in the file's order."""

    servers: Mapping[str, ServerConfig]


def load_mcp_config(path: Path) -> McpConfig:
    """The servers ``path`` describes; no servers when the file does not exist.

    Raises :class:`UserError` naming the file, and the server and field when one is wrong.
    """
    document = _read(path, missing_ok=True)
    return McpConfig(_servers(document, path))


@dataclass(frozen=True)
class ImportReport:
    """What :func:`import_mcp_servers` did, by server name, in the imported file's order."""

    added: tuple[str, ...]
    replaced: tuple[str, ...]
    unchanged: tuple[str, ...]


def import_mcp_servers(
    source: Path, target: Path, keep_secret: Callable[[str, str], None]
) -> ImportReport:
    """Merge the ``mcpServers`` of ``source`` (as Claude Desktop, Cursor or LM Studio write
    it) into ``target``, made if missing. Servers only ``target`` has are kept; one of the
    same name whose entry differs is replaced. Entries are copied as written, so keys this
    app ignores (and disabled servers) stay for the apps that read them, but for their
    secrets: each is handed to ``keep_secret(name, value)`` (which saves it in the keyring)
    and the file gets a reference to it instead.

    Raises :class:`UserError` naming the file, server and field when either file is not
    valid, and what ``keep_secret`` raises when a secret cannot be kept; nothing is written
    then. ``target`` is replaced atomically, and only if it changes.
    """
    incoming = _read(source, missing_ok=False)
    if not isinstance(incoming, dict) or not isinstance(incoming.get("mcpServers"), dict):
        raise UserError(f"{source} has no 'mcpServers' object of servers by name.")
    _servers(incoming, source)
    document = _read(target, missing_ok=True)
    _servers(document, target)
    entries = {
        name: _referring(name, entry, keep_secret) for name, entry in incoming["mcpServers"].items()
    }
    current: dict[str, Any] = document.setdefault("mcpServers", {})
    added: list[str] = []
    replaced: list[str] = []
    unchanged: list[str] = []
    for name, entry in entries.items():
        if name not in current:
            added.append(name)
        elif current[name] != entry:
            replaced.append(name)
        else:
            unchanged.append(name)
        current[name] = entry
    if added or replaced:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomically(target, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return ImportReport(tuple(added), tuple(replaced), tuple(unchanged))


def _referring(server: str, entry: Any, keep_secret: Callable[[str, str], None]) -> Any:
    """``entry`` with each secret of its ``env`` and ``headers`` kept by ``keep_secret`` and
    replaced by a reference to it; values already references stay."""
    if not isinstance(entry, dict):
        return entry
    copied = dict(entry)
    for field in ("env", "headers"):
        values = entry.get(field)
        if not isinstance(values, dict):
            continue
        kept: dict[str, str] = {}
        for name, value in values.items():
            if SECRET_NAME.search(name) and not value.startswith(KEYRING_REFERENCE):
                secret = f"mcp/{server}/{field}/{name}"
                keep_secret(secret, value)
                kept[name] = f"{KEYRING_REFERENCE}{secret}"
            else:
                kept[name] = value
        copied[field] = kept
    return copied


def with_secrets(server: ServerConfig, read_secret: Callable[[str], str]) -> ServerConfig:
    """``server`` with each keyring reference in its ``env`` or ``headers`` replaced by the
    value ``read_secret(name)`` gives (it raises when there is none)."""

    def resolved(values: dict[str, str]) -> dict[str, str]:
        return {
            name: read_secret(value.removeprefix(KEYRING_REFERENCE))
            if value.startswith(KEYRING_REFERENCE)
            else value
            for name, value in values.items()
        }

    if isinstance(server, StdioServer):
        return server.model_copy(update={"env": resolved(server.env)})
    return server.model_copy(update={"headers": resolved(server.headers)})


def _read(path: Path, *, missing_ok: bool) -> Any:
    """The JSON document in ``path`` (an empty object for a missing one, if ``missing_ok``)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise UserError(f"There is no file {path}.") from None
    except OSError as exc:
        raise UserError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise UserError(f"{path} is larger than {MAX_CONFIG_BYTES:,} bytes.")
    try:
        return load_json(data)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}).") from None
    except (LimitError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} cannot be read: {exc}.") from None


def _servers(document: Any, path: Path) -> dict[str, ServerConfig]:
    if not isinstance(document, dict):
        raise UserError(f"{path} must hold a JSON object with an 'mcpServers' object.")
    entries = document.get("mcpServers", {})
    if not isinstance(entries, dict):
        raise UserError(f"{path}: 'mcpServers' must be an object of servers by name.")
    servers: dict[str, ServerConfig] = {}
    for name, entry in entries.items():
        where = f"{path}: server '{shown(name)}'"
        if not SERVER_NAME.fullmatch(name):
            raise UserError(
                f"{where}: a server's name holds only letters, digits, '_' and '-' (at most "
                "64, starting with a letter or digit)."
            )
        if isinstance(entry, dict) and entry.get("disabled") is True:
            continue
        servers[name] = _server(entry, where)
    return servers


def _server(entry: Any, where: str) -> ServerConfig:
    if not isinstance(entry, dict):
        raise UserError(f"{where} must be an object with a 'command' or a 'url'.")
    has_command, has_url = "command" in entry, "url" in entry
    if has_command == has_url:
        raise UserError(
            f"{where} needs either a 'command' (a program to start) or a 'url' "
            f"(a streamable HTTP server){', not both' if has_command else ''}."
        )
    kind: type[ServerConfig] = StdioServer if has_command else HttpServer
    try:
        return kind.model_validate(entry)
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors())
        raise UserError(f"{where}: {problems}.") from None


def _problem(error: Any) -> str:
    field = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"field '{field}' {message[0].lower()}{message[1:]}" if message else field
