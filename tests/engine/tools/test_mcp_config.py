"""mcp.json as Claude Desktop, Cursor and LM Studio write it, and what is wrong with one that
is not valid: the message names the file, the server and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.engine.tools.mcp.config import (
    MAX_CONFIG_BYTES,
    HttpServer,
    StdioServer,
    load_mcp_config,
)
from purpose_desktop.errors import UserError


def written(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "mcp.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_reads_stdio_and_http_servers_in_order_but_not_disabled_ones(tmp_path: Path) -> None:
    path = written(
        tmp_path,
        {
            "mcpServers": {
                "time": {
                    "command": "uvx",
                    "args": ["mcp-server-time", "--local-timezone=UTC"],
                    "env": {"TZ": "UTC"},
                    "type": "stdio",
                    "disabled": False,
                },
                "docs": {"url": "https://example.org/mcp", "headers": {"X-Key": "k"}},
                "off": {"command": "uvx", "args": ["mcp-server-git"], "disabled": True},
            },
            "globalShortcut": "Ctrl+Space",
        },
    )
    servers = load_mcp_config(path).servers
    assert list(servers) == ["time", "docs"]
    assert servers["time"] == StdioServer(
        command="uvx", args=["mcp-server-time", "--local-timezone=UTC"], env={"TZ": "UTC"}
    )
    assert servers["docs"] == HttpServer(url="https://example.org/mcp", headers={"X-Key": "k"})
    assert [s.transport for s in servers.values()] == ["stdio", "http"]


def test_no_file_and_no_servers_mean_no_servers(tmp_path: Path) -> None:
    assert load_mcp_config(tmp_path / "mcp.json").servers == {}
    assert load_mcp_config(written(tmp_path, {})).servers == {}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("{not json", "is not valid JSON"),
        ([1, 2], "must hold a JSON object"),
        ({"mcpServers": []}, "'mcpServers' must be an object"),
        ({"mcpServers": {"a.b": {"command": "x"}}}, "server 'a.b': a server's name"),
        ({"mcpServers": {"t": "uvx"}}, "server 't' must be an object"),
        ({"mcpServers": {"t": {"args": []}}}, "server 't' needs either a 'command'"),
        ({"mcpServers": {"t": {"command": "x", "url": "http://h"}}}, "not both"),
        ({"mcpServers": {"t": {"command": ""}}}, "server 't': field 'command'"),
        ({"mcpServers": {"t": {"command": "x", "args": [1]}}}, "field 'args.0'"),
        ({"mcpServers": {"t": {"command": "x", "env": {"A": 1}}}}, "field 'env.A'"),
        ({"mcpServers": {"t": {"url": "ftp://h"}}}, "field 'url' must be an http://"),
        ({"mcpServers": {"t": {"url": "http://h", "headers": []}}}, "field 'headers'"),
    ],
)
def test_a_malformed_file_names_the_file_the_server_and_the_field(
    tmp_path: Path, document: Any, expected: str
) -> None:
    path = written(tmp_path, document)
    with pytest.raises(UserError) as caught:
        load_mcp_config(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_a_file_beyond_the_limits_is_refused(tmp_path: Path) -> None:
    deep = written(tmp_path, '{"mcpServers": ' + "[" * 200 + "]" * 200 + "}")
    with pytest.raises(UserError, match="nested more than"):
        load_mcp_config(deep)
    deep.write_text(" " * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(UserError, match="larger than"):
        load_mcp_config(deep)
