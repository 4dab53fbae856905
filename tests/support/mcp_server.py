"""A small MCP server for tests, on the SDK's server API: tools that echo, wait, block the
server, crash it, answer with several kinds of content, or tell its process id, a request's
header or one of its environment variables. Started with ``--quit-first-time MARKER``, it
exits at once when MARKER does not exist yet (and makes it), and serves from then on; with
``--hang-at-start`` it never answers the handshake (and ignores its input closing). It serves
on standard input and output, or with ``--http PORT`` over streamable HTTP at
http://127.0.0.1:PORT/mcp.

Run it as ``python -m tests.support.mcp_server`` from the repository's folder, or through
:func:`server_command`.
"""

# Without postponed annotations: the server reads the tools' type hints, Context included.
import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def server_command(*args: str) -> dict[str, Any]:
    """This server's entry in an ``mcp.json``'s ``mcpServers``."""
    return {
        "command": sys.executable,
        "args": ["-m", "tests.support.mcp_server", *args],
        "env": {"PYTHONPATH": str(REPO)},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quit-first-time", type=Path)
    parser.add_argument("--http", type=int, metavar="PORT")
    parser.add_argument("--hang-at-start", action="store_true")
    options = parser.parse_args()
    if options.hang_at_start:
        print("hanging as asked", file=sys.stderr, flush=True)
        time.sleep(3600)
    marker: Path | None = options.quit_first_time
    if marker is not None and not marker.exists():
        marker.touch()
        print("quitting as asked", file=sys.stderr)
        sys.exit(3)

    from mcp.server.mcpserver import Context, MCPServer
    from mcp.types import (
        ContentBlock,
        EmbeddedResource,
        ImageContent,
        ResourceLink,
        TextContent,
        TextResourceContents,
        ToolAnnotations,
    )

    server = MCPServer("test-server")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def echo(text: str) -> str:
        """Say the text back."""
        return text

    @server.tool()
    async def wait(seconds: float) -> str:
        """Wait this many seconds, then say so."""
        await asyncio.sleep(seconds)
        return f"waited {seconds:g} s"

    @server.tool()
    async def block(seconds: float) -> str:
        """Hold up the whole server this many seconds."""
        # On the server's event loop, which answers nothing meanwhile: a hung server.
        time.sleep(seconds)  # noqa: ASYNC251
        return "unblocked"

    @server.tool()
    def crash() -> str:
        """End the server's process at once."""
        print("crashing as asked", file=sys.stderr, flush=True)
        os._exit(7)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def mixed() -> list[ContentBlock]:
        """Answer with a text, an image, an embedded text and a link."""
        return [
            TextContent(text="a caption"),
            ImageContent(data="AAAA", mime_type="image/png"),
            EmbeddedResource(resource=TextResourceContents(uri="file:///n.txt", text="notes")),
            ResourceLink(uri="file:///big.csv", name="big.csv"),
        ]

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def env(name: str) -> str:
        """The value of the server's environment variable called name."""
        return os.environ.get(name, "(none)")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def header(name: str, ctx: Context) -> str:
        """The value of the request's header called name (over HTTP)."""
        return (ctx.headers or {}).get(name.lower(), "(none)")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def total(numbers: list[float]) -> float:
        """The sum of the numbers (a parameter that is an array)."""
        return sum(numbers)

    if options.http is None:
        server.run()
    else:
        server.run("streamable-http", port=options.http)


if __name__ == "__main__":
    main()
