"""Telling runs whose process died from runs still going.

A run's row names the machine and the process that runs it (with the process's start time, so
a process id reused after a restart is not mistaken for it). A run marked ``running`` whose
process on this machine is gone was interrupted: the app was killed or the machine went down.
Runs of other machines sharing the database are left alone; only they can tell.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import psutil
from sqlalchemy import Connection, bindparam, select, update

from purpose_desktop.store.run_tables import RUNS

#: How far apart two readings of one process's start time may be.
START_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class ProcessMark:
    host: str
    pid: int
    started: float

    @classmethod
    def current(cls) -> ProcessMark:
        return cls(socket.gethostname(), os.getpid(), psutil.Process().create_time())


def is_alive(pid: int, started: float) -> bool:
    """Whether the process ``pid`` that started at ``started`` still runs on this machine."""
    try:
        return abs(psutil.Process(pid).create_time() - started) <= START_TOLERANCE_S
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def interrupt_dead_runs(connection: Connection, mark: ProcessMark) -> list[str]:
    """Mark this machine's ``running`` runs whose process is gone as ``interrupted``; returns
    their ids. Runs in the current process are alive by definition."""
    rows = connection.execute(
        select(RUNS.c.id, RUNS.c.pid, RUNS.c.process_started).where(
            RUNS.c.status == "running", RUNS.c.host == mark.host
        )
    ).all()
    dead = [
        row.id
        for row in rows
        if not (row.pid == mark.pid and abs(row.process_started - mark.started) < 1e-3)
        and not is_alive(int(row.pid), float(row.process_started))
    ]
    if dead:
        connection.execute(
            update(RUNS)
            .where(RUNS.c.id == bindparam("run"), RUNS.c.status == "running")
            .values(status="interrupted"),
            [{"run": run_id} for run_id in dead],
        )
    return dead
