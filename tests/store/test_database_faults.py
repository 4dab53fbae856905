"""The store when the database file is damaged, locked by another process, or its disk full."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.learning.memory import Experience
from purpose_desktop.models.messages import ChatMessage
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.store import database, opening, run_journal
from purpose_desktop.store.database import StoreWriteError, reading, writing
from purpose_desktop.store.migrations import LATEST, schema_version
from purpose_desktop.store.opening import (
    COMPANIONS,
    DatabaseInUseError,
    Store,
    StoreError,
    open_store,
    set_aside,
)
from purpose_desktop.store.run_journal import SqlRunJournal
from sqlalchemy import Engine, text
from tests.support.scripted_team import act, one_agent_team, runner, team_model
from tests.support.stores import PageLimit

HOLD_LOCK = Path(__file__).with_name("hold_lock.py")
STEP_1_SAVED = "SELECT count(*) FROM checkpoints WHERE step = 1"
EXPERIENCES = 3000
PAGE = 4096


def experience(number: int, summary: str = "went fine, step by step") -> Experience:
    return Experience(
        team="lab",
        task=f"task number {number} about the budget",
        summary=summary,
        outcome="completed",
        final_phi=0.5,
        steps=3,
        run_id=f"run-{number}",
    )


@contextmanager
def opened(target: Path | str) -> Iterator[Store]:
    store = open_store(target)
    try:
        yield store
    finally:
        store.engine.dispose()


def count_experiences(store: Store) -> int:
    with reading(store.engine) as connection:
        return int(connection.execute(text("SELECT count(*) FROM experiences")).scalar_one())


def damaged_copies(folder: Path) -> list[Path]:
    """The damaged database files kept aside in ``folder`` (without their companions)."""
    return sorted(p for p in folder.glob("*.damaged-*") if not p.name.endswith(COMPANIONS))


def companion(file: Path, suffix: str) -> Path:
    return file.with_name(file.name + suffix)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sound database of several hundred pages: team memory with many experiences."""
    path = tmp_path_factory.mktemp("template") / "store.sqlite3"
    with opened(path) as store:
        asyncio.run(store.memory.add_experiences(experience(n) for n in range(EXPERIENCES)))
    return path


@pytest.fixture
def db(tmp_path: Path, template: Path) -> Path:
    """A copy of the template, to damage."""
    path = tmp_path / "store.sqlite3"
    shutil.copyfile(template, path)
    return path


# --- a damaged file -----------------------------------------------------------------------


def assert_recovered(store: Store, db: Path, damaged: bytes) -> Path:
    """The damaged file was kept aside, whole, and a new empty database took its place."""
    kept = store.recovered_from
    assert kept is not None
    assert kept.parent == db.parent
    assert re.fullmatch(r"store\.sqlite3\.damaged-\d{8}-\d{6}", kept.name)
    assert kept.read_bytes() == damaged
    assert damaged_copies(db.parent) == [kept]
    assert schema_version(store.engine) == LATEST
    assert count_experiences(store) == 0
    asyncio.run(store.memory.add_experience(experience(1)))
    assert count_experiences(store) == 1
    notice = store.recovery_notice
    assert notice is not None
    assert str(db) in notice
    assert "damaged" in notice
    assert str(kept) in notice
    return kept


def test_garbage_in_place_of_the_header_is_set_aside_with_its_companions(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = bytearray(db.read_bytes())
    data[:100] = (b"this is not a database header " * 4)[:100]
    db.write_bytes(data)
    companion(db, "-wal").write_bytes(b"the damaged database's wal")
    companion(db, "-shm").write_bytes(b"the damaged database's shm")

    with caplog.at_level(logging.WARNING), opened(db) as store:
        kept = assert_recovered(store, db, bytes(data))

    assert companion(kept, "-wal").read_bytes() == b"the damaged database's wal"
    assert companion(kept, "-shm").read_bytes() == b"the damaged database's shm"
    for suffix in ("-wal", "-shm"):
        left = companion(db, suffix)
        assert not left.exists() or b"damaged" not in left.read_bytes()
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert str(db) in warning
    assert "does not begin with a SQLite header" in warning
    assert str(kept) in warning


def test_a_file_cut_in_the_middle_of_its_pages_is_set_aside(db: Path) -> None:
    size = db.stat().st_size
    assert size > 100 * PAGE
    os.truncate(db, size // 2)
    cut = db.read_bytes()

    with opened(db) as store:
        assert_recovered(store, db, cut)


def leave_rows_in_the_wal(db: Path) -> None:
    """Add a table whose rows are still in ``db``'s -wal, as when a process ends without
    closing the database."""
    source = db.with_name("source.sqlite3")
    db.rename(source)
    connection = sqlite3.connect(source)
    try:
        with connection:
            connection.execute("CREATE TABLE notes (note TEXT)")
            connection.executemany("INSERT INTO notes VALUES (?)", [("kept " * 20,)] * 200)
        for suffix in ("", "-wal", "-shm"):
            shutil.copyfile(companion(source, suffix), companion(db, suffix))
    finally:
        connection.close()
    source.unlink()


@pytest.mark.parametrize("damage", ["zeroed page", "scrambled half page"])
def test_damage_inside_the_pages_is_found_by_the_check(db: Path, damage: str) -> None:
    leave_rows_in_the_wal(db)
    wal = companion(db, "-wal").read_bytes()
    assert len(wal) > 10 * PAGE
    data = bytearray(db.read_bytes())
    middle = (len(data) // PAGE // 2) * PAGE
    if damage == "zeroed page":
        data[middle : middle + PAGE] = bytes(PAGE)
    else:
        data[middle + PAGE // 2 : middle + PAGE] = random.Random(7).randbytes(PAGE // 2)
    db.write_bytes(data)
    # Opening the file and reading its schema does not notice: the header is sound.
    connection = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        assert connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] > 0
    finally:
        connection.close()

    with opened(db) as store:
        kept = assert_recovered(store, db, bytes(data))

    # The check left the damaged file's -wal as it was, rows and all.
    assert companion(kept, "-wal").read_bytes() == wal
    assert companion(kept, "-shm").exists()


def test_an_empty_file_is_simply_a_new_database(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite3"
    db.touch()

    with opened(db) as store:
        assert store.recovered_from is None
        assert store.recovery_notice is None
        assert schema_version(store.engine) == LATEST

    assert damaged_copies(tmp_path) == []


def test_a_sound_database_is_opened_as_it_is(db: Path) -> None:
    with opened(db) as store:
        assert store.recovered_from is None
        assert count_experiences(store) == EXPERIENCES

    assert damaged_copies(db.parent) == []


def test_a_damaged_copy_never_overwrites_an_earlier_one(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite3"
    when = datetime(2026, 1, 2, 3, 4, 5)
    db.write_bytes(b"first")
    first = set_aside(db, when)
    db.write_bytes(b"second")
    companion(db, "-wal").write_bytes(b"second wal")
    second = set_aside(db, when)
    # A companion alone takes a name too.
    companion(tmp_path / "store.sqlite3.damaged-20260102-030405-3", "-shm").write_bytes(b"x")
    db.write_bytes(b"third")
    third = set_aside(db, when)

    assert first.name == "store.sqlite3.damaged-20260102-030405"
    assert second.name == "store.sqlite3.damaged-20260102-030405-2"
    assert third.name == "store.sqlite3.damaged-20260102-030405-4"
    assert [first.read_bytes(), second.read_bytes(), third.read_bytes()] == [
        b"first",
        b"second",
        b"third",
    ]
    assert companion(second, "-wal").read_bytes() == b"second wal"
    assert not db.exists()
    assert not companion(db, "-wal").exists()


def test_a_damaged_file_that_cannot_be_moved_is_left_and_reported(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = bytearray(db.read_bytes())
    data[:16] = b"garbage garbage!"
    db.write_bytes(data)

    def refuse(file: Path, when: datetime | None = None) -> Path:
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr(opening, "set_aside", refuse)
    with pytest.raises(StoreError) as raised:
        open_store(db)

    message = str(raised.value)
    assert str(db) in message
    assert "damaged" in message
    assert "could not be moved aside" in message
    assert db.read_bytes() == data


def test_a_server_that_cannot_be_reached_is_reported_never_moved_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError) as raised:
        open_store("postgresql://someone:secret@127.0.0.1:1/purpose")

    message = str(raised.value)
    assert "127.0.0.1:1/purpose" in message
    assert "secret" not in message
    assert "damaged" not in message
    assert not isinstance(raised.value, DatabaseInUseError)
    assert list(tmp_path.iterdir()) == []


# --- a database locked by another process ---------------------------------------------------


@contextmanager
def lock_held(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the database's write lock for ``seconds`` (it is killed when
    the block ends)."""
    with subprocess.Popen(
        [sys.executable, str(HOLD_LOCK), str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "locked"
            yield holder
        finally:
            holder.kill()


def database_of(kind: str, path: Path) -> Path:
    """A database holding a note: the app's own (WAL), or another program's made with a
    rollback journal (whose write lock keeps readers out too)."""
    if kind == "wal":
        with opened(path) as store, writing(store.engine) as connection:
            connection.execute(text("CREATE TABLE notes (note TEXT)"))
            connection.execute(text("INSERT INTO notes VALUES ('kept')"))
        return path
    other = sqlite3.connect(path)
    try:
        with other:
            other.execute("CREATE TABLE notes (note TEXT)")
            other.execute("INSERT INTO notes VALUES ('kept')")
    finally:
        other.close()
    return path


def notes(engine: Engine) -> list[str]:
    with reading(engine) as connection:
        return list(connection.execute(text("SELECT note FROM notes")).scalars())


@pytest.mark.process  # a second process holds the lock
@pytest.mark.parametrize("kind", ["wal", "rollback journal"])
def test_a_database_locked_too_long_is_in_use_not_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    db = database_of(kind, tmp_path / "store.sqlite3")
    before = db.read_bytes()
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)

    with lock_held(db, 60), pytest.raises(DatabaseInUseError) as raised:
        open_store(db)

    message = str(raised.value)
    assert str(db) in message
    assert "in use by another program" in message
    assert "Close the other program" in message
    assert "0.2 s" in message
    assert db.read_bytes() == before
    assert damaged_copies(tmp_path) == []
    with opened(db) as store:  # the lock is gone: the same database opens
        assert store.recovered_from is None
        assert notes(store.engine) == ["kept"]


@pytest.mark.process  # a second process holds the lock
@pytest.mark.parametrize("kind", ["wal", "rollback journal"])
def test_a_lock_released_within_the_busy_timeout_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    db = database_of(kind, tmp_path / "store.sqlite3")
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 5000)

    with lock_held(db, 0.5) as holder:
        started = time.monotonic()
        with opened(db) as store:
            waited = time.monotonic() - started
            assert store.recovered_from is None
            assert notes(store.engine) == ["kept"]
            assert schema_version(store.engine) == LATEST
        assert holder.wait(10) == 0

    assert 0.3 < waited < 5
    assert damaged_copies(tmp_path) == []


# --- a full disk ----------------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def scalar(engine: Engine, sql: str) -> Any:
    with reading(engine) as connection:
        return connection.execute(text(sql)).scalar_one()


def test_a_run_recorded_on_a_full_disk_is_saved_whole_when_space_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_journal, "RETRY_SECONDS", (0.05,))
    with opened(tmp_path / "store.sqlite3") as store:
        limit = PageLimit(store.engine)
        journal = SqlRunJournal(lambda: store.engine)
        try:
            asyncio.run(run_filling_the_disk(store, limit, journal, tmp_path))
        finally:
            journal.close()


async def run_filling_the_disk(
    store: Store, limit: PageLimit, journal: SqlRunJournal, folder: Path
) -> None:
    actions = [act("calculator", expression="17*23"), act("finish", answer="391")]

    def actor(_messages: Sequence[ChatMessage]) -> str:
        if len(actions) == 1:  # step 2: once step 1 is committed, the disk fills
            wait_until(lambda: scalar(store.engine, STEP_1_SAVED) == 1)
            limit.fill()
        return actions.pop(0)

    team_runner = runner(
        folder, ScriptedProvider({"m": team_model(actor)}), store.memory, journal=journal
    )
    seen: list[ev.Event] = []
    outcome = await team_runner.run(
        one_agent_team(folder), "Multiply 17 by 23.", [seen.append], learn=False
    )

    assert outcome.status == "completed"
    assert outcome.record_error is not None
    assert "the disk is full" in outcome.record_error
    assert journal.problem is not None
    assert "the disk is full" in journal.problem
    with pytest.raises(StoreWriteError, match="the disk is full"):
        await journal.flush()
    stored = store.runs.events_now(outcome.run_id)
    assert 0 < len(stored) < len(seen)  # the disk filled in the middle of the run
    assert store.runs.run_now(outcome.run_id).summary.status == "running"

    limit.lift()
    wait_until(lambda: journal.problem is None)  # the journal's own retry, no flush asked

    stored = store.runs.events_now(outcome.run_id)
    assert stored == seen
    assert [e.seq for e in stored] == list(range(1, len(seen) + 1))
    detail = store.runs.run_now(outcome.run_id)
    assert detail.summary.status == "completed"
    assert detail.summary.answer == "391"
    assert [s.index for s in detail.steps] == [1, 2]
    await journal.flush()


def test_a_memory_write_on_a_full_disk_raises_an_error_saying_so(tmp_path: Path) -> None:
    with opened(tmp_path / "store.sqlite3") as store:
        limit = PageLimit(store.engine)
        limit.fill()
        with pytest.raises(
            StoreWriteError, match="The team's memory could not be saved: the disk is full"
        ):
            asyncio.run(store.memory.add_experience(experience(1, "a long summary " * 2000)))
        assert count_experiences(store) == 0

        limit.lift()
        asyncio.run(store.memory.add_experience(experience(1, "a long summary " * 2000)))
        assert count_experiences(store) == 1


def test_a_run_whose_journal_writer_dies_ends_as_failed_and_keeps_what_was_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from purpose_desktop.engine.recording.checkpoint import Checkpoint
    from purpose_desktop.engine.recording.journal import RecordingStopped
    from purpose_desktop.store import journal_rows

    real_commit = journal_rows.commit_items
    broken: list[bool] = []

    def commit_items(engine: Engine, mark: Any, items: list[Any], last_seq: dict[str, int]) -> None:
        if broken:  # a bug in the writer, not the database's refusal
            raise RuntimeError("the writer broke")
        real_commit(engine, mark, items, last_seq)
        if any(isinstance(item, Checkpoint) for item in items):
            broken.append(True)

    monkeypatch.setattr(journal_rows, "commit_items", commit_items)
    with opened(tmp_path / "store.sqlite3") as store:
        journal = SqlRunJournal(lambda: store.engine)
        actions = [act("calculator", expression="17*23"), act("finish", answer="391")]

        def actor(_messages: Sequence[ChatMessage]) -> str:
            wait_until(lambda: bool(broken))  # step 1 starts once the start is committed
            return actions.pop(0)

        team_runner = runner(
            tmp_path, ScriptedProvider({"m": team_model(actor)}), store.memory, journal=journal
        )

        async def run_and_flush() -> Any:
            outcome = await team_runner.run(
                one_agent_team(tmp_path), "What is 17 * 23?", learn=False
            )
            with pytest.raises(RecordingStopped, match="the writer broke"):
                await journal.flush()  # answered at once, never waiting for the dead writer
            return outcome

        try:
            outcome = asyncio.run(run_and_flush())
        finally:
            journal.close()
        assert outcome.status == "failed"
        assert outcome.error == (
            "The run could not be recorded: the journal's writer failed "
            "(RuntimeError: the writer broke); the log has the details"
        )
        assert outcome.record_error == outcome.error
        assert journal.stopped is not None
        stored = store.runs.events_now(outcome.run_id)
        assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
        assert scalar(store.engine, "SELECT count(*) FROM checkpoints") == 1
