"""``purpose-desktop self-test``: check that this installation works, end to end.

Meant for a freshly built bundle (and for a person wondering whether their install is sound):
it reads the shipped resources, writes and reads a database, loads a model and generates a few
tokens in a model process, runs code with the python tool, and opens the main window
offscreen. Everything happens in a
temporary home folder that is removed afterwards, so the user's own teams, memory and models
are never touched. Exit code 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.config import HOME_ENV, Paths, example_team_file, resources_dir
from purpose_desktop.errors import UserError

if TYPE_CHECKING:
    from purpose_desktop.app import AppParts

#: The model the check loads unless told otherwise: it ships with the app.
DEFAULT_MODEL = "bundled:smollm2-135m"
_TOKENS = 8


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str
    seconds: float


def run_self_test(
    model: str = DEFAULT_MODEL, report: Callable[[CheckResult], None] | None = None
) -> list[CheckResult]:
    """Run every check in a temporary home folder, calling ``report`` after each; the checks
    after a failed one still run, so one run tells everything that is wrong."""
    checks: list[tuple[str, Callable[[Paths], str]]] = [
        ("resources", _check_resources),
        ("database", _check_database),
        ("model", lambda paths: _check_model(paths, model)),
        ("python", _check_python_tool),
        ("window", _check_window),
    ]
    results = []
    with _temporary_home() as paths:
        for name, check in checks:
            result = _timed(name, check, paths)
            results.append(result)
            if report is not None:
                report(result)
    return results


def print_result(result: CheckResult) -> None:
    mark = "ok" if result.passed else "FAILED"
    print(f"{result.name:<10} {mark:<7} {result.seconds:5.1f} s  {result.detail}", flush=True)


@contextlib.contextmanager
def _temporary_home() -> Iterator[Paths]:
    """A fresh home folder, set in the environment for the window (which finds its home
    there, as it does on a normal start) and removed afterwards."""
    previous = os.environ.get(HOME_ENV)
    with tempfile.TemporaryDirectory(prefix="purpose-self-test-") as folder:
        os.environ[HOME_ENV] = folder
        try:
            paths = Paths(Path(folder))
            paths.ensure()
            yield paths
        finally:
            if previous is None:
                os.environ.pop(HOME_ENV, None)
            else:
                os.environ[HOME_ENV] = previous


def _timed(name: str, check: Callable[[Paths], str], paths: Paths) -> CheckResult:
    started = time.monotonic()
    try:
        detail, passed = check(paths), True
    except Exception as exc:  # every failure is a result to report, not a crash
        detail, passed = f"{type(exc).__name__}: {exc}", False
    return CheckResult(name, passed, detail, time.monotonic() - started)


def _check_resources(paths: Paths) -> str:
    from purpose_desktop.engine.evaluation.suites import load_suite
    from purpose_desktop.engine.team_file import load_team

    team = load_team(example_team_file())
    suite = load_suite(resources_dir() / "suites" / "arithmetic.yaml")
    return f"sample team '{team.spec.name}' and suite '{suite.name}' load"


def _check_database(paths: Paths) -> str:
    from purpose_desktop.engine.learning.memory import Heuristic, Tier
    from purpose_desktop.store.opening import open_store

    store = open_store(paths.database_file)
    try:
        written = Heuristic(
            team="self-test",
            tier=Tier.STRATEGIC,
            pattern="a self-test",
            strategy="check every part once",
        )
        asyncio.run(store.memory.add_heuristic(written))
        read = asyncio.run(store.memory.list_heuristics("self-test"))
    finally:
        store.engine.dispose()
    if [(h.pattern, h.strategy) for h in read] != [(written.pattern, written.strategy)]:
        raise AssertionError(f"wrote one heuristic, read back {read!r}")
    return f"wrote and read back {paths.database_file.name}"


def _check_model(paths: Paths, reference: str) -> str:
    from purpose_desktop.app import build_app_parts

    services = build_app_parts(paths)
    try:
        text, tokens, variant = asyncio.run(_generate(services, reference))
    finally:
        asyncio.run(services.aclose())
    if tokens < 1:
        raise AssertionError(f"{reference} generated no tokens")
    cpu = f" (CPU code: {variant})" if variant else ""
    return f"{reference} generated {tokens} tokens{cpu}: {text.strip()[:40]!r}"


async def _generate(services: AppParts, reference: str) -> tuple[str, int, str | None]:
    """The text and token count of a short answer, and the CPU variant the model ran on."""
    from purpose_desktop.models.messages import (
        ChatMessage,
        GenerationOptions,
        StreamDone,
        TokenDelta,
    )

    pieces: list[str] = []
    tokens = 0
    async with services.models.use(reference, Path.cwd(), lambda status: None) as model:
        messages = [ChatMessage("user", "Say hello.")]
        async for event in model.stream_chat(messages, GenerationOptions(max_tokens=_TOKENS)):
            if isinstance(event, TokenDelta):
                pieces.append(event.text)
            elif isinstance(event, StreamDone):
                tokens = event.usage.completion_tokens
        variant = getattr(model, "cpu_variant", None)
    return "".join(pieces), tokens, variant


def _check_python_tool(paths: Paths) -> str:
    """The python tool runs code in its child process, importing a module the app itself has
    not (an installed build reads it from its executable); the OS sandbox's state is
    reported."""
    from purpose_desktop.engine.tools.python_runner import run_python

    code = "import statistics\nprint(statistics.median([41, 42, 43]))"
    result = asyncio.run(run_python(code, paths.workspaces_dir / "self-test"))
    lines = result.output.splitlines()
    if not result.ok or not lines or lines[-1] != "42":
        raise AssertionError(f"the python tool did not find the median: {result.describe()}")
    if len(lines) > 1:  # the note on what the system could not give
        return f"ran code; {lines[0].removeprefix('Note: ')}"
    return "ran code in the OS sandbox (namespaces, Landlock, seccomp)"


def _check_window(paths: Paths) -> str:
    """The real start of the window, offscreen, closed as soon as it has shown."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from purpose_desktop.app import run_gui

    started = time.time()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = run_gui(quit_after_shown=0.5)
    shown = [
        json.loads(line)
        for line in printed.getvalue().splitlines()
        if line.startswith('{"shown_at"')
    ]
    if code != 0 or not shown:
        raise AssertionError(
            f"the window {'never showed' if not shown else 'showed'} and the app exited with {code}"
        )
    return f"shown {shown[0]['shown_at'] - started:.2f} s after start, closed cleanly"


def main(model: str) -> int:
    """The command: one line per check, then a verdict."""
    try:
        results = run_self_test(model, report=print_result)
    except UserError as exc:
        print(f"self-test could not run: {exc}", file=sys.stderr)
        return exc.exit_code
    failed = [result.name for result in results if not result.passed]
    print("All checks passed." if not failed else f"Failed: {', '.join(failed)}.", flush=True)
    return 1 if failed else 0
