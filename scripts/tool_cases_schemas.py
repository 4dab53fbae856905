"""Write the tool schemas of public MCP servers into the tool-call benchmark's data.

``purpose-desktop bench tools`` runs offline from the stored file; this script is how that
file is made and brought up to date. It starts each server as a client would, asks for its
tools with the project's MCP client, and writes, per server, the package it came from and
each tool's description and ``inputSchema`` as the server gave them, to
``purpose_desktop/bench/tool_cases/schemas.json``.

The Python servers other than ``mcp-server-time`` (which the project's environment has) are
installed into a throwaway virtual environment, since they pin an MCP SDK of their own; the
npm servers run through ``npx -y``. Needs the network (PyPI and npm) and Node.js.

    .venv/bin/python scripts/tool_cases_schemas.py [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purpose_desktop.engine.tools.mcp.client import McpServer
from purpose_desktop.engine.tools.mcp.config import StdioServer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "purpose_desktop" / "bench" / "tool_cases" / "schemas.json"
PYPI_PACKAGES = ("mcp-server-git", "mcp-server-sqlite", "mcp-server-fetch")
# mcp-server-sqlite (last released in 2025) uses server methods that version 2 of the SDK
# dropped, and asks only for "mcp>=1", so the throwaway environment holds the SDK back.
SDK_PIN = "mcp<2"
START_TIMEOUT = 300.0  # npx may first download the package and its dependencies


@dataclass(frozen=True)
class Source:
    """A server: its name in the data, the package it comes from, and how to start it given
    the throwaway folder (which holds the virtual environment in ``venv``)."""

    name: str
    package: str
    registry: str  # "pypi" or "npm"
    command: Callable[[Path], StdioServer]


def _venv_program(folder: Path, program: str) -> str:
    scripts = "Scripts" if sys.platform == "win32" else "bin"
    return str(folder / "venv" / scripts / program)


def _npx(package: str, *args: str) -> Callable[[Path], StdioServer]:
    return lambda folder: StdioServer(command="npx", args=["-y", package, *args])


SOURCES = (
    Source(
        "time",
        "mcp-server-time",
        "pypi",
        lambda folder: StdioServer(command=str(Path(sys.executable).with_name("mcp-server-time"))),
    ),
    Source(
        "git",
        "mcp-server-git",
        "pypi",
        lambda folder: StdioServer(command=_venv_program(folder, "mcp-server-git")),
    ),
    Source(
        "sqlite",
        "mcp-server-sqlite",
        "pypi",
        lambda folder: StdioServer(
            command=_venv_program(folder, "mcp-server-sqlite"),
            args=["--db-path", str(folder / "bench.sqlite3")],
        ),
    ),
    Source(
        "fetch",
        "mcp-server-fetch",
        "pypi",
        lambda folder: StdioServer(command=_venv_program(folder, "mcp-server-fetch")),
    ),
    Source(
        "filesystem",
        "@modelcontextprotocol/server-filesystem",
        "npm",
        lambda folder: _npx("@modelcontextprotocol/server-filesystem", str(folder))(folder),
    ),
    Source(
        "memory",
        "@modelcontextprotocol/server-memory",
        "npm",
        _npx("@modelcontextprotocol/server-memory"),
    ),
    Source(
        "everything",
        "@modelcontextprotocol/server-everything",
        "npm",
        _npx("@modelcontextprotocol/server-everything", "stdio"),
    ),
)


def _run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def _install_python_servers(folder: Path) -> dict[str, str]:
    """Install the PyPI servers into ``folder/venv``; their installed versions by package."""
    _run(sys.executable, "-m", "venv", str(folder / "venv"))
    python = _venv_program(folder, "python")
    _run(python, "-m", "pip", "install", "--quiet", *PYPI_PACKAGES, SDK_PIN)
    versions: dict[str, str] = {}
    for package in PYPI_PACKAGES:
        for line in _run(python, "-m", "pip", "show", package).splitlines():
            if line.startswith("Version:"):
                versions[package] = line.split(":", 1)[1].strip()
    return versions


def _version(source: Source, installed: dict[str, str]) -> str:
    if source.package in installed:
        return installed[source.package]
    if source.registry == "npm":
        return _run("npm", "view", source.package, "version").strip()
    from importlib.metadata import version

    return version(source.package)


async def _tools(source: Source, folder: Path) -> dict[str, Any]:
    server = McpServer(
        source.name,
        source.command(folder),
        folder / f"{source.name}.log",
        start_timeout=START_TIMEOUT,
    )
    try:
        listed = await server.list_tools()
    finally:
        await server.aclose()
    return {
        tool.name: {"description": tool.description, "inputSchema": dict(tool.input_schema)}
        for tool in listed
    }


async def collect(folder: Path) -> dict[str, Any]:
    """Every source's package, version and tools."""
    installed = _install_python_servers(folder)
    servers: dict[str, Any] = {}
    for source in SOURCES:
        print(f"{source.name}: starting {source.package}", file=sys.stderr)
        tools = await _tools(source, folder)
        print(f"{source.name}: {len(tools)} tools", file=sys.stderr)
        servers[source.name] = {
            "package": source.package,
            "registry": source.registry,
            "version": _version(source, installed),
            "tools": tools,
        }
    return {"servers": servers}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write ({OUT})")
    args = parser.parse_args()
    if shutil.which("npx") is None:
        print("npx is needed for the npm servers: install Node.js.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        data = asyncio.run(collect(Path(folder)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
