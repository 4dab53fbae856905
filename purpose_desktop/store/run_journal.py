"""The run journal: every event and checkpoint of a run, committed in batches by one writer.

:class:`SqlRunJournal` implements :class:`~purpose_desktop.engine.recording.journal.RunJournal`. The
engine's calls only put an item on a queue; one writer thread takes what has gathered (for up
to :data:`BATCH_SECONDS`, or :data:`MAX_BATCH` items) and commits it in one short transaction,
in order. Besides the events themselves it keeps the tables that queries need: the run's row,
its steps, checkpoints, costs and score overrides.

When a commit fails (a full disk, a database locked for too long) the batch is kept, the
problem is reported through :attr:`SqlRunJournal.problem`, and the writer tries again, with
new items joining the batch meanwhile: nothing is dropped while the process lives.

When the writer itself dies (an error that is not the database's, a bug), the journal stops
for good: :attr:`SqlRunJournal.stopped` says why, every flush waiting or to come fails at once
with :class:`~purpose_desktop.engine.recording.journal.RecordingStopped`, and what was committed
stays.
A run under way then ends as failed instead of waiting for a writer that is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from purpose_desktop.engine import events as ev
    from purpose_desktop.engine.recording.checkpoint import Checkpoint
    from purpose_desktop.engine.recording.journal import RecordingStopped, ResumePoint, RunHeader
    from purpose_desktop.store.liveness import ProcessMark

log = logging.getLogger(__name__)

BATCH_SECONDS = 0.05
MAX_BATCH = 5000
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class _Flush:
    done: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


if TYPE_CHECKING:
    _Item = RunHeader | ev.Event | Checkpoint | _Flush


class SqlRunJournal:
    """Records runs in the database ``engine`` gives (opened and migrated). ``engine`` is
    called on the writer thread when it first writes, so opening the database never holds
    up the caller. (Nor does importing the SQL side: that waits for the first write too, and
    comes after ``engine``, which opens the store under its lock: two threads importing
    SQLAlchemy at once can deadlock in its circular imports.)"""

    def __init__(self, engine: Callable[[], Engine]) -> None:
        self._engine_source = engine
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._problem: str | None = None
        self._stopped: str | None = None
        # Held while checking for, and while declaring, the writer's death, so that no flush
        # is queued after the dead writer's queue was drained for the last time.
        self._stop_lock = threading.Lock()
        self._last_seq: dict[str, int] = {}
        self._mark: ProcessMark | None = None  # this process, once the writer needs it
        self._thread = threading.Thread(
            target=self._write_until_stopped, name="run-journal", daemon=True
        )
        self._closed = False
        self._thread.start()

    # --- the engine's side ------------------------------------------------------------

    def begin(self, header: RunHeader) -> None:
        self._put(header)

    def record(self, event: ev.Event) -> None:
        self._put(event)

    def checkpoint(self, checkpoint: Checkpoint) -> None:
        self._put(checkpoint)

    @property
    def problem(self) -> str | None:
        return self._problem

    @property
    def stopped(self) -> str | None:
        return self._stopped

    async def flush(self) -> None:
        """Wait until everything put before is committed; :class:`StoreWriteError` if the latest
        attempt to commit it failed (it is kept and tried again), :class:`RecordingStopped`
        if the writer died."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._put(_Flush(done, loop))
        await done

    async def resume_point(self, run_id: str, step: int | None = None) -> ResumePoint:
        await self.flush()
        return await asyncio.to_thread(self._resume_point, run_id, step)

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued and stop the writer. What still cannot be committed after
        ``timeout`` seconds is logged as lost."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("The run journal could not commit its last records: %s", self._problem)

    def _put(self, item: _Item) -> None:
        if self._closed:
            raise RuntimeError("the run journal is closed")
        with self._stop_lock:
            if self._stopped is None:
                self._queue.put(item)
                return
        # The writer is gone: a record has nowhere to go, and a flush is answered now.
        self._answer_flushes([item], self._stopped_error())

    def _stopped_error(self) -> RecordingStopped:
        # Imported here: the window makes its journal before the engine is loaded.
        from purpose_desktop.engine.recording.journal import RecordingStopped

        return RecordingStopped.because(self._stopped or "")

    # --- the writer thread --------------------------------------------------------------

    def _write_until_stopped(self) -> None:
        """The writer thread: :meth:`_write_forever`, and if that ever ends other than by
        :meth:`close`, the journal stops so that nobody waits for it."""
        pending: list[_Item] = []
        try:
            if self._write_forever(pending):
                return
            log.error(
                "The run journal could not commit its last %d records: %s",
                len(pending),
                self._problem,
            )
            reason = f"it was closed before it could save the run ({self._problem})"
        except BaseException as exc:  # whatever ends the thread ends the recording
            log.exception("The run journal's writer failed")
            what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            reason = f"the journal's writer failed ({what}); the log has the details"
        with self._stop_lock:
            self._stopped = reason
        self._answer_flushes(pending, self._stopped_error())
        while True:  # nothing is queued after this: _put sees ``_stopped`` under the lock
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                self._answer_flushes([item], self._stopped_error())

    def _write_forever(self, pending: list[_Item]) -> bool:
        """Commit what is queued until told to stop (``True``), or until the retries after a
        failed commit run out while stopping (``False``). ``pending`` holds what is not
        committed yet."""
        stopping = False
        retries = 0
        while True:
            if not pending:
                first = self._queue.get()
                if first is None:
                    return True
                pending.append(first)
            stopping = self._gather(pending) or stopping
            try:
                self._commit([item for item in pending if not isinstance(item, _Flush)])
            except Exception as exc:
                from purpose_desktop.store.database import StoreWriteError
                from purpose_desktop.store.journal_rows import why_not_committed

                self._problem = why_not_committed(exc)
                if self._problem is None:
                    raise
                log.warning(
                    "The run journal could not commit %d records: %s", len(pending), self._problem
                )
                self._answer_flushes(
                    pending, StoreWriteError(f"The run could not be saved: {self._problem}")
                )
                pending[:] = [item for item in pending if not isinstance(item, _Flush)]
                if stopping and retries >= len(RETRY_SECONDS):
                    return False
                time.sleep(RETRY_SECONDS[min(retries, len(RETRY_SECONDS) - 1)])
                retries += 1
                continue
            self._problem = None
            retries = 0
            self._answer_flushes(pending, None)
            pending.clear()
            if stopping:
                return True

    def _gather(self, pending: list[_Item]) -> bool:
        """Add what arrives within the batch window to ``pending``; ``True`` when told to
        stop. A flush request ends the window at once."""
        deadline = time.monotonic() + BATCH_SECONDS
        while len(pending) < MAX_BATCH and not isinstance(pending[-1], _Flush):
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else (self._queue.get_nowait())
                )
            except queue.Empty:
                return False
            if item is None:
                return True
            pending.append(item)
        return False

    @staticmethod
    def _answer_flushes(items: Iterable[_Item], error: Exception | None) -> None:
        for item in items:
            if isinstance(item, _Flush):
                # A loop that has closed raises: nobody waits for the answer then.
                with contextlib.suppress(RuntimeError):
                    item.loop.call_soon_threadsafe(_settle, item.done, error)

    def _commit(self, items: list[RunHeader | ev.Event | Checkpoint]) -> None:
        if not items:
            return
        # The engine first: opening the store imports the SQL side on one thread at a time
        # (see SqlRunJournal), before this thread imports any of it itself.
        engine = self._engine_source()
        from purpose_desktop.store.journal_rows import commit_items

        last_seq = dict(self._last_seq)
        commit_items(engine, self._process_mark(), items, last_seq)
        self._last_seq = last_seq  # only once committed: a failed batch is tried again whole

    def _process_mark(self) -> ProcessMark:
        if self._mark is None:
            from purpose_desktop.store.liveness import ProcessMark

            self._mark = ProcessMark.current()
        return self._mark

    def _resume_point(self, run_id: str, step: int | None) -> ResumePoint:
        engine = self._engine_source()
        from purpose_desktop.store.journal_rows import read_resume_point

        return read_resume_point(engine, self._process_mark(), run_id, step)

    # --- reading back -------------------------------------------------------------------


def _settle(done: asyncio.Future[None], error: Exception | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
