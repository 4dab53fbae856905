"""The tools' child processes in a frozen build, where the app's executable starts again as
the child: here a stand-in executable that runs the ``purpose-desktop`` command with
``sys.frozen`` set, as PyInstaller's does, so the real hand-over and child programs run."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from pathlib import Path

import pytest
from purpose_desktop.engine.tools.base import ToolContext
from purpose_desktop.engine.tools.functions import call_tool
from purpose_desktop.engine.tools.python_runner import run_python
from purpose_desktop.engine.tools.user_tools import discover_user_tools

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(os.name != "posix", reason="the stand-in executable is a shell script"),
]


@pytest.fixture
def frozen_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process made to look like a frozen build whose executable is a stand-in."""
    executable = tmp_path / "build" / "purpose-desktop"
    executable.parent.mkdir()
    program = (
        "import sys; sys.frozen = True; from purpose_desktop.cli import main; sys.exit(main())"
    )
    executable.write_text(f'#!/bin/sh\nexec {sys.executable} -c "{program}" "$@"\n')
    executable.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(executable))
    return executable


def test_the_python_tool_runs_code_through_the_builds_executable(
    frozen_build: Path, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    code = (
        "import statistics, os\n"
        "print(statistics.mean([1, 2, 6]))\n"
        "print(os.readlink('/proc/self/ns/net'))"
    )
    result = asyncio.run(run_python(code, workspace))
    assert result.ok, result.describe()
    mean, namespace = result.output.splitlines()
    assert mean == "3"
    # Confined as from source: a network namespace of its own.
    assert namespace != Path("/proc/self/ns/net").readlink().name
    failed = asyncio.run(run_python("open('/etc/hostname').read()", workspace))
    assert not failed.ok
    assert "PermissionError" in failed.summary()


def test_your_own_tools_run_through_the_builds_executable(
    frozen_build: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "tools"
    folder.mkdir()
    (folder / "greetings.py").write_text(
        textwrap.dedent(
            '''
            def greet(name: str) -> str:
                """Greet someone by name."""
                return f"Hello, {name}!"
            '''
        )
    )
    tools = asyncio.run(discover_user_tools(folder))
    assert tools.problems == ()
    (tool,) = tools.tools
    context = ToolContext(workspace=tmp_path / "workspace")
    assert asyncio.run(call_tool(tool, {"name": "Ada"}, context)) == "Hello, Ada!"
