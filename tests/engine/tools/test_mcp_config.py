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
    import_mcp_servers,
    load_mcp_config,
    with_secrets,
)
from purpose_desktop.errors import UserError


def written(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "mcp.json"
    path.parent.mkdir(parents=True, exist_ok=True)
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


def no_secrets(name: str, value: str) -> None:
    raise AssertionError(f"no secret to keep, yet {name} was")


def test_import_merges_servers_and_reports_what_it_did(tmp_path: Path) -> None:
    target = tmp_path / "home" / "mcp.json"
    target.parent.mkdir()
    target.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "kept": {"command": "kept-server"},
                    "same": {"command": "uvx", "args": ["mcp-server-time"]},
                    "changed": {"url": "https://old.example.org/mcp"},
                },
                "other": "an app's own key",
            }
        )
    )
    claude = {
        "mcpServers": {
            "same": {"command": "uvx", "args": ["mcp-server-time"]},
            "changed": {"url": "https://new.example.org/mcp", "type": "http"},
            "new": {"command": "npx", "args": ["-y", "server-memory"], "disabled": True},
        }
    }
    report = import_mcp_servers(written(tmp_path, claude), target, no_secrets)
    assert (report.added, report.replaced, report.unchanged) == (("new",), ("changed",), ("same",))
    merged = json.loads(target.read_text())
    assert merged["other"] == "an app's own key"
    assert list(merged["mcpServers"]) == ["kept", "same", "changed", "new"]
    # Entries are kept as written, keys this app ignores included.
    assert merged["mcpServers"]["changed"] == claude["mcpServers"]["changed"]
    assert merged["mcpServers"]["new"]["disabled"] is True
    assert [path.name for path in target.parent.iterdir()] == ["mcp.json"]


def test_import_makes_mcp_json_when_there_is_none(tmp_path: Path) -> None:
    target = tmp_path / "mcp.json"
    source = tmp_path / "cursor.json"
    source.write_text(json.dumps({"mcpServers": {"time": {"command": "uvx"}}}))
    report = import_mcp_servers(source, target, no_secrets)
    assert report.added == ("time",)
    assert load_mcp_config(target).servers == {"time": StdioServer(command="uvx")}


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"servers": {}}, "has no 'mcpServers' object of servers by name."),
        ({"mcpServers": {"a.b": {"command": "x"}}}, "server 'a.b': a server's name holds"),
        ({"mcpServers": {"x": {"url": "ftp://h"}}}, "server 'x': field 'url' must be an http"),
        ("{", "is not valid JSON"),
    ],
)
def test_a_file_that_is_not_valid_is_not_imported(
    tmp_path: Path, document: Any, problem: str
) -> None:
    target = tmp_path / "home" / "mcp.json"
    target.parent.mkdir()
    target.write_text(json.dumps({"mcpServers": {"kept": {"command": "kept-server"}}}))
    before = target.read_text()
    source = tmp_path / "import.json"
    source.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(UserError) as caught:
        import_mcp_servers(source, target, no_secrets)
    assert str(caught.value).startswith(str(source))
    assert problem in str(caught.value)
    assert target.read_text() == before
    assert [path.name for path in target.parent.iterdir()] == ["mcp.json"]


def test_import_keeps_secrets_out_of_the_file_and_the_client_reads_them_back(
    tmp_path: Path,
) -> None:
    keyring: dict[str, str] = {}
    target = tmp_path / "mcp.json"
    github = {
        "command": "docker",
        "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_s3cret", "GITHUB_HOST": "github.com"},
    }
    docs = {"url": "https://example.org/mcp", "headers": {"Authorization": "Bearer t0ken"}}
    source = written(tmp_path / "claude", {"mcpServers": {"github": github, "docs": docs}})
    import_mcp_servers(source, target, keyring.__setitem__)

    assert keyring == {
        "mcp/github/env/GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_s3cret",
        "mcp/docs/headers/Authorization": "Bearer t0ken",
    }
    text = target.read_text()
    assert "s3cret" not in text and "t0ken" not in text
    servers = load_mcp_config(target).servers
    assert servers["github"] == StdioServer(
        command="docker",
        env={
            "GITHUB_PERSONAL_ACCESS_TOKEN": "keyring:mcp/github/env/GITHUB_PERSONAL_ACCESS_TOKEN",
            "GITHUB_HOST": "github.com",
        },
    )
    assert with_secrets(servers["github"], keyring.__getitem__) == StdioServer.model_validate(
        github
    )
    assert with_secrets(servers["docs"], keyring.__getitem__) == HttpServer.model_validate(docs)

    # Imported again, the same file changes nothing; a file with the references as well.
    again = import_mcp_servers(source, target, keyring.__setitem__)
    assert again.unchanged == ("github", "docs")
    assert import_mcp_servers(target, target, no_secrets).unchanged == ("github", "docs")


def test_without_a_keyring_secrets_are_not_imported_at_all(tmp_path: Path) -> None:
    def no_keyring(name: str, value: str) -> None:
        raise UserError("No system keyring is available on this computer.")

    target = tmp_path / "mcp.json"
    source = written(
        tmp_path / "cursor", {"mcpServers": {"x": {"command": "x", "env": {"API_KEY": "k"}}}}
    )
    with pytest.raises(UserError, match="No system keyring"):
        import_mcp_servers(source, target, no_keyring)
    assert not target.exists()
