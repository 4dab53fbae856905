"""Escapes tried against the operating system's boundary of the python tool (Linux).

Each escape runs in a real child Python twice: once confined by ``os_sandbox.confine`` alone,
without the python tool's audit hook, so that it is the kernel that refuses it, and once
unconfined, to show that the same code works when nothing stops it. The last tests go through
the whole tool, audit hook included.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from purpose_desktop.engine.tools.os_sandbox import CHILD_FUNCTIONS
from purpose_desktop.engine.tools.python_runner import run_python

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the boundary is Linux's"),
]

CONFINE = "\n\n".join(inspect.getsource(function) for function in CHILD_FUNCTIONS)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "workspace"
    folder.mkdir()
    return folder


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A private key where a person keeps theirs, outside the workspace."""
    key = tmp_path / "home" / ".ssh" / "id_ed25519"
    key.parent.mkdir(parents=True)
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    return key


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port on this machine that accepts connections."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def attempt(code: str, workspace: Path, *, confined: bool) -> dict[str, object]:
    """Run ``code`` (which sets ``result``) in a child, confined first or not; what it set, or
    the error it raised as ``{"error": NAME, "errno": N}``, and the confinement's warning."""
    program = "\n".join(
        [
            CONFINE,
            "import json, os, sys",
            f"warning = confine([{str(workspace)!r}]) if {confined} else None",
            "try:",
            *[f"    {line}" for line in code.splitlines()],
            "    outcome = {'result': result}",
            "except OSError as exc:",
            "    outcome = {'error': type(exc).__name__, 'errno': exc.errno}",
            "outcome['warning'] = warning",
            "print(json.dumps(outcome))",
        ]
    )
    finished = subprocess.run(
        [sys.executable, "-I", "-c", program],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    outcome: dict[str, object] = json.loads(finished.stdout.splitlines()[-1])
    assert outcome["warning"] is None, outcome["warning"]
    return outcome


def refused(code: str, workspace: Path, errno: int) -> None:
    """``code`` works unconfined, and the kernel refuses it with ``errno`` when confined."""
    assert "result" in attempt(code, workspace, confined=False), code
    assert attempt(code, workspace, confined=True) == {
        "error": "PermissionError" if errno in (1, 13) else "OSError",
        "errno": errno,
        "warning": None,
    }, code


def test_reading_a_private_key_outside_the_workspace(workspace: Path, secret: Path) -> None:
    refused(f"result = open({str(secret)!r}).read()", workspace, errno=13)
    # Native code reaching the C library directly meets the same wall.
    refused(
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"descriptor = libc.open({str(secret).encode()!r}, 0)\n"
        "if descriptor < 0:\n"
        "    raise OSError(ctypes.get_errno(), 'open')\n"
        "result = descriptor",
        workspace,
        errno=13,
    )


def test_writing_outside_the_workspace(workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "planted.sh"
    refused(f"result = open({str(outside)!r}, 'w').write('x')", workspace, errno=13)
    # The workspace itself stays writable and readable.
    inside = attempt(
        "open('notes.txt', 'w').write('kept')\nresult = open('notes.txt').read()",
        workspace,
        confined=True,
    )
    assert inside["result"] == "kept"


def test_opening_a_connection(workspace: Path, listener: int) -> None:
    refused(
        f"import socket\nresult = socket.create_connection(('127.0.0.1', {listener})).fileno()",
        workspace,
        errno=13,
    )
    # Datagrams have no route out of the sandbox's own network.
    refused(
        "import socket\n"
        "result = socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto("
        f"b'x', ('127.0.0.1', {listener}))",
        workspace,
        errno=101,
    )


def test_starting_processes_and_fork_bombs(workspace: Path) -> None:
    fork_bomb = (
        "import os\n"
        "children = []\n"
        "for _ in range(3):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os._exit(0)\n"
        "    children.append(pid)\n"
        "for pid in children:\n"
        "    os.waitpid(pid, 0)\n"
        "result = len(children)"
    )
    refused(fork_bomb, workspace, errno=1)
    refused("import subprocess\nresult = subprocess.run(['true']).returncode", workspace, errno=1)
    refused(
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "pid = libc.fork()\n"
        "if pid == 0:\n"
        "    libc._exit(0)\n"
        "if pid < 0:\n"
        "    raise OSError(ctypes.get_errno(), 'fork')\n"
        "result = os.waitpid(pid, 0)[0]",
        workspace,
        errno=1,
    )
    # Threads are not processes: they still work.
    threads = attempt(
        "from concurrent.futures import ThreadPoolExecutor\n"
        "result = list(ThreadPoolExecutor(4).map(lambda n: n * n, range(5)))",
        workspace,
        confined=True,
    )
    assert threads["result"] == [0, 1, 4, 9, 16]


def test_the_standard_library_and_installed_packages_still_work(workspace: Path) -> None:
    outcome = attempt(
        "import ssl, sqlite3, zoneinfo, numpy\n"
        "result = [numpy.arange(4).sum().item(), sqlite3.connect(':memory:').execute("
        "'select 1').fetchone()[0], zoneinfo.ZoneInfo('UTC').key]",
        workspace,
        confined=True,
    )
    assert outcome["result"] == [6, 1, "UTC"]


def test_what_the_system_cannot_give_is_named_and_the_rest_still_holds(
    workspace: Path, secret: Path
) -> None:
    # A process with a second thread cannot enter a new user namespace.
    program = "\n".join(
        [
            CONFINE,
            "import threading, time",
            "threading.Thread(target=time.sleep, args=(5,), daemon=True).start()",
            f"print(confine([{str(workspace)!r}]))",
            "try:",
            f"    open({str(secret)!r}).read()",
            "    print('read')",
            "except PermissionError:",
            "    print('refused')",
        ]
    )
    finished = subprocess.run(
        [sys.executable, "-I", "-c", program], capture_output=True, text=True, check=False
    )
    warning, reading = finished.stdout.strip().splitlines()
    assert warning.startswith("the OS sandbox is incomplete here, missing network isolation")
    assert warning.endswith("the Python-level checks still apply")
    assert reading == "refused"


def test_the_python_tool_runs_in_namespaces_of_its_own_without_a_note(workspace: Path) -> None:
    namespaces = ("net", "user")
    result = asyncio.run(
        run_python(
            "import os\n"
            f"for name in {namespaces!r}:\n"
            "    print(os.readlink(f'/proc/self/ns/{name}'))",
            workspace,
        )
    )
    assert result.ok, result.describe()
    # Nothing missing, so no note ahead of the output; and not the namespaces of this process.
    assert result.output.splitlines() == [
        line for line in result.output.splitlines() if line.split(":")[0] in namespaces
    ]
    for line, name in zip(result.output.splitlines(), namespaces, strict=True):
        assert line != Path(f"/proc/self/ns/{name}").readlink().name, name
