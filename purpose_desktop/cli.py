"""The ``purpose-desktop`` command: the GUI with no arguments (or with GGUF files, which it
adds), headless subcommands otherwise.

Exit codes: 0 success; 1 a run that started and failed (a model that cannot be loaded is found
out here), or whose record could not be saved, and a team whose models do not fit the memory
budget together (``teams check``); 2 bad input or environment caught before anything ran, such
as a missing or malformed team file or a number out of range (the message says what to fix);
130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from purpose_desktop import __version__
from purpose_desktop.engine.tools.child_entry import PYTHON_TOOL_ARGUMENT, USER_TOOL_ARGUMENT
from purpose_desktop.errors import UserError
from purpose_desktop.models.worker_entry import WORKER_ARGUMENT

if TYPE_CHECKING:
    from purpose_desktop.services.tools import ToolsService

#: What ``runs list --status`` accepts: how a stored run ended, or that it is going or stopped.
RUN_STATUSES = ("running", "interrupted", "completed", "failed", "cancelled")
#: The commands; without one, the window opens.
COMMANDS = ("run", "models", "tools", "mcp", "runs", "memory", "teams", "bench", "self-test")


def _whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``, else argparse's error
    naming the option and the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}, not {text}")
        return value

    return parse


def _positive(text: str) -> float:
    """An argparse type: a number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be above zero, not {text}")
    return value


def _share(text: str) -> float:
    """An argparse type: a share above 0 and at most 0.9, as a fraction or a percentage
    (``0.3`` or ``30%``)."""
    percent = text.strip().endswith("%")
    try:
        value = float(text.strip().removesuffix("%")) / (100 if percent else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share such as 0.3 or 30%") from None
    if not 0 < value <= 0.9:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 0.9 (90%), not {text}")
    return value


#: At most this many runs or teams are listed at once.
MAX_LISTED = 10_000


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="purpose-desktop",
        description="Run teams of AI agents on small local models. "
        "With no command, opens the desktop application; GGUF files given "
        "(purpose-desktop FILE.gguf) are added to its models.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # Used by the start-up benchmark and tests: quit this many seconds after the window shows.
    parser.add_argument("--quit-after-shown", type=float, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run a team on a task, headless")
    run.add_argument("team_file", type=Path, metavar="TEAM_FILE", help="a .yaml or .toml team")
    run.add_argument("--task", required=True, help="what the team should do")
    run.add_argument(
        "--auto-approve",
        action="store_true",
        help="approve every action and keep every score without asking "
        "(otherwise the terminal asks, as each agent's review policy says)",
    )
    run.add_argument("--json", action="store_true", help="print one JSON summary, no stream")
    run.add_argument(
        "--events",
        type=Path,
        metavar="FILE.jsonl",
        help="also write every event to this file, one JSON object per line",
    )

    models = commands.add_parser("models", help="the models the app can use")
    models_commands = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    listing = models_commands.add_parser("list", help="list bundled and local GGUF models")
    listing.add_argument("--json", action="store_true", help="print JSON")
    probing = models_commands.add_parser(
        "probe", help="what each backend offers now: local files, Ollama, configured servers"
    )
    probing.add_argument("--json", action="store_true", help="print JSON")
    key = models_commands.add_parser(
        "key", help="save or remove a server's API key in the system keyring"
    )
    key.add_argument("key_action", choices=("set", "remove"), metavar="set|remove")
    key.add_argument("server", metavar="SERVER", help="the server's name in the settings")
    adding = models_commands.add_parser(
        "add", help="check a GGUF file and copy it into the models folder"
    )
    adding.add_argument("path", type=Path, metavar="PATH", help="the .gguf file to add")
    adding.add_argument(
        "--link", action="store_true", help="link to the file where it is instead of copying it"
    )
    _models_hub_parsers(models_commands)

    _tools_parsers(commands)
    bench = commands.add_parser("bench", help="print measured performance ratios")
    bench_commands = bench.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    stream = bench_commands.add_parser(
        "stream", help="streaming tokens/s through the app's model layer vs raw llama-cpp-python"
    )
    stream.add_argument("--model", default="smollm2-135m", help="a bundled model or a GGUF path")
    stream.add_argument(
        "--tokens",
        type=_whole(1, 100_000),
        default=256,
        help="tokens to generate per run (1 to 100,000)",
    )
    stream.add_argument(
        "--runs",
        type=_whole(1, 100),
        default=3,
        help="alternating rounds to take medians of (1 to 100)",
    )
    stream.add_argument("--json", action="store_true", help="print JSON")
    step = bench_commands.add_parser(
        "step",
        help="where an agent step's time goes: prompt evaluation, first token, "
        "generation, critic and engine, against raw llama-cpp-python",
    )
    step.add_argument("--model", default="smollm2-135m", help="a bundled model or a GGUF path")
    step.add_argument(
        "--steps", type=_whole(1, 20), default=4, help="steps each task may take (1 to 20)"
    )
    step.add_argument(
        "--repeats",
        type=_whole(1, 20),
        default=3,
        help="times to run the tasks, for medians and spread (1 to 20)",
    )
    step.add_argument("--json", action="store_true", help="print JSON")
    ui = bench_commands.add_parser(
        "ui",
        help="event-loop lag and token-to-paint delay while agents stream into the window "
        "(exit 1 when the targets are missed)",
    )
    ui.add_argument(
        "--agents", type=_whole(1, 64), default=3, help="agents streaming at once (3; at most 64)"
    )
    ui.add_argument(
        "--tokens", type=_whole(1, 1_000_000), default=2000, help="tokens each agent streams (2000)"
    )
    ui.add_argument(
        "--rate",
        type=_positive,
        default=300.0,
        help="tokens a second each scripted agent streams (300)",
    )
    ui.add_argument(
        "--idle-seconds",
        type=_positive,
        default=3.0,
        help="how long to measure the idle window first (3)",
    )
    ui.add_argument(
        "--rounds",
        type=_whole(1, 20),
        default=5,
        help="rounds of streaming to take the median of the slowest frames over (5; 1 to 20)",
    )
    ui.add_argument(
        "--model",
        help="a real model for every agent instead of the scripted ones, "
        "such as bundled:smollm2-135m",
    )
    ui.add_argument("--json", action="store_true", help="print JSON")
    _improve_parser(bench_commands)
    _bench_tools_parser(bench_commands)
    _store_parsers(commands)
    from purpose_desktop.self_test import DEFAULT_MODEL

    self_test = commands.add_parser(
        "self-test",
        help="check that this installation works: resources, database, a model "
        "generating a few tokens, the window (offscreen), in a throwaway home folder",
    )
    self_test.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"the model to load ({DEFAULT_MODEL})"
    )
    return parser


def _bench_tools_parser(
    bench_commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    tools = bench_commands.add_parser(
        "tools",
        help="tool-call accuracy on real MCP servers' tool schemas: the agent's action "
        "format against raw llama-cpp-python",
    )
    tools.add_argument("--model", default="smollm2-135m", help="a bundled model or a GGUF path")
    tools.add_argument(
        "--cases",
        type=_whole(1, 10_000),
        help="run only the first N cases and requests that need no tool (default: all)",
    )
    tools.add_argument(
        "--threads", type=_whole(1, 256), help="threads for both paths (default: the setting)"
    )
    tools.add_argument("--json", action="store_true", help="print JSON")


def _improve_parser(bench_commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from purpose_desktop.engine.evaluation.runner import Arm

    improve = bench_commands.add_parser(
        "improve",
        help="run a team on a suite for several iterations, learning on and off "
        "and with simulated score corrections, and save the improvement curves",
    )
    improve.add_argument(
        "--suite",
        required=True,
        help="a suite's name (built-in or in the home folder's suites folder) or a suite file",
    )
    improve.add_argument(
        "--iterations",
        type=_whole(1, 1000),
        default=3,
        help="how often every task is run in each arm (3)",
    )
    improve.add_argument(
        "--holdout",
        type=_share,
        default=0.0,
        metavar="FRACTION",
        help="hold this share of the tasks out (0.3 or 30%%): the team learns on the rest and "
        "is tested on them after every iteration, learning frozen",
    )
    improve.add_argument(
        "--repeats",
        type=_whole(1, 100),
        default=1,
        help="run the benchmark this many times, each with fresh memories and its own split, "
        "and report the mean and the spread (1)",
    )
    improve.add_argument(
        "--team",
        type=Path,
        metavar="TEAM_FILE",
        help="a .yaml or .toml team (by default the sample team the suite names)",
    )
    improve.add_argument(
        "--arm",
        action="append",
        choices=[arm.value for arm in Arm],
        help="run this arm (repeat for several). By default the first three: "
        "learning on, learning off, with overrides; the others are ablations",
    )
    improve.add_argument("--json", action="store_true", help="print the result as JSON")
    improve.add_argument(
        "--out",
        type=Path,
        metavar="FILE.json",
        help="save the result here instead of the benchmarks folder",
    )


def _tools_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tools = commands.add_parser("tools", help="the tools agents can be given")
    tools_commands = tools.add_subparsers(dest="tools_command", metavar="ACTION", required=True)
    listing = tools_commands.add_parser(
        "list",
        help="every tool: the built-in ones, your own (the tools folder of the home folder) "
        "and those of the MCP servers in mcp.json",
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    call = tools_commands.add_parser(
        "call", help="call one tool by hand (built-in, your own, or an MCP server's as SERVER.TOOL)"
    )
    call.add_argument("name", metavar="NAME", help="the tool, as tools list names it")
    call.add_argument(
        "--args", default="{}", metavar="JSON", help="its arguments, a JSON object ({})"
    )
    call.add_argument(
        "--timeout", type=_positive, metavar="S", help="seconds it may take (its own limit)"
    )
    mcp = commands.add_parser("mcp", help="the MCP servers in the home folder's mcp.json")
    mcp_commands = mcp.add_subparsers(dest="mcp_command", metavar="ACTION", required=True)
    listing = mcp_commands.add_parser(
        "list", help="each server: its transport, whether it starts and how many tools it has"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    imported = mcp_commands.add_parser(
        "import", help="merge the servers of a Claude Desktop, Cursor or LM Studio mcp.json"
    )
    imported.add_argument("file", type=Path, metavar="FILE.json")


def _window_options(argv: list[str]) -> argparse.Namespace | None:
    """The options of a plain start of the window, or ``None`` when ``argv`` names a command
    or asks for anything else (help, the version). Only then is the whole parser built: its
    every command and option take a noticeable part of the window's start-up."""
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument("--quit-after-shown", type=float)
    parser.set_defaults(command=None)
    try:
        args, rest = parser.parse_known_args(argv)
    except argparse.ArgumentError:
        return None  # the whole parser says what is wrong, in its words
    return None if rest else args


def _files_to_open(argv: list[str], commands: Collection[str]) -> tuple[list[str], list[Path]]:
    """Split off GGUF files given without a command: a file manager opening them with the app
    runs ``purpose-desktop FILE.gguf ...``, which opens the window and adds them. Returns the
    other arguments and the files."""
    if any(arg in commands for arg in argv):
        return argv, []
    files = [arg for arg in argv if arg.lower().endswith(".gguf") and not arg.startswith("-")]
    return [arg for arg in argv if arg not in files], [Path(name) for name in files]


def _store_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    runs = commands.add_parser("runs", help="the runs kept in the database")
    runs_commands = runs.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    listing = runs_commands.add_parser("list", help="the latest runs, newest first")
    listing.add_argument("--status", choices=RUN_STATUSES, help="only runs in this state")
    listing.add_argument(
        "--limit", type=_whole(1, MAX_LISTED), default=20, help="at most this many (20)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    show = runs_commands.add_parser("show", help="a run's steps, score overrides and totals")
    show.add_argument("run_id", metavar="ID", help="a run's id, or the start of it")
    show.add_argument("--events", action="store_true", help="also print every event")
    show.add_argument("--json", action="store_true", help="print JSON")
    resume = runs_commands.add_parser(
        "resume", help="go on with an interrupted run from its last step, headless"
    )
    resume.add_argument("run_id", metavar="ID", help="a run's id, or the start of it")
    resume.add_argument(
        "--auto-approve",
        action="store_true",
        help="approve every action and keep every score without asking",
    )
    resume.add_argument("--json", action="store_true", help="print one JSON summary, no stream")
    resume.add_argument(
        "--events",
        type=Path,
        metavar="FILE.jsonl",
        help="also write every new event to this file, one JSON object per line",
    )
    export = runs_commands.add_parser("export", help="write a run to a JSON lines file")
    export.add_argument("run_id", metavar="ID", help="a run's id, or the start of it")
    export.add_argument("file", type=Path, metavar="FILE", help="the .jsonl file to write")
    imports = runs_commands.add_parser("import", help="add a run from a file 'runs export' wrote")
    imports.add_argument("file", type=Path, metavar="FILE", help="the .jsonl file to read")
    report = runs_commands.add_parser(
        "report", help="save a run as one self-contained HTML page: steps, Φ chart, costs"
    )
    report.add_argument("run_id", metavar="ID", help="a run's id, or the start of it")
    report.add_argument(
        "--output", "-o", type=Path, required=True, metavar="FILE", help="the .html file to write"
    )

    memory = commands.add_parser("memory", help="what the teams have learned")
    memory_commands = memory.add_subparsers(dest="memory_command", metavar="ACTION", required=True)
    export = memory_commands.add_parser(
        "export", help="write heuristics, experiences and score anchors to a JSON file"
    )
    export.add_argument("file", type=Path, metavar="FILE", help="the .json file to write")
    export.add_argument("--team", help="only this team's memory (default: every team's)")
    imports = memory_commands.add_parser(
        "import", help="merge a file 'memory export' wrote into the memory"
    )
    imports.add_argument("file", type=Path, metavar="FILE", help="the .json file to read")

    teams = commands.add_parser("teams", help="teams saved in the database")
    teams_commands = teams.add_subparsers(dest="teams_command", metavar="ACTION", required=True)
    save = teams_commands.add_parser(
        "save", help="save a team file's team (replacing one of the same name)"
    )
    save.add_argument("team_file", type=Path, metavar="TEAM_FILE", help="a .yaml or .toml team")
    listing = teams_commands.add_parser("list", help="the saved teams, by name")
    listing.add_argument(
        "--limit", type=_whole(1, MAX_LISTED), default=100, help="at most this many (100)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    export = teams_commands.add_parser("export", help="write a saved team as a team file")
    export.add_argument("name", metavar="NAME", help="the team's name")
    export.add_argument("file", type=Path, metavar="FILE", help="the .yaml or .toml file")
    delete = teams_commands.add_parser("delete", help="forget a saved team")
    delete.add_argument("name", metavar="NAME", help="the team's name")
    check = teams_commands.add_parser(
        "check",
        help="whether a team file's local models fit the memory budget together "
        "(exit 1 when they do not)",
    )
    check.add_argument("team_file", type=Path, metavar="TEAM_FILE", help="a .yaml or .toml team")
    check.add_argument("--json", action="store_true", help="print JSON")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``purpose-desktop`` command; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [WORKER_ARGUMENT]:
        from purpose_desktop.models.llama_worker import main as serve_model

        return serve_model()
    if argv[:1] == [PYTHON_TOOL_ARGUMENT]:
        from purpose_desktop.engine.tools.python_runner import serve_frozen_child

        return serve_frozen_child(argv[1:])
    if argv[:1] == [USER_TOOL_ARGUMENT]:
        from purpose_desktop.engine.tools.user_tool_worker import main as serve_user_tools

        return serve_user_tools()
    _attach_windows_console()
    _utf8_output()
    argv, files = _files_to_open(argv, COMMANDS)
    args = _window_options(argv) or _parser().parse_args(argv)
    try:
        return _dispatch(args, files)
    except UserError as exc:
        print(f"purpose-desktop: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("purpose-desktop: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace, files: list[Path]) -> int:
    if args.command == "run":
        from purpose_desktop.cli_run import run_command

        return run_command(
            args.team_file,
            args.task,
            as_json=args.json,
            auto_approve=args.auto_approve,
            events_file=args.events,
        )
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "models": _models,
        "tools": _tools,
        "mcp": _mcp,
        "bench": _bench,
    }
    if args.command in commands:
        return commands[args.command](args)
    if args.command in ("runs", "memory", "teams"):
        return _store_command(args)
    if args.command == "self-test":
        from purpose_desktop.self_test import main as self_test

        return self_test(args.model)
    from purpose_desktop.app import run_gui

    return run_gui(quit_after_shown=args.quit_after_shown, add_models=files)


def _bench(args: argparse.Namespace) -> int:
    if args.bench_command == "ui":
        return _bench_ui(args)
    if args.bench_command == "improve":
        return _bench_improve(args)
    if args.bench_command == "step":
        return _bench_step(args)
    if args.bench_command == "tools":
        return _bench_tools(args)
    return _bench_stream(args.model, args.tokens, args.runs, as_json=args.json)


def _store_command(args: argparse.Namespace) -> int:
    from purpose_desktop import cli_store

    actions: dict[tuple[str, str], Callable[[], int]] = {
        ("runs", "list"): lambda: cli_store.runs_list(
            as_json=args.json, status=args.status, limit=args.limit
        ),
        ("runs", "show"): lambda: cli_store.runs_show(
            args.run_id, as_json=args.json, with_events=args.events
        ),
        ("runs", "resume"): lambda: cli_store.runs_resume(
            args.run_id, as_json=args.json, auto_approve=args.auto_approve, events_file=args.events
        ),
        ("runs", "export"): lambda: cli_store.runs_export(args.run_id, args.file),
        ("runs", "import"): lambda: cli_store.runs_import(args.file),
        ("runs", "report"): lambda: cli_store.runs_report(args.run_id, args.output),
        ("memory", "export"): lambda: cli_store.memory_export(args.file, args.team),
        ("memory", "import"): lambda: cli_store.memory_import(args.file),
        ("teams", "save"): lambda: cli_store.teams_save(args.team_file),
        ("teams", "list"): lambda: cli_store.teams_list(as_json=args.json, limit=args.limit),
        ("teams", "export"): lambda: cli_store.teams_export(args.name, args.file),
        ("teams", "delete"): lambda: cli_store.teams_delete(args.name),
        ("teams", "check"): lambda: cli_store.teams_check(args.team_file, as_json=args.json),
    }
    action = getattr(args, f"{args.command}_command")
    return actions[(args.command, action)]()


def _models_hub_parsers(models_commands: argparse._SubParsersAction[Any]) -> None:
    endpoint_help = "the Hub's address (default: $HF_ENDPOINT, else https://huggingface.co)"
    searching = models_commands.add_parser(
        "search", help="search the Hugging Face Hub for repositories of GGUF models"
    )
    searching.add_argument("query", metavar="QUERY", help="part of the model's name")
    searching.add_argument(
        "--limit", type=_whole(1, 1000), default=30, help="at most this many (1 to 1,000)"
    )
    searching.add_argument("--json", action="store_true", help="print JSON")
    searching.add_argument("--endpoint", metavar="URL", help=endpoint_help)
    pulling = models_commands.add_parser(
        "pull",
        help="download a GGUF file from the Hub into the models folder (REPO[:FILE]), "
        "or have Ollama pull a model (ollama:NAME)",
    )
    pulling.add_argument(
        "source",
        metavar="REPO[:FILE]",
        help="OWNER/NAME on the Hub, with :FILE or :QUANTISATION (such as :Q4_K_M) to pick "
        "a file (default: the largest that fits the memory budget); or ollama:NAME",
    )
    pulling.add_argument("--endpoint", metavar="URL", help=endpoint_help)


def _models(args: argparse.Namespace) -> int:
    if args.models_command == "search":
        from purpose_desktop.cli_models import models_search

        return models_search(
            args.query, limit=args.limit, as_json=args.json, endpoint=args.endpoint
        )
    if args.models_command == "pull":
        from purpose_desktop.cli_models import models_pull

        return models_pull(args.source, endpoint=args.endpoint)
    if args.models_command == "add":
        return _models_add(args.path, link=args.link)
    if args.models_command == "key":
        return _models_key(args.key_action, args.server)
    if args.models_command == "probe":
        return _models_probe(as_json=args.json)
    return _models_list(as_json=args.json)


def _models_list(*, as_json: bool) -> int:
    from purpose_desktop.cli_run import terminal_settings
    from purpose_desktop.config import Paths
    from purpose_desktop.models.catalog import list_local_models

    paths = Paths.from_environment()
    paths.ensure()
    context = terminal_settings(paths).context_size
    entries = list_local_models(paths.models_dir, context)
    if as_json:
        print(json.dumps([dataclasses.asdict(e) for e in entries], indent=2))
        return 0
    for entry in entries:
        if entry.error:
            print(f"{entry.reference:<24} unusable: {entry.error}")
            continue
        size_mb = (entry.size_bytes or 0) / 2**20
        memory_mb = (entry.memory_bytes or 0) / 2**20
        params_m = (entry.parameters or 0) / 1e6
        base = "" if entry.instruction_tuned else "  (base model: not tuned for instructions)"
        print(
            f"{entry.reference:<24} {entry.backend:<10} {entry.architecture:<8} "
            f"{params_m:>6.0f}M {entry.quantisation:<7} ctx {entry.context_length or '?':<6} "
            f"{size_mb:>6.0f} MiB file, ~{memory_mb:.0f} MiB at ctx {context}  "
            f"{entry.title}{base}"
        )
    return 0


def _tools_service() -> ToolsService:
    """The tools service, once the MCP servers a killed app left running are ended."""
    from purpose_desktop.config import Paths
    from purpose_desktop.models.orphans import end_orphaned_workers
    from purpose_desktop.services.tools import ToolsService

    paths = Paths.from_environment()
    paths.ensure()
    end_orphaned_workers(paths.mcp_servers_dir)
    return ToolsService(paths)


def _tools(args: argparse.Namespace) -> int:
    if args.tools_command == "call":
        return _tools_call(args.name, args.args, time_limit=args.timeout)
    return _tools_list(as_json=args.json)


def _mcp(args: argparse.Namespace) -> int:
    if args.mcp_command == "import":
        return _mcp_import(args.file)
    return _mcp_list(as_json=args.json)


def _tools_call(name: str, arguments: str, *, time_limit: float | None) -> int:
    """A failing tool is one line and exit code 1; a wrong call (no such tool, arguments
    that are not a JSON object) exit code 2, as every input error."""
    from purpose_desktop.engine.tools.base import ToolError
    from purpose_desktop.limits import shown

    service = _tools_service()
    try:
        output = asyncio.run(service.call(name, arguments, time_limit=time_limit))
    except ToolError as exc:
        print(f"purpose-desktop: {shown(str(exc), 2000)}", file=sys.stderr)
        return 1
    print(output)
    return 0


def _mcp_import(file: Path) -> int:
    service = _tools_service()
    report = asyncio.run(service.import_servers(file))
    for verb, names in (
        ("Added", report.added),
        ("Replaced", report.replaced),
        ("Unchanged", report.unchanged),
    ):
        if names:
            print(f"{verb}: {', '.join(names)}")
    if not (report.added or report.replaced or report.unchanged):
        print(f"{file} names no servers.")
    elif report.added or report.replaced:
        print(f"Saved in {service.config_file}.")
    return 0


def _tools_list(*, as_json: bool) -> int:
    from purpose_desktop.limits import shown

    listing = asyncio.run(_tools_service().tools())
    for problem in listing.problems:
        print(f"purpose-desktop: {problem}", file=sys.stderr)
    if as_json:
        print(json.dumps([dataclasses.asdict(tool) for tool in listing.tools], indent=2))
        return 0
    # What a server says of its tools is shown with any control characters escaped.
    names = [shown(tool.name, 100) for tool in listing.tools]
    width = max(map(len, names))
    for name, tool in zip(names, listing.tools, strict=True):
        lines = tool.description.strip().splitlines()
        print(f"{name:<{width}}  {shown(tool.source):<10} {shown(lines[0] if lines else '', 200)}")
    return 0


def _mcp_list(*, as_json: bool) -> int:
    service = _tools_service()
    servers = asyncio.run(service.servers())
    if as_json:
        entries = [
            {
                **dataclasses.asdict(server),
                "started": server.problem is None,
                "log_file": None if server.log_file is None else str(server.log_file),
            }
            for server in servers
        ]
        print(json.dumps(entries, indent=2))
        return 0
    if not servers:
        print(f"No MCP servers: add them to {service.config_file} (its 'mcpServers' object).")
    for server in servers:
        state = f"{server.tools} tools" if server.problem is None else f"failed: {server.problem}"
        print(f"{server.name:<20} {server.transport:<6} {state}")
    return 0


def _models_key(action: str, server: str) -> int:
    """The key is read from the terminal without echo, or from stdin when piped: never from
    the command line, where it would end up in the shell's history."""
    from purpose_desktop.secrets import delete_api_key, save_api_key

    if action == "remove":
        removed = delete_api_key(server)
        print(
            f"Removed the API key for {server}." if removed else f"No key was saved for {server}."
        )
        return 0
    if sys.stdin.isatty():
        import getpass

        secret = getpass.getpass(f"API key for {server}: ")
    else:
        secret = sys.stdin.readline()
    if not secret.strip():
        raise UserError("No key given: nothing was saved.")
    save_api_key(server, secret)
    print(f"Saved the API key for {server} in the system keyring.")
    return 0


def _models_probe(*, as_json: bool) -> int:
    from purpose_desktop.cli_run import terminal_settings
    from purpose_desktop.config import Paths
    from purpose_desktop.services.models import ModelsService

    paths = Paths.from_environment()
    paths.ensure()
    settings = terminal_settings(paths)
    models = ModelsService(paths.models_dir, None)
    reports = asyncio.run(models.probe(settings.ollama_host, settings.servers))
    if as_json:
        print(json.dumps([dataclasses.asdict(r) for r in reports], indent=2))
        return 0
    for report in reports:
        state = "ready" if report.reachable else "unavailable"
        print(f"{report.backend} at {report.where}: {state} ({report.detail})")
        for reference in report.references:
            print(f"    {reference}")
        for problem in report.unusable:
            print(f"    unusable: {problem}")
    return 0


def _models_add(path: Path, *, link: bool) -> int:
    import threading

    from purpose_desktop.config import Paths
    from purpose_desktop.services.models import ModelsService

    paths = Paths.from_environment()
    paths.ensure()
    shown = -1

    def progress(done: int, total: int) -> None:
        nonlocal shown
        percent = done * 100 // max(total, 1)
        if percent != shown and sys.stderr.isatty():
            print(f"\rCopying {path.name}: {percent:3d} %", end="", file=sys.stderr, flush=True)
        shown = percent

    models = ModelsService(paths.models_dir, None)
    added = asyncio.run(models.copy_file(path, progress, threading.Event(), link=link))
    metadata = added.metadata
    if shown >= 0 and sys.stderr.isatty():
        print(file=sys.stderr)
    print(
        f"Added {metadata.path.name} ({metadata.name}, {metadata.architecture}, "
        f"{metadata.parameter_count / 1e6:.0f}M parameters, {metadata.quantisation}) to "
        f"{paths.models_dir}. Use it in a team file as  model: {metadata.path.name}"
    )
    return 0


def _bench_model(model: str) -> tuple[Path, Path, int]:
    """The GGUF file of a benchmark's ``--model``, the models folder and the thread count."""
    from purpose_desktop.cli_run import terminal_settings
    from purpose_desktop.config import Paths
    from purpose_desktop.models.references import BUNDLED_SCHEME, resolve_model_file

    paths = Paths.from_environment()
    paths.ensure()
    reference = model if model.endswith(".gguf") else BUNDLED_SCHEME + model
    path = resolve_model_file(reference, Path.cwd(), paths.models_dir)
    return path, paths.models_dir, terminal_settings(paths).n_threads


def _bench_stream(model: str, tokens: int, runs: int, *, as_json: bool) -> int:
    from purpose_desktop.bench.stream import measure_stream

    path, _, threads = _bench_model(model)
    result = asyncio.run(measure_stream(model, path, tokens=tokens, runs=runs, n_threads=threads))
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(f"{model}, {tokens} tokens, {threads} threads, median of {runs} runs")
        print(f"  raw llama-cpp-python: {result.raw_tokens_per_s:6.1f} tokens/s")
        print(
            f"  through the app:      {result.app_tokens_per_s:6.1f} tokens/s  "
            f"ratio {result.ratio:.3f} (target >= 0.95)"
        )
        print(
            f"  schema-constrained:   {result.constrained_tokens_per_s:6.1f} tokens/s  "
            f"ratio {result.constrained_ratio:.3f} of unconstrained"
        )
    return 0


def _bench_step(args: argparse.Namespace) -> int:
    from purpose_desktop.bench.step import format_report, measure_step

    path, models_dir, threads = _bench_model(args.model)
    result = asyncio.run(
        measure_step(
            path,
            repeats=args.repeats,
            max_steps=args.steps,
            n_threads=threads,
            models_dir=models_dir,
        )
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_report(result))
    return 0


def _bench_tools(args: argparse.Namespace) -> int:
    from purpose_desktop.bench.tools import format_report, measure_tools

    path, models_dir, threads = _bench_model(args.model)
    result = asyncio.run(
        measure_tools(
            path, models_dir=models_dir, n_threads=args.threads or threads, cases=args.cases
        )
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_report(result))
    return 0


def _bench_ui(args: argparse.Namespace) -> int:
    from purpose_desktop.bench.ui import format_report, measure_ui

    result = measure_ui(
        agents=args.agents,
        tokens=args.tokens,
        rate=args.rate,
        idle_seconds=args.idle_seconds,
        rounds=args.rounds,
        model=args.model,
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_report(result))
    return 0 if result.meets_targets else 1


def _bench_improve(args: argparse.Namespace) -> int:
    from purpose_desktop.app import build_app_parts
    from purpose_desktop.bench import improve
    from purpose_desktop.cli_run import print_problems
    from purpose_desktop.config import resources_dir
    from purpose_desktop.engine.evaluation.runner import ALL_ARMS, Arm
    from purpose_desktop.engine.evaluation.suites import find_suite, suite_team
    from purpose_desktop.services.benchmarks import (
        BenchmarkDone,
        BenchmarkRequest,
        BenchmarkService,
        BenchmarkSetup,
    )

    parts = build_app_parts()
    print_problems(parts.settings_problems)
    paths = parts.paths
    builtin_suites, sample_teams = resources_dir() / "suites", resources_dir() / "teams"
    suite = find_suite(args.suite, builtin_suites, paths.suites_dir)
    team = args.team or suite_team(suite, sample_teams)
    arms = tuple(Arm(value) for value in dict.fromkeys(args.arm)) if args.arm else ALL_ARMS
    setup = BenchmarkSetup(
        models=lambda: parts.models,
        builtin_suites=builtin_suites,
        user_suites=paths.suites_dir,
        sample_teams=sample_teams,
        user_teams=paths.teams_dir,
        max_answer_tokens=parts.settings.max_answer_tokens,
    )
    # Into the database the app lists, as well as the file.
    benchmarks = BenchmarkService(paths.benchmarks_dir, parts.services.store, setup)
    request = BenchmarkRequest(
        suite, team, args.iterations, arms, holdout=args.holdout, repeats=args.repeats
    )

    async def go() -> BenchmarkDone:
        try:
            return await benchmarks.run(request, improve.print_progress, out=args.out)
        finally:
            await parts.aclose()

    done = asyncio.run(go())
    result, kept = done.result, done.kept
    print(
        result.to_json() if args.json else improve.format_table(result),
        end=("" if args.json else "\n"),
    )
    in_database = "" if kept.saved is None else f" and in the database (result {kept.saved.id})"
    print(f"Saved to {kept.file}{in_database}", file=sys.stderr)
    if kept.problem is not None:
        print(f"warning: {kept.problem}", file=sys.stderr)
    return 0


def _utf8_output() -> None:
    """Model output is any Unicode; a console or pipe in a legacy code page must not lose it."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (stream.encoding or "").lower() not in ("utf-8", "utf8"):
            reconfigure(encoding="utf-8", errors="replace")


def _attach_windows_console() -> None:
    """On Windows the command is a GUI program with no console; when a subcommand is run from
    a terminal, write to that terminal instead of nowhere."""
    # os.name rather than sys.platform, which type checkers treat as fixed per platform.
    if os.name != "nt" or getattr(sys, "stdout", None) is not None:
        return
    import ctypes

    kernel32 = getattr(ctypes, "windll").kernel32  # noqa: B009 (exists on Windows only)
    if kernel32.AttachConsole(-1):  # ATTACH_PARENT_PROCESS
        sys.stdout = open("CONOUT$", "w", encoding="utf-8")  # noqa: SIM115, PTH123
        sys.stderr = open("CONOUT$", "w", encoding="utf-8")  # noqa: SIM115, PTH123
