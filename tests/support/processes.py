"""Whether a process has ended, for tests that check that the app leaves none behind."""

from __future__ import annotations

import psutil


def is_gone(pid: int) -> bool:
    """Whether process ``pid`` has ended. A zombie has: it only waits for its parent to
    collect its exit status, which a parent outside the test (a shell, an init that is slow
    to reap) may do late or never."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
