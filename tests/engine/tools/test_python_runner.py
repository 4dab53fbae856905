"""The python tool: real child processes, their limits, their guard and their end."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.engine.tools.base import ToolContext, ToolError
from purpose_desktop.engine.tools.calculator import CALCULATOR
from purpose_desktop.engine.tools.functions import call_tool
from purpose_desktop.engine.tools.python_runner import (
    PYTHON,
    PythonResult,
    python_tool,
    run_python,
)
from tests.support.processes import is_gone

pytestmark = pytest.mark.process


def run(code: str, workspace: Path, **options: float) -> PythonResult:
    return asyncio.run(run_python(code, workspace, **options))  # type: ignore[arg-type]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "workspace"
    folder.mkdir()
    return folder


def test_prints_output_and_reports_the_exit_status(workspace: Path) -> None:
    result = run(
        "import sys\nprint('hello')\nprint('oops', file=sys.stderr)\nprint(6 * 7)", workspace
    )
    assert result.ok
    assert result.output == "hello\noops\n42\n"  # interleaved in the order written
    assert result.describe() == "exit status 0\nhello\noops\n42\n"


def test_a_failure_leads_with_its_last_line_and_hides_the_sandbox(workspace: Path) -> None:
    result = run("def f():\n    return 1 / 0\nf()", workspace)
    assert result.exit_code == 1
    text = result.describe()
    assert text.startswith("exit status 1: ZeroDivisionError: division by zero\n")
    assert 'File "<code>", line 2, in f' in text
    assert "<string>" not in text  # the bootstrap's own frames are left out
    assert run("raise SystemExit(3)", workspace).exit_code == 3
    syntax = run("print(", workspace)
    assert syntax.exit_code == 1
    assert "SyntaxError" in syntax.summary()


def test_the_time_limit_kills_the_process(workspace: Path) -> None:
    started = time.monotonic()
    result = run(
        "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(60)", workspace, timeout=1.0
    )
    assert time.monotonic() - started < 10
    assert result.timed_out
    assert not result.ok
    assert result.summary() == "stopped: the code ran longer than 1 s"
    pid = int(result.output.split()[0])  # the output so far is kept
    assert pid == result.pid
    assert is_gone(pid)


def test_cancelling_the_caller_kills_the_process(workspace: Path) -> None:
    code = "import os, time\nopen('pid.txt', 'w').write(str(os.getpid()))\ntime.sleep(60)"

    async def scenario() -> int:
        task = asyncio.create_task(run_python(code, workspace, timeout=60))
        pid_file = workspace / "pid.txt"
        for _ in range(200):
            if pid_file.exists() and pid_file.read_text():
                break
            await asyncio.sleep(0.05)
        pid = int(pid_file.read_text())
        assert not is_gone(pid)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return pid

    pid = asyncio.run(scenario())
    assert is_gone(pid)


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux only"
)
def test_memory_limit_on_linux(workspace: Path) -> None:
    code = "data = bytearray(600 * 1024 * 1024)\nprint('allocated')"
    limited = run(code, workspace, memory_limit=256 * 1024 * 1024)
    assert "MemoryError" in limited.summary()
    assert "allocated" not in limited.output


def test_network_is_refused(workspace: Path) -> None:
    for code in (
        "import socket\nsocket.create_connection(('127.0.0.1', 9))",
        "import socket\ns = socket.socket()\ns.connect(('127.0.0.1', 9))",
        "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 0))",
        "import urllib.request\nurllib.request.urlopen('http://example.com')",
    ):
        result = run(code, workspace)
        assert result.exit_code == 1, code
        assert "PermissionError: network access is not allowed" in result.summary(), code


def test_new_processes_and_native_code_are_refused(workspace: Path) -> None:
    for code, message in (
        ("import subprocess\nsubprocess.run(['true'])", "starting other programs"),
        ("import os\nos.system('true')", "starting other programs"),
        ("import os\nos.fork()", "starting other programs"),
        ("import os\nos.execv('/bin/true', ['true'])", "starting other programs"),
        ("import ctypes\nctypes.CDLL(None).getpid()", "native code (ctypes)"),
        ("import os\nos.kill(1, 0)", "signalling other processes"),
        (
            "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (-1, -1))",
            "changing resource limits",
        ),
    ):
        result = run(code, workspace)
        assert message in result.summary(), code


def test_writing_outside_the_workspace_is_refused(workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    for code in (
        f"open({str(outside)!r}, 'w').write('x')",
        "open('../outside.txt', 'w').write('x')",
        f"from pathlib import Path\nPath({str(outside)!r}).write_text('x')",
        f"import os\nos.mkdir({str(tmp_path / 'new-folder')!r})",
        f"import os\nos.chdir({str(tmp_path)!r})",
        "import os\nos.symlink('/etc', 'etc')",
    ):
        result = run(code, workspace)
        assert result.exit_code == 1, code
        assert "PermissionError" in result.summary(), code
    assert not outside.exists()
    assert not (tmp_path / "new-folder").exists()
    assert not (workspace / "etc").exists()


def test_reading_outside_the_workspace_is_refused(workspace: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    (workspace / "link.txt").symlink_to(secret)
    for code in (
        f"print(open({str(secret)!r}).read())",
        "print(open('link.txt').read())",
        f"import os\nprint(os.listdir({str(tmp_path)!r}))",
    ):
        result = run(code, workspace)
        assert "is outside the run's workspace" in result.summary(), code
        assert "do not read" not in result.output


def test_reading_and_writing_inside_the_workspace_work(workspace: Path) -> None:
    (workspace / "data.txt").write_text("41")
    code = (
        "from pathlib import Path\n"
        "value = int(Path('data.txt').read_text()) + 1\n"
        "Path('out/result.txt').parent.mkdir()\n"
        "Path('out/result.txt').write_text(str(value))\n"
        "import os, shutil, tempfile\n"
        "shutil.copy('data.txt', 'copy.txt')\n"
        "with tempfile.NamedTemporaryFile() as scratch:\n"
        "    scratch.write(b'temporary files go to a private folder')\n"
        "os.makedirs('gone/deeper')\n"
        "Path('gone/deeper/file.txt').write_text('x')\n"
        "shutil.rmtree('gone')\n"  # removes through folder descriptors
        "print(sorted(os.listdir('.')))\n"
    )
    result = run(code, workspace)
    assert result.ok, result.describe()
    assert result.output == "['copy.txt', 'data.txt', 'out']\n"
    assert (workspace / "out" / "result.txt").read_text() == "42"


def test_imports_work(workspace: Path) -> None:
    (workspace / "helper.py").write_text("ANSWER = 42\n")
    code = (
        "import asyncio, collections, csv, dataclasses, datetime, decimal, fractions\n"
        "import hashlib, itertools, json, math, random, re, sqlite3, statistics, textwrap\n"
        "import ctypes, typing, uuid\n"
        "import numpy\n"
        "import helper\n"
        "print(statistics.mean([1, 2, 3]), int(numpy.arange(5).sum()), helper.ANSWER)\n"
        "print(asyncio.run(asyncio.sleep(0, 'async works')))\n"
        "db = sqlite3.connect(':memory:')\n"
        "print(db.execute('select 40 + 2').fetchone()[0])\n"
    )
    result = run(code, workspace)
    assert result.ok, result.describe()
    assert result.output == "2 10 42\nasync works\n42\n"


def test_the_code_keeps_its_own_future_imports(workspace: Path) -> None:
    result = run("def f(x: int) -> None: pass\nprint(f.__annotations__['x'])", workspace)
    assert result.output == "<class 'int'>\n"  # not the string 'int' of the bootstrap's


def test_the_environment_is_not_inherited(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PURPOSE_TEST_SECRET_TOKEN", "hunter2")
    result = run(
        "import os\nprint(os.environ.get('PURPOSE_TEST_SECRET_TOKEN'))\nprint(os.getcwd())",
        workspace,
    )
    assert result.output == f"None\n{workspace.resolve()}\n"


def test_long_output_keeps_its_beginning_and_its_end(workspace: Path) -> None:
    result = run("print('x' * 10000)\nraise ValueError('the end')", workspace, output_limit=600)
    assert result.cut_chars > 0
    assert len(result.output) < 700
    assert result.output.startswith("x" * 400)
    assert "characters of output cut" in result.output
    assert result.output.rstrip().endswith("ValueError: the end")
    assert result.summary() == "exit status 1: ValueError: the end"


def test_endless_output_stops_the_program(workspace: Path) -> None:
    result = run("while True:\n    print('y' * 1000)", workspace, timeout=15.0)
    assert result.output_overflow
    assert not result.timed_out
    assert result.summary().startswith("stopped: the code printed more than")
    assert is_gone(result.pid)


def test_empty_or_huge_code_is_refused(workspace: Path) -> None:
    with pytest.raises(ToolError, match="no code to run"):
        run("   ", workspace)
    with pytest.raises(ToolError, match="too long"):
        run("#" * 200_000, workspace)


def test_the_tool_runs_in_the_context_workspace(workspace: Path) -> None:
    assert PYTHON.name == "python"
    assert PYTHON.risky
    assert PYTHON.parameters["required"] == ["code"]
    output = asyncio.run(call_tool(PYTHON, {"code": "print(2 + 2)"}, ToolContext(workspace)))
    assert output == "exit status 0\n4\n"
    quick = python_tool(timeout=0.5)
    assert quick.timeout > 0.5  # the runner's own limit fires first, with a clearer message
    # Code that does not run to its end is a failed call, with the same text for the agent.
    with pytest.raises(ToolError, match=r"^stopped: the code ran longer than 0\.5 s"):
        asyncio.run(call_tool(quick, {"code": "while True: pass"}, ToolContext(workspace)))
    with pytest.raises(ToolError, match=r"^exit status 1: ZeroDivisionError"):
        asyncio.run(call_tool(PYTHON, {"code": "1/0"}, ToolContext(workspace)))


def test_runs_on_the_apps_qt_event_loop(
    run_in_qt_loop: Callable[[Coroutine[Any, Any, str]], str], workspace: Path
) -> None:
    # The app drives the engine on a qasync loop: subprocesses and worker threads (the
    # calculator is a sync function) must work there too.
    context = ToolContext(workspace)
    assert run_in_qt_loop(call_tool(PYTHON, {"code": "print('qt')"}, context)) == (
        "exit status 0\nqt\n"
    )
    assert run_in_qt_loop(call_tool(CALCULATOR, {"expression": "6*7"}, context)) == "42"
