"""Opening the store: the database, migrated, with the team memory, the run journal and the
queries over it, found runs that were interrupted, all behind one :class:`Store`.

A SQLite file is checked before anything connects to it: it must begin with SQLite's header,
and ``PRAGMA quick_check``, on a read-only connection that changes nothing, must find no
fault in its pages. A damaged file is never deleted: it is renamed with its ``-wal`` and
``-shm`` companions to a fresh ``NAME.damaged-YYYYmmdd-HHMMSS``, and a new empty database
takes its place so the app keeps working; :attr:`Store.recovered_from` says where the copy
went. An empty file is simply a new database. A database another program keeps locked is not
damaged: opening it fails with :class:`DatabaseInUseError` and the file is left alone.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import URL, Engine
from sqlalchemy.exc import SQLAlchemyError

from purpose_desktop.errors import UserError
from purpose_desktop.store import database, sqlite_dialect
from purpose_desktop.store.database import open_database, sqlite_error_code, writing
from purpose_desktop.store.liveness import ProcessMark, interrupt_dead_runs
from purpose_desktop.store.memory_store import DatabaseMemoryStore
from purpose_desktop.store.migrations import migrate
from purpose_desktop.store.run_queries import RunQueries

log = logging.getLogger(__name__)

#: The files SQLite keeps beside a database, which belong with it wherever it goes.
COMPANIONS = ("-wal", "-shm", "-journal")
_DAMAGED = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
_IN_USE = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Store:
    """Everything kept in one database. ``interrupted`` lists the runs found interrupted
    (their process died) when it was opened. ``recovered_from`` is where the database file
    was moved when it was found damaged and a new empty one was started in its place."""

    engine: Engine
    memory: DatabaseMemoryStore
    runs: RunQueries
    interrupted: tuple[str, ...] = ()
    recovered_from: Path | None = None

    @property
    def recovery_notice(self) -> str | None:
        """What to tell the user when the database was found damaged, else ``None``."""
        if self.recovered_from is None:
            return None
        return (
            f"The database {self.engine.url.database} was damaged, so a new empty one "
            f"was started in its place. The damaged copy, with the earlier runs and team "
            f"memory, is kept as {self.recovered_from}."
        )


class StoreError(UserError):
    """The database cannot be opened or written."""


class DatabaseInUseError(StoreError):
    """Another program kept the database locked for longer than we wait."""


def open_store(target: str | os.PathLike[str] | URL) -> Store:
    """Open (creating or migrating it if needed) the database at ``target``: a SQLite file
    path or a SQLAlchemy URL. A damaged SQLite file is set aside and replaced by a new one
    (see :attr:`Store.recovered_from`). Raises :class:`StoreError` naming the database and
    the cause, :class:`DatabaseInUseError` when another program keeps it locked."""
    where = _display(target)
    try:
        return _open(target, where)
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise _store_error(where, exc) from None


def set_aside(file: Path, when: datetime | None = None) -> Path:
    """Rename the database ``file`` and its companions to ``NAME.damaged-YYYYmmdd-HHMMSS``
    in the same folder, with ``-2``, ``-3``, ... after it if that name is taken; returns the
    new path of ``file``. Nothing is deleted or overwritten. Raises :class:`OSError`."""
    kept = _free_name(file, when or datetime.now())
    # The companions go first: a -wal left beside the new database would be read as its own.
    for suffix in (*COMPANIONS, ""):
        source = _companion(file, suffix)
        if suffix == "" or source.exists():
            source.rename(_companion(kept, suffix))
    return kept


def _open(target: str | os.PathLike[str] | URL, where: str) -> Store:
    engine = open_database(target)
    try:
        recovered_from = _replace_if_damaged(engine, where)
        migrate(engine)
        with writing(engine) as connection:
            interrupted = tuple(interrupt_dead_runs(connection, ProcessMark.current()))
    except BaseException:
        engine.dispose()
        raise
    if interrupted:
        log.info("Runs interrupted when their process ended: %s", ", ".join(interrupted))
    return Store(
        engine, DatabaseMemoryStore(engine), RunQueries(engine), interrupted, recovered_from
    )


def _replace_if_damaged(engine: Engine, where: str) -> Path | None:
    """Set a damaged SQLite file aside, before anything connects to it, so that the first
    connection starts a new database there; returns where the damaged file went, or ``None``
    when the database is sound (or not a SQLite file)."""
    file = _sqlite_file(engine)
    damage = None if file is None else _damage(file)
    if file is None or damage is None:
        return None
    try:
        kept = set_aside(file)
    except OSError as exc:
        raise StoreError(
            f"The database {where} is damaged ({damage}) and could not be moved "
            f"aside ({exc}). Move it elsewhere yourself, then start again."
        ) from None
    log.warning(
        "The database %s is damaged (%s). It was moved to %s and a new one started.",
        where,
        damage,
        kept,
    )
    return kept


def _damage(file: Path) -> str | None:
    """What is wrong with the SQLite database ``file``, or ``None`` when it is sound, empty or
    missing. Raises :class:`sqlite3.Error` when another program keeps it locked."""
    try:
        with file.open("rb") as stream:
            header = stream.read(len(_HEADER))
    except OSError:
        return None  # missing, or unreadable: the opening that follows says so
    if not header:
        return None  # an empty file is a new database
    if header != _HEADER:
        return "it does not begin with a SQLite header"
    return _check(file)


def _check(file: Path) -> str | None:
    """The fault ``PRAGMA quick_check`` finds in ``file`` (its header being sound), if any."""
    # Read-only, so that the check changes nothing: a connection that may write would, on
    # closing, copy the -wal into the damaged file and delete it.
    connection = sqlite3.connect(
        f"{file.resolve().as_uri()}?mode=ro", uri=True, timeout=database.BUSY_TIMEOUT_MS / 1000
    )
    try:
        found = sqlite_dialect.quick_check(connection)
    except sqlite3.Error as exc:
        code = sqlite_error_code(exc)
        if code in _IN_USE:
            raise
        # Any trouble but damage is for the opening that follows to report.
        return str(exc) if code in _DAMAGED else None
    finally:
        connection.close()
    return None if found == ["ok"] else "; ".join(found).replace("\n", " ")


def _sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite database named by its path; ``None`` for a server or a URI."""
    url = engine.url
    name = url.database or ""
    if url.get_backend_name() != "sqlite" or url.query.get("uri") or name.startswith("file:"):
        return None
    return Path(name)


def _free_name(file: Path, when: datetime) -> Path:
    stem = f"{file.name}.damaged-{when:%Y%m%d-%H%M%S}"
    kept, number = file.with_name(stem), 1
    while any(_companion(kept, suffix).exists() for suffix in ("", *COMPANIONS)):
        number += 1
        kept = file.with_name(f"{stem}-{number}")
    return kept


def _companion(file: Path, suffix: str) -> Path:
    return file.with_name(file.name + suffix)


def _store_error(where: str, exc: SQLAlchemyError | sqlite3.Error) -> StoreError:
    code = sqlite_error_code(exc)
    if code in _IN_USE:
        seconds = database.BUSY_TIMEOUT_MS / 1000
        return DatabaseInUseError(
            f"The database {where} is in use by another program, which kept it locked for "
            f"more than {seconds:g} s. Close the other program (another Purpose Desktop, or "
            "a database tool with the file open) and try again."
        )
    if code == sqlite3.SQLITE_FULL:
        return StoreError(
            f"The database {where} cannot be written: the disk is full. Free "
            "some space and try again."
        )
    return StoreError(f"The database {where} cannot be opened: {exc.__cause__ or exc}")


def _display(target: str | os.PathLike[str] | URL) -> str:
    if isinstance(target, URL):
        return target.render_as_string(hide_password=True)
    if isinstance(target, str) and "://" in target:
        from sqlalchemy import make_url

        return make_url(target).render_as_string(hide_password=True)
    return str(Path(target))
