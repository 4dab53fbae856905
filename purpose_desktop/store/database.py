"""Opening the database: a SQLite file by default, or a PostgreSQL server by URL.

Every SQLite connection runs in WAL mode (readers never block the writer), waits up to
:data:`BUSY_TIMEOUT_MS` for a lock instead of failing at once, and enforces foreign keys.

Transactions are explicit: the Python ``sqlite3`` module's own implicit ``BEGIN`` is switched
off and SQLAlchemy's begin emits ours. :func:`reading` begins a deferred transaction (one
consistent snapshot, never blocks), :func:`writing` begins ``BEGIN IMMEDIATE`` so a writer
takes the write lock up front and waits for it under the busy timeout, instead of failing with
"database is locked" when it would otherwise upgrade a read snapshot that another writer made
stale.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from purpose_desktop.errors import UserError
from purpose_desktop.store import sqlite_dialect

BUSY_TIMEOUT_MS = 5000
CONNECT_TIMEOUT_S = 10
_BEGIN_OPTION = "purpose_sqlite_begin"


def open_database(target: str | os.PathLike[str] | URL, *, echo: bool = False) -> Engine:
    """An engine for a database: a SQLAlchemy URL (``sqlite:///...``, ``postgresql://...``)
    or a SQLite file path.

    A missing parent folder of a file given by its path is created; one given by URL must
    exist. The engine may be shared by any number of threads; each checks out its own
    connection from the pool. In-memory databases are refused: every pooled connection would
    see a different database, or all threads would share one connection and its transaction.
    Nothing is connected to until first use.
    """
    url = _url_for(target)
    by_path = not isinstance(target, URL) and not (isinstance(target, str) and "://" in target)
    backend = url.get_backend_name()
    if backend == "postgresql":
        return _open_postgres(url, echo=echo)
    if backend != "sqlite":
        raise ValueError(f"only SQLite and PostgreSQL databases are supported, not {backend!r}")
    database = url.database or ""
    in_memory = "mode=memory" in database or url.query.get("mode") == "memory"
    if database in ("", ":memory:") or in_memory:
        raise ValueError("in-memory databases are not supported; use a file")
    if by_path:
        # The app's own file; a URL's folder is the user's to make, and a typo in it must
        # fail rather than put the database somewhere nobody looks.
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        # The pool hands each connection to one thread at a time; sqlite3 need not check.
        connect_args={"check_same_thread": False},
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def is_configured(engine: Engine) -> bool:
    """Whether ``engine`` came from :func:`open_database` (explicit transactions, WAL, ...)."""
    return event.contains(engine, "begin", _on_begin)


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """One short read transaction: a consistent snapshot that never waits for writers."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # PostgreSQL reads committed rows statement by statement unless asked for one
            # snapshot; SQLite's read transactions are one snapshot already.
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One short write transaction (``BEGIN IMMEDIATE``), committed on success."""
    with engine.connect() as connection:
        connection.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        with connection.begin():
            yield connection


class StoreWriteError(UserError):
    """The database could not take what was written to it: the disk is full, another program
    held it locked too long, the server is gone. Nothing of the failed write was kept."""


@contextmanager
def saving(engine: Engine, what: str) -> Iterator[Connection]:
    """:func:`writing`, with a failure the environment causes raised as
    :class:`StoreWriteError` that says ``what`` could not be saved and why."""
    try:
        with writing(engine) as connection:
            yield connection
    except OperationalError as exc:
        raise StoreWriteError(f"{what} could not be saved: {why_not_written(exc)}") from None


def why_not_written(exc: BaseException) -> str:
    """Why a write failed, in words a person can act on."""
    code = sqlite_error_code(exc)
    message = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if code == sqlite3.SQLITE_FULL:
        return f"the disk is full ({message})"
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return f"the database is locked by another program ({message})"
    return message


def sqlite_error_code(exc: BaseException) -> int | None:
    """The primary SQLite result code (``sqlite3.SQLITE_BUSY``, ``sqlite3.SQLITE_FULL``, ...)
    behind ``exc``, a SQLAlchemy or :mod:`sqlite3` error; ``None`` for any other error."""
    error = getattr(exc, "orig", None) or exc
    code = getattr(error, "sqlite_errorcode", None)
    # An extended code (SQLITE_BUSY_RECOVERY, SQLITE_CORRUPT_INDEX, ...) keeps the primary
    # code in its low byte.
    return None if code is None else int(code) & 0xFF


def _open_postgres(url: URL, *, echo: bool) -> Engine:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3, not the default psycopg2
    # pre_ping: a shared server may drop idle connections; a stale one is replaced unseen.
    engine = create_engine(
        url, echo=echo, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
    )
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
    return engine


def _without_nul(  # noqa: PLR0917 (SQLAlchemy's event signature)
    connection: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> tuple[str, Any]:
    # PostgreSQL refuses the NUL character in text, which SQLite keeps; a model's output may
    # hold one. It becomes U+FFFD, the replacement character, rather than failing the write.
    if executemany and isinstance(parameters, list | tuple):
        return statement, [_clean(p) for p in parameters]
    return statement, _clean(parameters)


def _clean(parameters: Any) -> Any:
    if isinstance(parameters, dict):
        return {key: _clean(value) for key, value in parameters.items()}
    if isinstance(parameters, list | tuple):
        return type(parameters)(_clean(value) for value in parameters)
    if isinstance(parameters, str) and "\x00" in parameters:
        return parameters.replace("\x00", "\ufffd")
    return parameters


def _url_for(target: str | os.PathLike[str] | URL) -> URL:
    if isinstance(target, URL):
        return target
    if isinstance(target, str) and "://" in target:
        return make_url(target)
    # Built from parts rather than a string, so '?', '#' or '%' in a path stay literal.
    return URL.create("sqlite", database=str(Path(target).expanduser()))


def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    sqlite_dialect.configure(dbapi_connection, BUSY_TIMEOUT_MS)


def _on_begin(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        return  # the driver begins its own transactions
    sqlite_dialect.begin(
        connection, str(connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED"))
    )
