"""The tools an agent can be given: the built-in ones, the user's own (Python functions in
the home folder's ``tools`` folder) and those of the MCP servers in the home folder's
``mcp.json``, the state of each server, importing servers from another app's
file, and calling one tool by hand."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from purpose_desktop.config import Paths
from purpose_desktop.engine.tools.base import Tool, ToolContext, ToolError
from purpose_desktop.engine.tools.mcp.config import (
    HttpServer,
    ImportReport,
    StdioServer,
    import_mcp_servers,
    load_mcp_config,
)
from purpose_desktop.engine.tools.mcp.tools import McpServers
from purpose_desktop.engine.tools.names import MCP_SEPARATOR
from purpose_desktop.engine.tools.user_tools import USER, UserTools, joined
from purpose_desktop.errors import UserError
from purpose_desktop.limits import shown
from purpose_desktop.models.orphans import WorkerRecord
from purpose_desktop.safe_load import load_json
from purpose_desktop.services.background import off_loop
from purpose_desktop.task_groups import task_group

__all__ = [
    "BUILT_IN",
    "CALL_WORKSPACE",
    "ImportReport",
    "ServerDetail",
    "ServerState",
    "ToolDetail",
    "ToolListing",
    "ToolSummary",
    "ToolsOverview",
    "ToolsService",
]

#: The ``source`` of a tool that comes with the app.
BUILT_IN = "built-in"
#: The folder of the workspaces folder where tools called by hand read and write files.
CALL_WORKSPACE = "tools-call"
#: How much of the end of a server's log :meth:`ToolsService.server_log` gives by default.
LOG_TAIL_CHARS = 20_000
#: What a secret of a server's settings shows as.
HIDDEN = "••••••"


@dataclass(frozen=True)
class ToolSummary:
    """One tool: its name, what it does, where it comes from (:data:`BUILT_IN` or an MCP
    server's name) and whether it asks for review under the "risky" policy."""

    name: str
    description: str
    source: str
    risky: bool


@dataclass(frozen=True)
class ServerState:
    """An MCP server of ``mcp.json``: ``tools`` is how many it offers, ``None`` when it could
    not be started or asked, and then ``problem`` says why. ``log_file`` keeps a stdio
    server's standard error."""

    name: str
    transport: str
    tools: int | None
    problem: str | None
    log_file: Path | None


@dataclass(frozen=True)
class ToolListing:
    """Every tool an agent can be given, and a message for each server that gave none."""

    tools: tuple[ToolSummary, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class ToolDetail:
    """One tool as a person inspects it: :class:`ToolSummary`'s fields and ``schema``, the
    JSON schema of its arguments."""

    name: str
    description: str
    source: str
    risky: bool
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class ServerDetail:
    """A server of ``mcp.json`` as it is set up and how it fared: ``command`` and ``args`` of
    a stdio server, ``url`` of an HTTP one; ``values`` its ``env`` (stdio) or ``headers``
    (HTTP) as (name, shown value). Secrets never show: a value kept in the system keyring
    reads as such, and one whose name looks secret (or a secret in ``args`` or ``url``) is
    masked."""

    state: ServerState
    command: str | None
    args: tuple[str, ...]
    url: str | None
    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ToolsOverview:
    """Every server of ``mcp.json`` with its state, every tool an agent can be given with
    its schema, and a message for each server (or other source) that gave no tools."""

    servers: tuple[ServerDetail, ...]
    tools: tuple[ToolDetail, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class _Survey:
    state: ServerState
    tools: tuple[Tool, ...]


class ToolsService:
    """Lists the tools and the MCP servers, imports servers and calls a tool. Each call
    (but a listing given as kept, see :meth:`tools`) starts the servers of ``mcp.json`` it
    needs (all at once), and stops them again; their processes are recorded in the home
    folder meanwhile, to be ended at the next start if the app is killed.
    ``stop_run_servers`` stops the servers the app's runs started (they start again, reading
    ``mcp.json`` anew, when a run next needs them): :meth:`restart` calls it."""

    def __init__(
        self, paths: Paths, *, stop_run_servers: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._paths = paths
        self._record = WorkerRecord(paths.mcp_servers_dir)
        self._stop_run_servers = stop_run_servers

    @property
    def config_file(self) -> Path:
        """The ``mcp.json`` the servers are read from."""
        return self._paths.mcp_config_file

    async def servers(self) -> tuple[ServerState, ...]:
        """Each server of ``mcp.json``, in the file's order, and whether it starts.

        Raises :class:`~purpose_desktop.errors.UserError` when ``mcp.json`` is not valid.
        """
        return tuple(survey.state for survey in await self._survey())

    async def tools(self, *, kept: bool = False) -> ToolListing:
        """The built-in tools, then the user's own (source :data:`USER`), then each
        server's, in the order of ``mcp.json``. ``problems`` holds each user tool that could
        not be loaded and each server that gave no tools.

        With ``kept``, the last listing without problems is given while ``mcp.json`` and the
        user's tool files are unchanged since (:mod:`~purpose_desktop.services.tools_cache`),
        without starting a server; otherwise, or when there is none, the tools are listed
        and the listing is kept (or the kept one dropped, when it has problems).

        Raises :class:`~purpose_desktop.errors.UserError` when ``mcp.json`` is not valid.
        """
        from purpose_desktop.engine.tools.builtin import BUILTIN_TOOLS
        from purpose_desktop.services import tools_cache

        builtin = tuple(_summary(tool, BUILT_IN) for tool in BUILTIN_TOOLS)
        if kept:
            found = await off_loop(tools_cache.read_kept, self._paths)
            if found is not None:
                return ToolListing(builtin + tuple(_kept_summary(tool) for tool in found), ())
        stamp = tools_cache.tools_stamp(self._paths)
        async with task_group() as group:
            listed = group.create_task(_user_tools(self._paths))
            asked = group.create_task(self._survey())
        mine, surveys = listed.result(), asked.result()
        tools = [_summary(tool, USER) for tool in mine.tools]
        tools += [_summary(tool, s.state.name) for s in surveys for tool in s.tools]
        problems = mine.problems + tuple(
            s.state.problem for s in surveys if s.state.problem is not None
        )
        await self._keep(stamp, tools, problems)
        return ToolListing(builtin + tuple(tools), problems)

    async def _keep(
        self, stamp: tuple[int, ...], tools: Sequence[ToolSummary], problems: Sequence[str]
    ) -> None:
        """Keep the listing of the user's and the servers' ``tools``, taken when the files
        had ``stamp``, for :meth:`tools` to give as kept; one with ``problems`` drops the
        kept one instead, so that the next listing asks again."""
        from purpose_desktop.services import tools_cache

        if problems:
            await off_loop(tools_cache.forget, self._paths)
        else:
            await off_loop(tools_cache.keep, self._paths, stamp, [asdict(t) for t in tools])

    async def import_servers(self, file: Path) -> ImportReport:
        """Merge the servers of ``file`` (an ``mcpServers`` file of Claude Desktop, Cursor,
        LM Studio...) into ``mcp.json``, the secrets of their ``env`` and ``headers`` into
        the system keyring.

        Raises :class:`~purpose_desktop.errors.UserError` when either file is not valid or
        a secret cannot be kept in the keyring (there is none), and writes nothing then.
        """
        from purpose_desktop.secrets import save_secret

        return await off_loop(import_mcp_servers, file, self.config_file, save_secret)

    async def call(self, name: str, arguments: str, *, time_limit: float | None = None) -> str:
        """Call the tool ``name`` (built-in, a user tool by its function's name, or
        ``SERVER.TOOL``) with ``arguments``, a JSON object, as an agent would: checked
        against its schema, within its time limit (or ``time_limit`` seconds), a built-in or
        user tool in the workspace :data:`CALL_WORKSPACE`. Returns the tool's output.

        Raises :class:`ToolError` when the tool fails (its server failing included), and
        :class:`~purpose_desktop.errors.UserError` for arguments that are not a JSON object
        or a tool that does not exist (naming those that do).
        """
        values = _arguments(arguments)
        workspace = self._paths.workspaces_dir / CALL_WORKSPACE
        await off_loop(workspace.mkdir, parents=True, exist_ok=True)
        server, separator, _ = name.partition(MCP_SEPARATOR)
        if not separator:
            tool = _builtin(name)
            if tool is not None:
                return await _call(tool, values, workspace, time_limit)
            mine = await _user_tools(self._paths, time_limit)
            tool = mine.get(name)
            if tool is None:
                raise await self._unknown(name)
            # Found with the time limit asked for: the child's own limit, whose message is
            # the clearer one, is that already.
            return await _call(tool, values, workspace, None)
        config = await off_loop(load_mcp_config, self.config_file)
        if server not in config.servers:
            raise await self._unknown(name)
        servers = McpServers(config, self._paths.logs_dir, self._record)
        try:
            tools = {tool.name: tool for tool in await servers.tools(server)}
            if name not in tools:
                raise _no_tool(name, tools)
            return await _call(tools[name], values, workspace, time_limit)
        finally:
            await servers.aclose()

    async def _unknown(self, name: str) -> UserError:
        """The error for a tool called ``name`` that does not exist, naming those that do."""
        listing = await self.tools()
        error = _no_tool(name, [tool.name for tool in listing.tools])
        mine = [
            problem
            for problem in listing.problems
            if problem.startswith(_user_folder_text(self._paths))
        ]
        if mine:  # the tool meant may be one that did not load
            error = UserError(f"{error} Problems with your tools: {joined(mine)}")
        return error

    async def _survey(self) -> list[_Survey]:
        config = await off_loop(load_mcp_config, self.config_file)
        return await _ask_all(McpServers(config, self._paths.logs_dir, self._record))

    async def overview(self) -> ToolsOverview:
        """Every server of ``mcp.json`` with how it is set up and whether it starts (all are
        started at once, asked for their tools and stopped again), and every tool with its
        schema: the built-in ones, the user's own (source ``user``), then each server's, in
        the order of ``mcp.json``. ``problems`` holds each user tool that could not be
        loaded and each server that gave no tools. The listing is kept as :meth:`tools`
        keeps it.

        Raises :class:`~purpose_desktop.errors.UserError` when ``mcp.json`` is not valid.
        """
        from purpose_desktop.engine.tools.builtin import BUILTIN_TOOLS
        from purpose_desktop.services import tools_cache

        stamp = tools_cache.tools_stamp(self._paths)
        config = await off_loop(load_mcp_config, self.config_file)
        servers = McpServers(config, self._paths.logs_dir, self._record)
        async with task_group() as group:
            listed = group.create_task(_user_tools(self._paths))
            surveys = group.create_task(_ask_all(servers))
        mine, asked = listed.result(), surveys.result()
        theirs = [(tool, USER) for tool in mine.tools]
        theirs += [(tool, s.state.name) for s in asked for tool in s.tools]
        problems = mine.problems + tuple(
            s.state.problem for s in asked if s.state.problem is not None
        )
        # What the Team pane offers next follows what this pane shows.
        await self._keep(stamp, [_summary(tool, source) for tool, source in theirs], problems)
        tools = [_detail(tool, BUILT_IN) for tool in BUILTIN_TOOLS]
        tools += [_detail(tool, source) for tool, source in theirs]
        return ToolsOverview(
            tuple(_server_detail(s.state, config.servers[s.state.name]) for s in asked),
            tuple(tools),
            problems,
        )

    async def make_config_file(self) -> Path:
        """``mcp.json``, made with no servers in it if it does not exist yet (to be opened in
        an editor).

        Raises :class:`~purpose_desktop.errors.UserError` when it cannot be written.
        """
        return await off_loop(_made_config, self.config_file)

    async def restart(self, *, runs: bool = True) -> ToolsOverview:
        """Start every server again and say how each fared (:meth:`overview`); with
        ``runs``, first stop the servers the app's runs started, so that a run starts them
        again, with ``mcp.json`` as it is then, when it next needs them.

        Raises :class:`~purpose_desktop.errors.UserError` when ``mcp.json`` is not valid.
        """
        if runs and self._stop_run_servers is not None:
            await self._stop_run_servers()
        return await self.overview()

    @property
    def stops_run_servers(self) -> bool:
        """Whether :meth:`restart` can stop the servers the app's runs started."""
        return self._stop_run_servers is not None

    def server_log_file(self, name: str) -> Path:
        """The file that keeps what the stdio server ``name`` writes to its standard error."""
        from purpose_desktop.engine.tools.names import SERVER_NAME

        if not SERVER_NAME.fullmatch(name):
            raise UserError(f"'{shown(name)}' is not the name of an MCP server.")
        return self._paths.logs_dir / f"mcp-{name}.log"

    async def server_log(self, name: str, max_chars: int = LOG_TAIL_CHARS) -> str:
        """The end of the log of the server ``name`` (at most ``max_chars`` characters,
        from the start of a line); empty when it has written nothing yet.

        Raises :class:`~purpose_desktop.errors.UserError` when the log cannot be read.
        """
        return await off_loop(_tail, self.server_log_file(name), max_chars)


async def _ask_all(servers: McpServers) -> list[_Survey]:
    """What each of ``servers`` offers, asked of all at once, in their order. Every server is
    stopped again before this returns, when it is cancelled too."""
    try:
        async with task_group() as group:
            asks = [group.create_task(_ask(servers, name)) for name in servers.servers]
    finally:
        await servers.aclose()
    return [ask.result() for ask in asks]


async def _ask(servers: McpServers, name: str) -> _Survey:
    server = servers.servers[name]
    log_file = server.log_file if isinstance(server.config, StdioServer) else None
    try:
        tools = await servers.tools(name)
    except ToolError as exc:
        problem = str(exc)
    else:
        state = ServerState(name, server.config.transport, len(tools), None, log_file)
        return _Survey(state, tools)
    return _Survey(ServerState(name, server.config.transport, None, problem, log_file), ())


def _kept_summary(kept: Mapping[str, Any]) -> ToolSummary:
    return ToolSummary(
        name=str(kept.get("name", "")),
        description=str(kept.get("description", "")),
        source=str(kept.get("source", "")),
        risky=bool(kept.get("risky", True)),
    )


def _summary(tool: Tool, source: str) -> ToolSummary:
    return ToolSummary(tool.name, tool.description, source, tool.risky)


def _detail(tool: Tool, source: str) -> ToolDetail:
    return ToolDetail(tool.name, tool.description, source, tool.risky, tool.parameters)


def _server_detail(state: ServerState, config: StdioServer | HttpServer) -> ServerDetail:
    if isinstance(config, StdioServer):
        return ServerDetail(
            state, config.command, _masked_args(config.args), None, _shown_values(config.env)
        )
    return ServerDetail(state, None, (), _masked_url(config.url), _shown_values(config.headers))


def _shown_values(values: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    from purpose_desktop.engine.tools.mcp.config import KEYRING_REFERENCE, SECRET_NAME

    def value_shown(name: str, value: str) -> str:
        if value.startswith(KEYRING_REFERENCE):
            return f"in the system keyring ({value.removeprefix(KEYRING_REFERENCE)})"
        return HIDDEN if SECRET_NAME.search(name) else value

    return tuple((name, value_shown(name, value)) for name, value in values.items())


def _masked_args(args: Iterable[str]) -> tuple[str, ...]:
    """``args`` with the value of each secret-looking option hidden: ``--api-key=VALUE``,
    ``TOKEN=VALUE``, or the argument after ``--token``."""
    from purpose_desktop.engine.tools.mcp.config import SECRET_NAME

    masked: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            masked.append(HIDDEN)
            hide_next = False
            continue
        name, equals, _ = arg.partition("=")
        secret = bool(SECRET_NAME.search(name))
        if secret and equals:
            masked.append(f"{name}={HIDDEN}")
        else:
            masked.append(arg)
            hide_next = secret and name.startswith("-")
    return tuple(masked)


def _masked_url(url: str) -> str:
    """``url`` without a password in it, nor the value of a secret-looking query parameter."""
    from urllib.parse import urlsplit, urlunsplit

    from purpose_desktop.engine.tools.mcp.config import SECRET_NAME

    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{HIDDEN}@{netloc.rpartition('@')[2]}"
    query = "&".join(
        f"{name}={HIDDEN}" if equals and SECRET_NAME.search(name) else f"{name}{equals}{value}"
        for name, equals, value in (item.partition("=") for item in parts.query.split("&"))
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _made_config(path: Path) -> Path:
    from purpose_desktop.config import write_file_atomically

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomically(path, '{\n  "mcpServers": {}\n}\n')
    return path


def _tail(path: Path, max_chars: int) -> str:
    """The end of the text file ``path``: its last ``max_chars`` bytes or fewer, from the
    start of a line; empty when there is no such file."""
    try:
        with path.open("rb") as file:
            size = file.seek(0, 2)
            start = max(0, size - max_chars)
            file.seek(start)
            data = file.read()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise UserError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    text = data.decode("utf-8", "replace")
    if start > 0:
        text = text.partition("\n")[2]  # the first line was cut
    return text


def _arguments(text: str) -> dict[str, Any]:
    try:
        values = load_json(text)
    except (ValueError, RecursionError) as exc:
        raise UserError(f"The arguments are not valid JSON: {shown(str(exc), 200)}") from None
    if not isinstance(values, dict):
        raise UserError(
            f'The arguments must be a JSON object ({{"name": value, ...}}), not {shown(text, 60)}.'
        )
    return values


def _builtin(name: str) -> Tool | None:
    from purpose_desktop.engine.tools.builtin import builtin_tool

    try:
        return builtin_tool(name)
    except ToolError:
        return None


def _no_tool(name: str, known: Iterable[str]) -> UserError:
    return UserError(f"There is no tool called '{shown(name)}'. The tools: {', '.join(known)}.")


async def _call(
    tool: Tool, arguments: dict[str, Any], workspace: Path, time_limit: float | None
) -> str:
    from purpose_desktop.engine.tools.functions import call_tool

    if time_limit is not None:
        tool = dataclasses.replace(tool, timeout=time_limit)
    return await call_tool(tool, arguments, ToolContext(workspace))


async def _user_tools(paths: Paths, time_limit: float | None = None) -> UserTools:
    """The user's own tools, each call limited to ``time_limit`` seconds (or the default)."""
    from purpose_desktop.engine.tools.user_tools import DEFAULT_TIMEOUT, discover_user_tools

    timeout = DEFAULT_TIMEOUT if time_limit is None else time_limit
    return await discover_user_tools(paths.user_tools_dir, timeout=timeout)


def _user_folder_text(paths: Paths) -> str:
    """How a problem of a user tool starts: with the folder's path."""
    return str(paths.user_tools_dir)
