"""``mcp.json``: the MCP servers a person set up, in the format Claude Desktop, Cursor and
LM Studio use::

    {"mcpServers": {
        "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
        "docs": {"url": "https://example.org/mcp", "headers": {"Authorization": "Bearer ..."}}
    }}

A server has either a ``command`` (started as a process that speaks MCP on its standard input
and output) or a ``url`` (streamable HTTP). A server marked ``"disabled": true`` (as Cline and
others write) is left out; other keys those apps write (``type``, ``timeout``, ...) are
ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from purpose_desktop.errors import UserError
from purpose_desktop.limits import LimitError, shown
from purpose_desktop.safe_load import load_json

__all__ = ["HttpServer", "McpConfig", "StdioServer", "load_mcp_config"]

#: A server's name is the first part of its tools' names (``time.get_current_time``), so it
#: holds no dot.
SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: The largest mcp.json read; a configuration is a few kilobytes.
MAX_CONFIG_BYTES = 1_000_000


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
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return McpConfig({})
    except OSError as exc:
        raise UserError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise UserError(f"{path} is larger than {MAX_CONFIG_BYTES:,} bytes.")
    try:
        document = load_json(data)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}).") from None
    except (LimitError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} cannot be read: {exc}.") from None
    return McpConfig(_servers(document, path))


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
