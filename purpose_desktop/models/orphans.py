"""Model worker processes left behind by an application that crashed are ended at next start.

Each running application records the workers it starts in a file of its own, named after its
process id, in the home folder. At start-up, files whose application is gone are read and the
workers they name are ended, if they are still running and still model workers (a process id
alone could by now belong to something else, so the start time and command line must match).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.models.worker_entry import WORKER_ARGUMENT

if TYPE_CHECKING:
    import psutil

log = logging.getLogger(__name__)

_WORKER_MARKERS = ("purpose_desktop.models.llama_worker", WORKER_ARGUMENT)


@dataclass(frozen=True)
class _ProcessId:
    pid: int
    started: float

    @classmethod
    def of(cls, pid: int) -> _ProcessId:
        import psutil

        return cls(pid, psutil.Process(pid).create_time())

    def running(self) -> psutil.Process | None:
        """The process, if it is still the one recorded."""
        import psutil

        try:
            process = psutil.Process(self.pid)
            return process if abs(process.create_time() - self.started) < 1e-3 else None
        except psutil.Error:
            return None


class WorkerRecord:
    """The file where this application lists its running model workers."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._file = folder / f"{os.getpid()}.json"
        self._owner: _ProcessId | None = None  # looked up on first use: psutil is slow to import
        self._workers: dict[int, _ProcessId] = {}

    def add(self, pid: int) -> None:
        import psutil

        with contextlib.suppress(psutil.Error):
            self._owner = self._owner or _ProcessId.of(os.getpid())
            self._workers[pid] = _ProcessId.of(pid)
            self._save()

    def remove(self, pid: int) -> None:
        if self._workers.pop(pid, None) is not None:
            self._save()

    def _save(self) -> None:
        if not self._workers or self._owner is None:
            self._file.unlink(missing_ok=True)
            return
        self._folder.mkdir(parents=True, exist_ok=True)
        record = {
            "owner": [self._owner.pid, self._owner.started],
            "workers": [[w.pid, w.started] for w in self._workers.values()],
        }
        temporary = self._file.with_suffix(".tmp")
        temporary.write_text(json.dumps(record), encoding="utf-8")
        temporary.replace(self._file)


def end_orphaned_workers(folder: Path) -> list[int]:
    """End the workers of applications that are no longer running; returns their pids.

    Files of applications still running (another window of the app) are left alone, as are
    files that cannot be read, which are removed.
    """
    ended: list[int] = []
    # Usually there is no file at all: an application that ended cleanly removed its own.
    for file in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
            owner = _ProcessId(int(record["owner"][0]), float(record["owner"][1]))
            workers = [_ProcessId(int(pid), float(started)) for pid, started in record["workers"]]
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            log.warning("Removing unreadable worker record %s", file)
            file.unlink(missing_ok=True)
            continue
        if owner.running() is not None:
            continue
        for worker in workers:
            if _end_if_worker(worker):
                ended.append(worker.pid)
        file.unlink(missing_ok=True)
    if ended:
        log.warning("Ended %d model worker(s) left by a previous run: %s", len(ended), ended)
    return ended


def _end_if_worker(worker: _ProcessId) -> bool:
    import psutil

    process = worker.running()
    if process is None:
        return False
    try:
        command = " ".join(process.cmdline())
        if not any(marker in command for marker in _WORKER_MARKERS):
            return False
        process.terminate()
        try:
            process.wait(5)
        except psutil.TimeoutExpired:
            process.kill()
            process.wait(5)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error as exc:
        log.warning("Could not end model worker %s: %s", worker.pid, exc)
        return False
    return True
