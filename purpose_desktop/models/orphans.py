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
        """Record worker ``pid``. A record that cannot be written only loses the clean-up
        after a crash, so that is logged, not raised."""
        import psutil

        try:
            self._owner = self._owner or _ProcessId.of(os.getpid())
            self._workers[pid] = _ProcessId.of(pid)
            self._save()
        except (psutil.Error, OSError) as exc:
            log.warning("Could not record model worker %s: %s", pid, exc)

    def remove(self, pid: int) -> None:
        if self._workers.pop(pid, None) is not None:
            try:
                self._save()
            except OSError as exc:
                log.warning("Could not update the worker record: %s", exc)

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

    Records of applications still running (another window of the app) are left alone;
    records that cannot be read are removed. Workers are asked to stop all at once and given
    five seconds together before they are killed.
    """
    # Usually there is no file at all: an application that ended cleanly removed its own.
    # Then psutil, slow to import, is not needed (this runs before the window appears).
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        return []
    import psutil

    stopping: list[psutil.Process] = []
    for file in files:
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
        stopping.extend(p for w in workers if (p := _terminate_if_worker(w)) is not None)
        file.unlink(missing_ok=True)
    _, stubborn = psutil.wait_procs(stopping, timeout=5)
    for process in stubborn:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(stubborn, timeout=5)
    ended = [process.pid for process in stopping]
    if ended:
        log.warning("Ended %d model worker(s) left by a previous run: %s", len(ended), ended)
    return ended


def _terminate_if_worker(worker: _ProcessId) -> psutil.Process | None:
    """Ask ``worker`` to stop if it is still a model worker; the process, or ``None``."""
    import psutil

    process = worker.running()
    if process is None:
        return None
    try:
        command = " ".join(process.cmdline())
        if not any(marker in command for marker in _WORKER_MARKERS):
            return None
        process.terminate()
    except psutil.NoSuchProcess:
        return None
    except psutil.Error as exc:
        log.warning("Could not end model worker %s: %s", worker.pid, exc)
        return None
    return process
