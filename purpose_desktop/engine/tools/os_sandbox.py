"""The operating system's boundary around model-written code (Linux).

The python tool's audit hook (:mod:`python_runner`) refuses network use, other programs, native
code and files outside the workspace, but an audit hook is a Python-level check: code written to
escape can get round it. :func:`confine` puts the kernel's own limits under it, unprivileged:

* **No network.** The process moves into a user namespace and a network namespace of its own
  (``unshare(CLONE_NEWUSER | CLONE_NEWNET)``), where the only interface is a loopback that is
  down: no connection, name look-up or datagram can leave it, by any means.
* **No file outside the workspace.** A Landlock ruleset (Linux 5.13 on) lets the process read
  and run files only under the Python installation, the folders on ``sys.path`` and the
  system's libraries (``/usr``, ``/lib``), and write only in the workspace and its private
  temporary folder. Landlock versions 4 and 6 also refuse every TCP bind and connect and any
  abstract Unix socket or signal outside the sandbox.
* **No other programs, no fork bomb.** A seccomp filter refuses ``fork``, ``vfork``, ``clone``
  (except for a thread), ``execve`` and ``execveat``, and makes ``clone3`` unknown so that the
  C library makes threads with ``clone`` (x86-64 and ARM64).

Each part that the system cannot give (an older kernel, a container that forbids namespaces)
is named in the warning :func:`confine` returns, which the tool passes to the agent with the
output; the audit hook still applies. Windows and macOS have no such boundary here yet.

:func:`confine` runs inside the child before the code does: its source is part of the child's
program (like :mod:`python_runner`'s child functions, it imports what it needs and uses no
globals of this module).
"""

from __future__ import annotations


def confine(writable_roots: list[str]) -> str | None:  # pragma: no cover - runs in the child
    """Confine this process (see the module's docstring); None when every part is in place,
    else a sentence saying what the system could not give. Call it before any thread starts:
    a process joins a new user namespace only while it has one thread."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return "this system gives the python tool no OS sandbox; only Python-level checks apply"
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    missing = [
        *isolate_network(libc),
        *limit_files(libc, writable_roots),
        *refuse_new_processes(libc),
    ]
    if not missing:
        return None
    return (
        "the OS sandbox is incomplete here, missing "
        + "; ".join(missing)
        + "; the Python-level checks still apply"
    )


def isolate_network(libc: object) -> list[str]:  # pragma: no cover - runs in the child
    """Move into a user and a network namespace of their own; what is missing."""
    import ctypes
    import os

    clone_newuser, clone_newnet = 0x10000000, 0x40000000
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(clone_newuser | clone_newnet) != 0:  # type: ignore[attr-defined]
        return [f"network isolation (no new namespaces: {os.strerror(ctypes.get_errno())})"]
    # The same ids inside as outside, so files and the code's own id look as usual.
    for name, line in (
        ("setgroups", "deny"),
        ("uid_map", f"{uid} {uid} 1"),
        ("gid_map", f"{gid} {gid} 1"),
    ):
        try:
            with open(f"/proc/self/{name}", "w") as file:  # noqa: PTH123
                file.write(line)
        except OSError:
            break  # the ids show as unmapped inside; nothing else changes
    return []


def limit_files(  # pragma: no cover - runs in the child
    libc: object, writable_roots: list[str]
) -> list[str]:
    """Apply the Landlock ruleset; what is missing."""
    import ctypes
    import os
    import stat
    import sys

    syscall = libc.syscall  # type: ignore[attr-defined]
    create_ruleset, add_rule, restrict_self = 444, 445, 446
    abi = syscall(create_ruleset, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return [f"file and network limits (no Landlock: {os.strerror(ctypes.get_errno())})"]
    execute, write_file, read_file, read_dir = 1 << 0, 1 << 1, 1 << 2, 1 << 3
    truncate, ioctl_dev = 1 << 14, 1 << 15
    handled_fs = (1 << 13) - 1  # every right of version 1
    if abi >= 2:
        handled_fs |= 1 << 13  # refer: moving files between folders
    if abi >= 3:
        handled_fs |= truncate
    if abi >= 5:
        handled_fs |= ioctl_dev
    file_rights = execute | write_file | read_file | truncate | ioctl_dev

    class RulesetAttr(ctypes.Structure):
        _fields_ = (
            ("handled_access_fs", ctypes.c_uint64),
            ("handled_access_net", ctypes.c_uint64),
            ("scoped", ctypes.c_uint64),
        )

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))

    # Version 4 handles TCP bind and connect (no rule allows a port: all are refused);
    # version 6 scopes abstract Unix sockets and signals to the sandbox. The size tells the
    # kernel which fields there are.
    attr = RulesetAttr(handled_fs, 0b11 if abi >= 4 else 0, 0b11 if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = syscall(create_ruleset, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return [f"file and network limits (rules refused: {os.strerror(ctypes.get_errno())})"]

    def allow(path: str, rights: int) -> None:
        try:
            descriptor = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return  # not on this system
        try:
            if not stat.S_ISDIR(os.fstat(descriptor).st_mode):
                rights &= file_rights
            rule = PathBeneath(rights & handled_fs, descriptor)
            syscall(add_rule, ruleset, 1, ctypes.byref(rule), ctypes.c_uint32(0))
        finally:
            os.close(descriptor)

    readable = [
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        sys.executable,  # an installed build's: it holds its compiled modules
        *[path for path in sys.path if isinstance(path, str) and path],
        # What the dynamic loader and the standard library read: shared libraries, time zones,
        # how many processors there are.
        "/usr",
        "/lib",
        "/lib64",
        "/etc/ld.so.cache",
        "/etc/localtime",
        "/sys/devices/system/cpu",
    ]
    for path in readable:
        if os.path.realpath(path) != "/":
            allow(path, execute | read_file | read_dir)
    for path in writable_roots:
        allow(path, handled_fs)
    allow("/dev/null", read_file | write_file | truncate)
    pr_set_no_new_privs = 38
    applied = libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) == 0 and (  # type: ignore[attr-defined]
        syscall(restrict_self, ruleset, ctypes.c_uint32(0)) == 0
    )
    reason = os.strerror(ctypes.get_errno())
    os.close(ruleset)
    return [] if applied else [f"file and network limits (not applied: {reason})"]


def refuse_new_processes(libc: object) -> list[str]:  # pragma: no cover - runs in the child
    """Install the seccomp filter described in the module's docstring; what is missing."""
    import ctypes
    import os
    import platform

    # (its audit architecture, clone, clone3, the calls refused outright)
    machine = platform.machine()
    numbers = {
        "x86_64": (0xC000003E, 56, 435, (57, 58, 59, 322)),  # fork, vfork, execve, execveat
        "aarch64": (0xC00000B7, 220, 435, (221, 281)),  # execve, execveat
    }.get(machine)
    if numbers is None:
        return [f"a filter of new processes (none for {machine})"]
    arch, clone, clone3, refused_calls = numbers
    load, equal, at_least, has_bits, give = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, refuse, unknown = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38  # EPERM, ENOSYS
    count = len(refused_calls)
    last = 8 + count + 5  # the final "refuse"
    # (code, jump if true, jump if false, value); a jump skips that many instructions.
    program = [
        (load, 0, 0, 4),  # 0: the architecture
        (equal, 1, 0, arch),  # 1
        (give, 0, 0, refuse),  # 2
        (load, 0, 0, 0),  # 3: the call's number
        (at_least, 0, 1, 0x40000000),  # 4: x86-64's x32 numbers
        (give, 0, 0, refuse),  # 5
        (equal, 0, 1, clone3),  # 6
        (give, 0, 0, unknown),  # 7: the C library then makes threads with clone
        *[(equal, last - (8 + i) - 1, 0, n) for i, n in enumerate(refused_calls)],
        (equal, 1, 0, clone),  # 8 + count
        (give, 0, 0, allow),
        (load, 0, 0, 16),  # the low half of clone's flags
        (has_bits, 0, 1, 0x00010000),  # CLONE_THREAD: a thread, not a process
        (give, 0, 0, allow),
        (give, 0, 0, refuse),  # last
    ]

    class Instruction(ctypes.Structure):
        _fields_ = (
            ("code", ctypes.c_uint16),
            ("jt", ctypes.c_uint8),
            ("jf", ctypes.c_uint8),
            ("k", ctypes.c_uint32),
        )

    class Program(ctypes.Structure):
        _fields_ = (("len", ctypes.c_uint16), ("filter", ctypes.POINTER(Instruction)))

    instructions = (Instruction * len(program))(*(Instruction(*i) for i in program))
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    prctl = libc.prctl  # type: ignore[attr-defined]
    if (
        prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0
        or prctl(
            pr_set_seccomp,
            seccomp_mode_filter,
            ctypes.byref(Program(len(program), instructions)),
            0,
            0,
        )
        != 0
    ):
        return [f"a filter of new processes ({os.strerror(ctypes.get_errno())})"]
    return []


CHILD_FUNCTIONS = (confine, isolate_network, limit_files, refuse_new_processes)
"""The functions whose source a child's program must hold for :func:`confine` to run there."""
