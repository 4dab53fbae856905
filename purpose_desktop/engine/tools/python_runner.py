"""The python tool: run a model's code in a separate, limited Python process.

The code runs in ``sys.executable -I`` (isolated: no user site-packages, no ``PYTHON*``
variables, the current folder not on ``sys.path``) with the run's workspace as its working
folder and a small environment (no API keys or tokens inherited). Before the code runs, a
bootstrap in the child:

* sets resource limits on POSIX: address space (``RLIMIT_AS``, default 512 MiB), CPU time a
  little above the time limit (``RLIMIT_CPU``), file size (``RLIMIT_FSIZE``) and no core
  dumps; soft and hard limits alike, so the code cannot raise them again;
* installs an audit hook (:func:`sys.addaudithook`) that refuses network use (connect, bind,
  name look-ups, sendto...), new processes (``subprocess``, ``os.system``, ``os.exec*``,
  ``os.fork``, ``os.posix_spawn``, ``os.spawn*``), native code through ``ctypes`` (only the
  import of ``ctypes`` itself is let through, so that numpy and friends still import),
  signals to other processes, ``resource.setrlimit``, SQLite extensions and ``gc``
  introspection; and file access outside the workspace: opening, creating, removing,
  renaming, listing or changing into anything outside it is refused, except reading under
  the Python installation (``sys.prefix``, ``sys.base_prefix``, ``sys.exec_prefix``, the
  executable (an installed build imports its modules from it) and the
  ``sys.path`` folders, so that imports work) and ``os.devnull``. Paths are resolved
  following symbolic links; creating links is refused. A private temporary folder (``TMPDIR``)
  is writable too and is removed afterwards.

The child starts in a new session (POSIX) or process group (Windows); when the time limit
passes, the output grows past :data:`MAX_OUTPUT_BYTES` or the calling task is cancelled, the
process (its whole group on POSIX) is killed and waited for, so none is left behind.

An audit hook is a guard against accidents and naive misuse by a small model, not a security
boundary against code written to escape (Python's documentation says as much). On Linux the
operating system's boundary is under it (:mod:`os_sandbox`, applied before the hook): network
and user namespaces of the child's own, a Landlock ruleset that limits its files to the same
roots, and a seccomp filter that refuses new processes. Whatever part of that the system
cannot give is named in a note at the top of the output, so the agent and the person see it.
On Windows there are no resource limits (no ``resource`` module; a job object would be
needed) and no OS boundary; on macOS ``RLIMIT_AS`` is not enforced and there is no OS boundary
either. A frozen build of the app has no Python interpreter to run, so the tool reports that
it is unavailable.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import functools
import inspect
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

from purpose_desktop.engine.tools.base import Tool, ToolContext, ToolError
from purpose_desktop.engine.tools.child_entry import PYTHON_TOOL_ARGUMENT, frozen_command
from purpose_desktop.engine.tools.functions import tool_from_function
from purpose_desktop.engine.tools.os_sandbox import CHILD_FUNCTIONS, confine

__all__ = [
    "DEFAULT_FILE_SIZE_LIMIT",
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_OUTPUT_LIMIT",
    "DEFAULT_TIMEOUT",
    "MAX_CODE_CHARS",
    "MAX_OUTPUT_BYTES",
    "PYTHON",
    "PythonResult",
    "apply_limits",
    "kill_process_group",
    "python_tool",
    "run_python",
    "signal_name",
]

MiB: Final = 1024 * 1024
DEFAULT_TIMEOUT: Final = 20.0
DEFAULT_MEMORY_LIMIT: Final = 512 * MiB
DEFAULT_FILE_SIZE_LIMIT: Final = 64 * MiB
DEFAULT_OUTPUT_LIMIT: Final = 4000
"""Characters of output returned: the first two thirds and the last third of a longer one
(the end holds the traceback)."""
MAX_OUTPUT_BYTES: Final = 10 * MiB
"""Output beyond this stops the program: reading it would only cost time."""
MAX_CODE_CHARS: Final = 100_000
CODE_MAX_LENGTH: Final = 4000
"""The longest code the tool's schema lets a model write in one call."""
_KILL_GRACE: Final = 10.0  # the tool's own time limit exceeds the run's by this much
_DRAIN_SECONDS: Final = 1.0  # to read what was left in the pipe after a kill
_CHUNK: Final = 64 * 1024
_SIGNAL_MEANINGS: Final = {
    "SIGKILL": "stopped (out of memory, or killed)",
    "SIGXCPU": "it used up its CPU time",
    "SIGSEGV": "it crashed",
    "SIGABRT": "it aborted",
    "SIGXFSZ": "it wrote a file larger than allowed",
}


@dataclass(frozen=True)
class PythonResult:
    """What one run of code produced.

    ``output`` is stdout and stderr interleaved as written, shortened to the output limit
    (``cut_chars`` characters left out of the middle). ``exit_code`` is the process's status:
    negative for a signal on POSIX. ``timed_out`` and ``output_overflow`` say the runner
    stopped it. ``pid`` was the child's process id.
    """

    output: str
    exit_code: int | None
    timed_out: bool
    output_overflow: bool
    cut_chars: int
    pid: int
    timeout: float

    @property
    def ok(self) -> bool:
        """Whether the code ran to the end and exited with status 0."""
        return self.exit_code == 0 and not self.timed_out and not self.output_overflow

    def summary(self) -> str:
        """One line: how the run ended (the last output line for a failure)."""
        if self.timed_out:
            return f"stopped: the code ran longer than {self.timeout:g} s"
        if self.output_overflow:
            return f"stopped: the code printed more than {MAX_OUTPUT_BYTES // MiB} MiB"
        if self.exit_code is None:
            return "stopped"
        if self.exit_code < 0:
            name = signal_name(-self.exit_code)
            meaning = _SIGNAL_MEANINGS.get(name)
            return f"killed by {name}" + (f": {meaning}" if meaning else "")
        if self.exit_code == 0:
            return "exit status 0"
        last = next((ln.strip() for ln in reversed(self.output.splitlines()) if ln.strip()), "")
        return f"exit status {self.exit_code}" + (f": {last[:200]}" if last else "")

    def describe(self) -> str:
        """The observation for the model: :meth:`summary` first (a short context that keeps
        only the beginning still sees how it ended), then the output."""
        return f"{self.summary()}\n{self.output if self.output else '(no output)'}"


async def run_python(
    code: str,
    workspace: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (the child's limit, not this call's)
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
    file_size_limit: int | None = DEFAULT_FILE_SIZE_LIMIT,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
) -> PythonResult:
    """Run ``code`` in a sandboxed child Python with ``workspace`` as its folder.

    The child is stopped after ``timeout`` seconds of wall time. ``memory_limit`` and
    ``file_size_limit`` are bytes (``None``: no limit; POSIX only). The workspace is created
    if it is missing. A failing program is a normal result (see :meth:`PythonResult.describe`);
    :class:`ToolError` is raised only when the code cannot be run at all (too long, no
    interpreter, the process cannot start). Cancelling the caller kills the child before the
    cancellation propagates.
    """
    if len(code) > MAX_CODE_CHARS:
        raise ToolError(f"the code is too long ({len(code)} characters; at most {MAX_CODE_CHARS})")
    if not code.strip():
        raise ToolError("there is no code to run")
    command = _interpreter_command()
    try:
        root, scratch = await asyncio.to_thread(_prepare_folders, workspace)
    except OSError as exc:
        raise ToolError(f"cannot prepare the workspace to run code in: {exc}") from exc
    config = {
        "writable": [str(root), str(scratch)],
        "limits": _limits(timeout, memory_limit, file_size_limit),
    }
    try:
        process = await _start(command, config, root, scratch)
        try:
            return await _supervise(process, code, timeout, output_limit)
        finally:
            # Reached on every path out, cancellation included: no child outlives the call.
            if process.returncode is None:
                kill_process_group(process)
                await process.wait()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def python_tool(
    *,
    name: str = "python",
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
    file_size_limit: int | None = DEFAULT_FILE_SIZE_LIMIT,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
) -> Tool:
    """A risky tool that runs the model's ``code`` with :func:`run_python` in the run's
    workspace. The tool's own time limit is ``timeout`` plus a grace period, so the runner's
    clearer "ran longer than" message, with the output so far, is what the model sees."""

    async def python(
        code: Annotated[str, {"maxLength": CODE_MAX_LENGTH}], context: ToolContext
    ) -> str:
        """Run Python code in a sandbox and return what it prints.

        Args:
            code: a complete Python program; print() the results you need
        """
        result = await run_python(
            code,
            context.workspace,
            timeout=timeout,
            memory_limit=memory_limit,
            file_size_limit=file_size_limit,
            output_limit=output_limit,
        )
        if not result.ok:  # the agent sees the same text; the step counts as failed
            raise ToolError(result.describe())
        return result.describe()

    return tool_from_function(
        python,
        name=name,
        description="Run Python code (no network; files only in the workspace) and return "
        "what it prints.",
        risky=True,
        timeout=timeout + _KILL_GRACE,
        keywords=(
            "python",
            "code",
            "program",
            "script",
            "run",
            "execute",
            "algorithm",
            "simulate",
            "sort",
            "loop",
            "statistics",
            "csv",
            "json",
            "regex",
            "data",
            "parse",
            "convert",
            "date",
            "random",
        ),
    )


# --- starting and watching the child -------------------------------------------------------


def _prepare_folders(workspace: Path) -> tuple[Path, Path]:
    """The resolved workspace (created if missing) and a new private temporary folder."""
    root = workspace.resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root, Path(tempfile.mkdtemp(prefix="purpose-python-")).resolve()


def _interpreter_command() -> list[str]:
    frozen = frozen_command(PYTHON_TOOL_ARGUMENT)
    if frozen is not None:
        return frozen
    if not sys.executable:
        raise ToolError("the python tool cannot find a Python interpreter to run code with")
    # -u: unbuffered, so stdout and stderr interleave in the order they were written;
    # -X utf8: the output's encoding does not depend on the (empty) environment's locale.
    return [sys.executable, "-I", "-B", "-u", "-X", "utf8", "-c", _bootstrap_source()]


@functools.cache
def _bootstrap_source() -> str:
    try:
        functions = "\n\n".join(
            inspect.getsource(f)
            for f in (
                apply_limits,
                *CHILD_FUNCTIONS,
                _guard,
                _print_error,
                _bootstrap,
            )
        )
    except OSError as exc:  # no source files to read (a stripped install)
        raise ToolError(f"the python tool cannot find its sandbox code: {exc}") from None
    # Their annotations name types the child never imports: keep them unevaluated there too.
    return "from __future__ import annotations\n\n" + functions + "\n\n_bootstrap()\n"


def _limits(
    timeout: float, memory_limit: int | None, file_size_limit: int | None
) -> dict[str, list[int]]:
    cpu = math.ceil(timeout) + 1  # wall time stops it first; this catches a busy loop's CPU
    limits = {"RLIMIT_CPU": [cpu, cpu + 1], "RLIMIT_CORE": [0, 0]}
    if memory_limit is not None:
        limits["RLIMIT_AS"] = [memory_limit, memory_limit]
    if file_size_limit is not None:
        limits["RLIMIT_FSIZE"] = [file_size_limit, file_size_limit]
    return limits


def _environment(workspace: Path, scratch: Path) -> dict[str, str]:
    env = {
        "PATH": os.defpath,
        "HOME": str(workspace),
        "TMPDIR": str(scratch),
        "TEMP": str(scratch),
        "TMP": str(scratch),
        # Numeric libraries start a thread per core, each reserving memory: under the
        # address-space limit one thread is what fits.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    for name in ("SYSTEMROOT", "SYSTEMDRIVE", "WINDIR"):  # Windows cannot start without them
        if name in os.environ:
            env[name] = os.environ[name]
    return env


async def _start(
    command: list[str], config: dict[str, Any], workspace: Path, scratch: Path
) -> asyncio.subprocess.Process:
    options: dict[str, Any] = {}
    if os.name == "posix":
        options["start_new_session"] = True  # its own process group, killed as a whole
    else:
        options["creationflags"] = (
            getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
            | getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console flashing up
        )
    try:
        return await asyncio.create_subprocess_exec(
            *command,
            json.dumps(config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=workspace,
            env=_environment(workspace, scratch),
            **options,
        )
    except OSError as exc:
        raise ToolError(f"could not start Python to run the code: {exc}") from exc


async def _supervise(
    process: asyncio.subprocess.Process, code: str, seconds: float, output_limit: int
) -> PythonResult:
    assert process.stdout is not None
    output = _Output(output_limit)
    timed_out = False
    try:
        async with asyncio.timeout(seconds):
            await _send(process, code.encode("utf-8", "surrogatepass"))
            await _read(process.stdout, output)
            if output.overflow:
                kill_process_group(process)
            await process.wait()
    except TimeoutError:
        timed_out = True
        kill_process_group(process)
        with contextlib.suppress(TimeoutError):
            # Whatever the program wrote before it was stopped is still in the pipe.
            async with asyncio.timeout(_DRAIN_SECONDS):
                await _read(process.stdout, output)
        await process.wait()
    text, cut = output.text()
    return PythonResult(
        output=text,
        exit_code=process.returncode,
        timed_out=timed_out,
        output_overflow=output.overflow,
        cut_chars=cut,
        pid=process.pid,
        timeout=seconds,
    )


async def _send(process: asyncio.subprocess.Process, data: bytes) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write(data)
        await process.stdin.drain()
        process.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the child died before reading its code; its output says why


async def _read(stream: asyncio.StreamReader, output: _Output) -> None:
    while not output.overflow:
        chunk = await stream.read(_CHUNK)
        if not chunk:
            break
        output.add(chunk)


def apply_limits(limits: Mapping[str, Sequence[int]]) -> None:  # pragma: no cover - in children
    """Set this process's resource limits, ``{"RLIMIT_CPU": [soft, hard], ...}``, as far as
    the system allows (a hard limit cannot be raised; macOS refuses ``RLIMIT_AS``). Runs in
    child processes, so it imports what it needs."""
    import contextlib
    import os

    if os.name != "posix":
        return
    import resource

    for name, (wanted_soft, wanted_hard) in limits.items():
        kind = getattr(resource, name, None)
        if kind is None:
            continue
        hard = wanted_hard
        _, current_hard = resource.getrlimit(kind)
        if current_hard != resource.RLIM_INFINITY:
            hard = min(hard, current_hard)  # an unprivileged process cannot raise it
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(kind, (min(wanted_soft, hard), hard))


def kill_process_group(process: asyncio.subprocess.Process) -> None:
    """Kill ``process`` and every process it started (it must lead its own session), unless
    it has been reaped already."""
    if process.returncode is not None:
        return  # already reaped: its pid may belong to someone else by now
    try:
        if os.name == "posix":
            # The child leads its own session, so its process group id is its pid.
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except ProcessLookupError:
        pass


def signal_name(number: int) -> str:
    """``SIGKILL`` for 9, ``signal 99`` for a number without a name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _Output:
    """The child's output as text, keeping only its beginning and its end."""

    def __init__(self, limit: int) -> None:
        self._limit = max(0, limit)
        self._tail_chars = self._limit // 3
        self._head_chars = self._limit - self._tail_chars
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._first = ""
        self._last = ""
        self._chars = 0
        self._bytes = 0
        self.overflow = False

    def add(self, chunk: bytes) -> None:
        self._bytes += len(chunk)
        self._take(self._decoder.decode(chunk))
        if self._bytes > MAX_OUTPUT_BYTES:
            self.overflow = True

    def text(self) -> tuple[str, int]:
        """The kept text and how many characters were cut from its middle."""
        self._take(self._decoder.decode(b"", final=True))
        if self._chars <= self._limit:
            return self._first, 0
        cut = self._chars - self._head_chars - self._tail_chars
        head = self._first[: self._head_chars]
        tail = self._last[-self._tail_chars :] if self._tail_chars else ""
        note = f"\n[... {cut} characters of output cut ...]\n"
        return head + note + tail, cut

    def _take(self, text: str) -> None:
        if not text:
            return
        self._chars += len(text)
        if len(self._first) < self._limit:
            self._first += text[: self._limit - len(self._first)]
        if self._tail_chars:
            self._last = (self._last + text)[-self._tail_chars :]


# --- the child's side ----------------------------------------------------------------------
# The functions below are not called here: their source is the program the child runs
# (``python -c``), so they import what they need and use no globals of this module.


# The child's code avoids pathlib (PTH): the hook must not depend on pure-Python functions
# the code could replace; and it is one closure (PLR0915), so no helper sits in a namespace
# the code can reach.
def _guard(writable_roots: list[str]) -> None:  # noqa: PLR0915  # pragma: no cover
    """Install the audit hook that keeps the code in its workspace and off the network.

    Everything the hook uses is captured now, in its closure: builtins and module functions
    the code could replace later (``os.lstat = ...``) are read once here, the path checks are
    written out with those captured C functions rather than ``os.path`` (pure Python, whose
    globals the code could change), and the tables are immutable.
    """
    import os
    import sys
    import types

    posix = os.name == "posix"
    sep = os.sep
    lstat, stat, readlink, getcwd, fspath, getpid = (
        os.lstat,
        os.stat,
        os.readlink,
        os.getcwd,
        os.fspath,
        os.getpid,
    )
    # Windows only (pure Python there, so weaker: see the module's note on limits).
    windows_realpath, normcase, isabs = os.path.realpath, os.path.normcase, os.path.isabs
    is_instance, type_of, length, denied = isinstance, type, len, PermissionError
    any_of, truth, text = any, bool, str
    link_mode, dir_mode, mode_mask = 0o120000, 0o040000, 0o170000
    write_flags = (
        os.O_WRONLY
        | os.O_RDWR
        | os.O_APPEND
        | os.O_CREAT
        | os.O_TRUNC
        | getattr(os, "O_TMPFILE", 0)
    )
    devnull = os.devnull
    proc_fds = "/proc/self/fd/" if posix and os.path.isdir("/proc/self/fd") else ""  # noqa: PTH112
    fcntl_call, get_path = None, None  # macOS has no /proc: fcntl(F_GETPATH) names a descriptor
    if posix and not proc_fds:
        import fcntl

        fcntl_call, get_path = fcntl.fcntl, getattr(fcntl, "F_GETPATH", None)

    def realpath(path: str, base: str) -> str:
        if not posix:
            return text(normcase(windows_realpath(path if isabs(path) else base + sep + path)))
        if not path.startswith("/"):
            path = base + "/" + path
        pending = [p for p in path.split("/") if p and p != "."]
        pending.reverse()
        resolved = ""
        links = 0
        while pending:
            part = pending.pop()
            if part == "..":
                resolved = resolved[: resolved.rfind("/")] if resolved else ""
                continue
            candidate = resolved + "/" + part
            try:
                mode = lstat(candidate).st_mode
            except (OSError, ValueError):
                resolved = candidate  # does not exist (yet): the rest is taken as written
                continue
            if mode & mode_mask == link_mode:
                links += 1
                if links > 40:
                    return candidate  # a loop: open() would fail on it anyway
                target = readlink(candidate)
                if target.startswith("/"):
                    resolved = ""
                more = [p for p in target.split("/") if p and p != "."]
                more.reverse()
                pending.extend(more)
            else:
                resolved = candidate
        return resolved or "/"

    def is_under(path: str, roots: tuple[str, ...]) -> bool:
        for root in roots:
            if path == root or path.startswith(root if root.endswith(sep) else root + sep):
                return True
        return False

    writable = tuple(realpath(r, "/") for r in writable_roots)
    read_candidates = [
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        # An installed build's executable holds its compiled modules, imported from it.
        sys.executable,
        *[p for p in sys.path if is_instance(p, str) and p],
    ]
    readable = writable + tuple(
        r for r in (realpath(c, getcwd()) for c in read_candidates) if r not in ("/", sep)
    )

    def as_text(path: object) -> str | None:
        if is_instance(path, int) or path is None:
            return None  # a descriptor opened (and checked) earlier
        value = fspath(path)  # type: ignore[call-overload]
        if type_of(value) is bytes:
            value = value.decode("utf-8", "surrogateescape")
        return text(value)

    def folder_of(descriptor: int, path: str) -> str:
        if proc_fds:
            return text(readlink(proc_fds + text(descriptor)))
        if fcntl_call is not None and get_path is not None:
            named = fcntl_call(descriptor, get_path, b"\0" * 1024)
            return text(named.split(b"\0", 1)[0].decode("utf-8", "surrogateescape"))
        raise denied(f"{path!r} relative to a folder descriptor is not allowed")

    def climbs(path: str) -> bool:
        depth = 0
        for part in path.replace("\\", "/").split("/"):
            if part == "..":
                depth -= 1
                if depth < 0:
                    return True
            elif part and part != ".":
                depth += 1
        return False

    def check(
        path_object: object, write: bool, dir_fd: int | None = None, opening: bool = False
    ) -> None:
        path = as_text(path_object)
        if path is None:
            return
        absolute = path.startswith(sep) or (not posix and isabs(path))
        base = getcwd()
        if not absolute and dir_fd is not None and dir_fd >= 0:
            base = folder_of(dir_fd, path)
        elif not absolute and opening and climbs(path):
            # open() does not report a dir_fd it was given: a path that climbs could start
            # from a folder other than the working one.
            raise denied(f"{path!r} leads out of the run's workspace (use paths inside it)")
        real = realpath(path, base)
        if real == devnull:
            return
        if is_under(real, writable):
            return
        if not write and is_under(real, readable):
            if opening:
                try:
                    is_dir = stat(real).st_mode & mode_mask == dir_mode
                except (OSError, ValueError):
                    is_dir = False
                if is_dir:  # a folder descriptor there would let relative paths escape
                    raise denied(f"{path!r} is outside the run's workspace")
            return
        what = "write to" if write else "read"
        raise denied(
            f"{path!r} is outside the run's workspace (the code may only {what} files inside it)"
        )

    network = frozenset(
        {
            "socket.connect",
            "socket.bind",
            "socket.getaddrinfo",
            "socket.gethostbyname",
            "socket.gethostbyname_ex",
            "socket.gethostbyaddr",
            "socket.getnameinfo",
            "socket.sendto",
            "socket.sendmsg",
            "urllib.Request",
            "http.client.connect",
            "ftplib.connect",
            "smtplib.connect",
            "poplib.connect",
            "imaplib.open",
            "nntplib.connect",
            "telnetlib.Telnet.open",
            "webbrowser.open",
        }
    )
    processes = frozenset(
        {
            "subprocess.Popen",
            "os.system",
            "os.exec",
            "os.posix_spawn",
            "os.spawn",
            "os.fork",
            "os.forkpty",
            "os.startfile",
            "pty.spawn",
            "_winapi.CreateProcess",
            "_winapi.OpenProcess",
            "_winapi.TerminateProcess",
        }
    )
    forbidden = types.MappingProxyType(
        {
            "os.link": "creating links is not allowed",
            "os.symlink": "creating links is not allowed",
            "_winapi.CreateJunction": "creating links is not allowed",
            "resource.setrlimit": "changing resource limits is not allowed",
            "resource.prlimit": "changing resource limits is not allowed",
            "gc.get_objects": "gc introspection is not allowed",
            "gc.get_referrers": "gc introspection is not allowed",
            "gc.get_referents": "gc introspection is not allowed",
            "sqlite3.enable_load_extension": "SQLite extensions are not allowed",
            "sqlite3.load_extension": "SQLite extensions are not allowed",
            "winreg.CreateKey": "changing the registry is not allowed",
            "winreg.DeleteKey": "changing the registry is not allowed",
            "winreg.DeleteValue": "changing the registry is not allowed",
            "winreg.SetValue": "changing the registry is not allowed",
            "winreg.SaveKey": "changing the registry is not allowed",
            "winreg.LoadKey": "changing the registry is not allowed",
            "winreg.ConnectRegistry": "changing the registry is not allowed",
        }
    )
    # event -> ((argument index, write?, index of its dir_fd argument or -1), ...)
    paths = types.MappingProxyType(
        {
            "os.listdir": ((0, False, -1),),
            "os.scandir": ((0, False, -1),),
            "os.getxattr": ((0, False, -1),),
            "os.listxattr": ((0, False, -1),),
            "os.chdir": ((0, True, -1),),
            "os.remove": ((0, True, 1),),
            "os.rmdir": ((0, True, 1),),
            "os.mkdir": ((0, True, 2),),
            "os.rename": ((0, True, 2), (1, True, 3)),
            "os.chmod": ((0, True, 2),),
            "os.chown": ((0, True, 3),),
            "os.utime": ((0, True, 3),),
            "os.truncate": ((0, True, -1),),
            "os.chflags": ((0, True, -1),),
            "os.lchflags": ((0, True, -1),),
            "os.setxattr": ((0, True, -1),),
            "os.removexattr": ((0, True, -1),),
            "shutil.copyfile": ((0, False, -1), (1, True, -1)),
            "shutil.copymode": ((0, False, -1), (1, True, -1)),
            "shutil.copystat": ((0, False, -1), (1, True, -1)),
            "shutil.copytree": ((0, False, -1), (1, True, -1)),
            "shutil.move": ((0, True, -1), (1, True, -1)),
            "shutil.rmtree": ((0, True, -1),),
            "shutil.chown": ((0, True, -1),),
            "shutil.make_archive": ((0, True, -1),),
            "shutil.unpack_archive": ((0, False, -1), (1, True, -1)),
        }
    )
    harmless_ctypes = frozenset(
        {
            "ctypes.create_string_buffer",
            "ctypes.create_unicode_buffer",
            "ctypes.get_errno",
            "ctypes.set_errno",
            "ctypes.get_last_error",
            "ctypes.set_last_error",
        }
    )

    def on_open(args: tuple[Any, ...]) -> None:
        flags = args[2] if length(args) > 2 and is_instance(args[2], int) else 0
        mode = args[1] if length(args) > 1 and is_instance(args[1], str) else ""
        write = truth(flags & write_flags) or any_of(c in mode for c in "wax+")
        check(args[0], write, opening=True)

    def on_paths(spec: tuple[tuple[int, bool, int], ...], args: tuple[Any, ...]) -> None:
        for index, write, fd_index in spec:
            if index < length(args):
                dir_fd = args[fd_index] if 0 <= fd_index < length(args) else None
                check(args[index], write, dir_fd if is_instance(dir_fd, int) else None)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            on_open(args)
            return
        spec = paths.get(event)
        if spec is not None:
            on_paths(spec, args)
            return
        if event in network:
            raise denied("network access is not allowed in the python tool")
        if event in processes:
            raise denied("starting other programs is not allowed in the python tool")
        reason = forbidden.get(event)
        if reason is not None:
            raise denied(f"{reason} in the python tool")
        on_other(event, args)

    def on_other(event: str, args: tuple[Any, ...]) -> None:
        if event in ("os.kill", "os.killpg", "signal.pthread_kill"):
            if event == "os.kill" and length(args) and args[0] == getpid():
                return
            raise denied("signalling other processes is not allowed in the python tool")
        if event == "sqlite3.connect" and length(args):
            database = args[0]
            if is_instance(database, str) and database.startswith("file:"):
                raise denied("open SQLite databases by plain file name in the python tool")
            if database not in (":memory:", "", b":memory:", b""):
                check(database, True)
            return
        if event.startswith("ctypes."):
            if event == "ctypes.dlopen" and length(args) and args[0] is None:
                return  # `import ctypes` opens the running program itself: let it import
            if event not in harmless_ctypes:
                raise denied("native code (ctypes) is not allowed in the python tool")

    sys.addaudithook(hook)


def _print_error(exc: BaseException) -> None:  # pragma: no cover - runs in the child
    """Print the traceback of the code's uncaught exception, without the frames of this
    program (its file is "<string>": the bootstrap, and the audit hook when it refused
    something): the model should see only its own code."""
    import sys
    import traceback

    report = traceback.TracebackException.from_exception(exc)
    pending, seen = [report], set()
    while pending:
        part = pending.pop()
        if id(part) in seen:
            continue
        seen.add(id(part))
        part.stack = traceback.StackSummary.from_list(
            [frame for frame in part.stack if frame.filename != "<string>"]
        )
        pending += [p for p in (part.__cause__, part.__context__) if p is not None]
    sys.stderr.write("".join(report.format()))


def _bootstrap() -> None:  # pragma: no cover - runs in the child
    """The child's program: read the config and the code, set limits, guard, run the code."""
    import json
    import linecache
    import os
    import sys
    import traceback
    import types

    config = json.loads(sys.argv[1])
    source = sys.stdin.buffer.read().decode("utf-8", "replace")
    sys.argv = ["<code>"]
    sys.dont_write_bytecode = True
    apply_limits(config["limits"])
    incomplete = confine(config["writable"])
    if incomplete:
        sys.stderr.write(f"Note: {incomplete}.\n")

    filename = "<code>"
    # Tracebacks show the lines of the code (they are not in a file).
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main  # `import __main__` and pickle see the code, not us
    sys.path.append(os.getcwd())  # noqa: PTH109 (modules written to the workspace import)
    _guard(config["writable"])
    try:
        # dont_inherit: this program's own __future__ imports must not change the code's.
        compiled = compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        sys.stderr.write("".join(traceback.format_exception_only(type(exc), exc)))
        sys.exit(1)
    try:
        exec(compiled, main.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:
        _print_error(exc)
        sys.exit(1)


def serve_frozen_child(arguments: Sequence[str]) -> int:  # pragma: no cover - frozen builds
    """The child program in a frozen build, started as ``EXECUTABLE __python-tool CONFIG``:
    what ``python -I -B -u -X utf8 -c PROGRAM CONFIG`` does from source. Returns 0 when the
    code runs to its end."""
    import io

    # -u and -X utf8: output unbuffered (stdout and stderr interleave as written), in UTF-8.
    for name, descriptor in (("stdout", 1), ("stderr", 2)):
        stream = io.TextIOWrapper(
            io.FileIO(descriptor, "w", closefd=False),
            encoding="utf-8",
            errors="backslashreplace",
            write_through=True,
        )
        setattr(sys, name, stream)
    sys.argv = [sys.argv[0], *arguments]
    # A SystemExit (the code's own, or a failure's) passes through: the interpreter turns it
    # into the exit status exactly as it does from source (``sys.exit()`` is 0).
    _bootstrap()
    return 0


PYTHON: Final[Tool] = python_tool()
"""The ``python`` tool with the default limits: risky, ``code`` argument."""
