"""``purpose-desktop`` whose run journal breaks once a run's first checkpoint is committed:
``python journal_faults.py kill|read-only ARGUMENTS...``.

``kill`` ends the journal's writer thread from another thread, as nothing in the writer's own
code can catch (an exception raised into the thread asynchronously); ``read-only`` hands every
later commit a read-only connection to the same database file, which SQLite refuses to write.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from typing import Any

from purpose_desktop import cli
from purpose_desktop.engine.recording.checkpoint import Checkpoint
from purpose_desktop.store import journal_rows
from purpose_desktop.store.database import open_database
from sqlalchemy import Engine

real_commit = journal_rows.commit_items
checkpoint_committed = threading.Event()
writer: list[int] = []
read_only: list[Engine] = []


def commit_items(engine: Engine, mark: Any, items: list[Any], last_seq: dict[str, int]) -> None:
    if checkpoint_committed.is_set() and mode == "read-only":
        if not read_only:
            read_only.append(
                open_database(f"sqlite:///file:{engine.url.database}?mode=ro&uri=true")
            )
        engine = read_only[0]
    real_commit(engine, mark, items, last_seq)
    if any(isinstance(item, Checkpoint) for item in items) and not writer:
        writer.append(threading.get_ident())
        checkpoint_committed.set()


def kill_the_writer() -> None:
    checkpoint_committed.wait()
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(writer[0]), ctypes.py_object(SystemExit)
    )


if __name__ == "__main__":
    mode = sys.argv[1]
    journal_rows.commit_items = commit_items
    if mode == "kill":
        threading.Thread(target=kill_the_writer, daemon=True).start()
    sys.exit(cli.main(sys.argv[2:]))
