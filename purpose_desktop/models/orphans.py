"""Processes left behind by an application that crashed are ended at next start: model
workers, and the MCP servers it started.

Each running application records the processes it starts in a file of its own, named after
its process id, in a folder for each kind. At start-up, files whose application is gone are
read and the processes they name are ended, with their own children, if they are still
running and still the processes recorded (a process id alone could by now belong to something
else, so the start time and command line must match).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psutil

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _ProcessId:
    pid: int
    started: float
    command: tuple[str, ...]

    @classmethod
    def of(cls, pid: int) -> _ProcessId:
        import psutil

        process = psutil.Process(pid)
        return cls(pid, process.create_time(), tuple(process.cmdline()))

    @classmethod
    def parse(cls, entry: Any) -> _ProcessId:
        """The process an entry of a record names: ``[pid, start time, command line]``."""
        pid, started, command = entry
        return cls(int(pid), float(started), tuple(map(str, command)))

    def entry(self) -> list[Any]:
        return [self.pid, self.started, list(self.command)]

    def running(self) -> psutil.Process | None:
        """The process, if it is still the one recorded."""
        import psutil

        try:
            process = psutil.Process(self.pid)
            if abs(process.create_time() - self.started) >= 1e-3:
                return None
            return process if tuple(process.cmdline()) == self.command else None
        except psutil.Error:
            return None


class WorkerRecord:
    """The file where this application lists the processes it runs of one kind (model
    workers, MCP servers), in ``folder``: one record for each folder in an application."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._file = folder / f"{os.getpid()}.json"
        self._owner: _ProcessId | None = None  # looked up on first use: psutil is slow to import
        self._workers: dict[int, _ProcessId] = {}

    def add(self, pid: int) -> None:
        """Record process ``pid``. A record that cannot be written only loses the clean-up
        after a crash, so that is logged, not raised."""
        import psutil

        try:
            self._owner = self._owner or _ProcessId.of(os.getpid())
            self._workers[pid] = _ProcessId.of(pid)
            self._save()
        except (psutil.Error, OSError) as exc:
            log.warning("Could not record process %s: %s", pid, exc)

    def remove(self, pid: int) -> None:
        """Forget process ``pid``, which has ended."""
        if self._workers.pop(pid, None) is not None:
            try:
                self._save()
            except OSError as exc:
                log.warning("Could not update the process record %s: %s", self._file, exc)

    def _save(self) -> None:
        if not self._workers or self._owner is None:
            self._file.unlink(missing_ok=True)
            return
        self._folder.mkdir(parents=True, exist_ok=True)
        record = {
            "owner": self._owner.entry(),
            "workers": [worker.entry() for worker in self._workers.values()],
        }
        temporary = self._file.with_suffix(".tmp")
        temporary.write_text(json.dumps(record), encoding="utf-8")
        temporary.replace(self._file)


def end_orphaned_workers(folder: Path) -> list[int]:
    """End the processes recorded in ``folder`` by applications that are no longer running,
    and their children; returns their pids.

    Records of applications still running (another window of the app) are left alone;
    records that cannot be read are removed. The processes are asked to stop all at once and
    given five seconds together before they are killed.
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
            owner = _ProcessId.parse(record["owner"])
            workers = [_ProcessId.parse(entry) for entry in record["workers"]]
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            log.warning("Removing unreadable process record %s", file)
            file.unlink(missing_ok=True)
            continue
        if owner.running() is not None:
            continue
        for worker in workers:
            stopping.extend(_terminate(worker))
        file.unlink(missing_ok=True)
    _, stubborn = psutil.wait_procs(stopping, timeout=5)
    for process in stubborn:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(stubborn, timeout=5)
    ended = [process.pid for process in stopping]
    if ended:
        log.warning("Ended %d process(es) left by a previous run: %s", len(ended), ended)
    return ended


def _terminate(recorded: _ProcessId) -> list[psutil.Process]:
    """Ask ``recorded`` and its children to stop, if it is still the process recorded; the
    processes asked. Its children too: a server started through a launcher (``npx``,
    ``uvx``) is the launcher's child."""
    import psutil

    process = recorded.running()
    if process is None:
        return []
    try:
        family = [process, *process.children(recursive=True)]
    except psutil.Error:
        family = [process]
    asked: list[psutil.Process] = []
    for member in family:
        try:
            member.terminate()
        except psutil.NoSuchProcess:
            continue
        except psutil.Error as exc:
            log.warning("Could not end process %s: %s", member.pid, exc)
            continue
        asked.append(member)
    return asked
