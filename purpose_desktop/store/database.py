"""Opening the SQLite database and creating its schema.

Every connection runs in WAL mode (readers never block the writer), waits up to
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.pool import ConnectionPoolEntry

BUSY_TIMEOUT_MS = 5000
_BEGIN_OPTION = "purpose_sqlite_begin"
_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})


@dataclass(frozen=True)
class FullTextIndex:
    """An FTS5 index over some text columns of ``table``, kept in sync by triggers."""

    name: str
    table: str
    columns: tuple[str, ...]
    # Porter stemming, so "tests" finds "testing"; diacritics folded.
    tokenize: str = "porter unicode61 remove_diacritics 2"


def open_database(target: str | os.PathLike[str] | URL, *, echo: bool = False) -> Engine:
    """An engine for a SQLite database: a SQLAlchemy URL (``sqlite:///...``) or a file path.

    A missing parent folder of a file is created. The engine may be shared by any number of
    threads; each checks out its own connection from the pool. In-memory databases are
    refused: every pooled connection would see a different database, or all threads would
    share one connection and its transaction.
    """
    url = _url_for(target)
    if url.get_backend_name() != "sqlite":
        raise ValueError(f"only SQLite databases are supported, not {url.get_backend_name()!r}")
    database = url.database or ""
    in_memory = "mode=memory" in database or url.query.get("mode") == "memory"
    if database in ("", ":memory:") or in_memory:
        raise ValueError("in-memory databases are not supported; use a file")
    if not url.query.get("uri") and not database.startswith("file:"):
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
    with engine.connect() as connection, connection.begin():
        yield connection


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One short write transaction (``BEGIN IMMEDIATE``), committed on success."""
    with engine.connect() as connection:
        connection.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        with connection.begin():
            yield connection


def create_schema(engine: Engine) -> None:
    """Create every table, index, full-text index and trigger that is missing.

    Idempotent, and atomic: it runs in one write transaction, so two processes starting at
    once do not trip over each other. A full-text index created over a table that already
    has rows is filled from them.
    """
    from sqlmodel import SQLModel

    from purpose_desktop.store import memory_tables

    tables = [SQLModel.metadata.tables[name] for name in memory_tables.TABLE_NAMES]
    with writing(engine) as connection:
        SQLModel.metadata.create_all(connection, tables=tables, checkfirst=True)
        for fts in memory_tables.FULL_TEXT_INDEXES:
            _create_full_text_index(connection, fts)


def _create_full_text_index(connection: Connection, fts: FullTextIndex) -> None:
    exists = connection.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"),
        {"name": fts.name},
    ).first()
    columns = ", ".join(fts.columns)
    new_columns = ", ".join(f"new.{c}" for c in fts.columns)
    old_columns = ", ".join(f"old.{c}" for c in fts.columns)
    if exists is None:
        try:
            connection.exec_driver_sql(
                f"CREATE VIRTUAL TABLE {fts.name} USING fts5({columns}, "
                f"content='{fts.table}', content_rowid='id', tokenize='{fts.tokenize}')"
            )
        except Exception as error:
            if "fts5" in str(error).lower():
                raise RuntimeError(
                    f"this SQLite ({sqlite3.sqlite_version}) lacks the FTS5 extension"
                ) from error
            raise
        connection.exec_driver_sql(f"INSERT INTO {fts.name}({fts.name}) VALUES ('rebuild')")
    delete = (
        f"INSERT INTO {fts.name}({fts.name}, rowid, {columns}) "
        f"VALUES ('delete', old.id, {old_columns});"
    )
    insert = f"INSERT INTO {fts.name}(rowid, {columns}) VALUES (new.id, {new_columns});"
    triggers = {
        "ai": f"AFTER INSERT ON {fts.table} BEGIN {insert} END",
        "ad": f"AFTER DELETE ON {fts.table} BEGIN {delete} END",
        # Only when the indexed text changes: Q-value updates leave the index alone.
        "au": f"AFTER UPDATE OF {columns} ON {fts.table} BEGIN {delete} {insert} END",
    }
    for suffix, body in triggers.items():
        connection.exec_driver_sql(f"CREATE TRIGGER IF NOT EXISTS {fts.table}_{suffix} {body}")


def _url_for(target: str | os.PathLike[str] | URL) -> URL:
    if isinstance(target, URL):
        return target
    if isinstance(target, str) and "://" in target:
        return make_url(target)
    # Built from parts rather than a string, so '?', '#' or '%' in a path stay literal.
    return URL.create("sqlite", database=str(Path(target).expanduser()))


def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # No implicit BEGIN from the sqlite3 module: _on_begin emits it (see the module docstring).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # Safe with WAL (no corruption on power loss; at worst the last commits are lost)
        # and it spares an fsync per commit.
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _on_begin(connection: Connection) -> None:
    mode = str(connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED"))
    if mode not in _BEGIN_MODES:
        raise ValueError(f"unknown SQLite transaction mode {mode!r}")
    connection.exec_driver_sql(f"BEGIN {mode}")
