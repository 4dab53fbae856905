"""What only SQLite needs: the settings of every connection (PRAGMAs), the transaction's
``BEGIN``, the check of a file, and the FTS5 tables behind full-text search, with the triggers
that keep them in sync and the way a query matches and ranks against them (BM25).

This module holds the store's SQLite-only SQL text: PRAGMAs, ``BEGIN`` modes, virtual tables
and triggers have no SQLAlchemy Core form. Searches themselves are Core expressions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Integer,
    Join,
    Select,
    Table,
    TableClause,
    UnaryExpression,
    column,
    func,
    inspect,
    select,
    table,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

#: The transaction modes ``BEGIN`` takes.
BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})


def configure(dbapi_connection: sqlite3.Connection, busy_timeout_ms: int) -> None:
    """Set up a new connection: transactions begun by :func:`begin` only, a wait of up to
    ``busy_timeout_ms`` for a lock, foreign keys enforced, WAL mode."""
    # No implicit BEGIN from the sqlite3 module: begin() emits it, in the mode asked for.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # Safe with WAL (no corruption on power loss; at worst the last commits are lost)
        # and it spares an fsync per commit.
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def begin(connection: Connection, mode: str) -> None:
    """Begin a transaction in ``mode``, one of :data:`BEGIN_MODES`."""
    if mode not in BEGIN_MODES:
        raise ValueError(f"unknown SQLite transaction mode {mode!r}")
    connection.exec_driver_sql(f"BEGIN {mode}")


def quick_check(connection: sqlite3.Connection) -> list[str]:
    """What ``PRAGMA quick_check`` finds, up to its first fault: ``["ok"]`` for a sound file.

    It checks the structure of every page but not whether indexes match their tables
    (``integrity_check``, at three times the cost): 20 ms for 100 000 rows.
    """
    return [str(row[0]) for row in connection.execute("PRAGMA quick_check(1)")]


def create_fts5(
    connection: Connection, name: str, indexed: str, columns: Sequence[str], tokenize: str
) -> None:
    """Create the FTS5 table ``name`` over ``columns`` of the table ``indexed`` (whose ``id``
    is its rowid) and the triggers that keep it in sync, where missing; a new one is filled
    from the rows already there."""
    listed = ", ".join(columns)
    if not inspect(connection).has_table(name):
        try:
            connection.exec_driver_sql(
                f"CREATE VIRTUAL TABLE {name} USING fts5({listed}, "
                f"content='{indexed}', content_rowid='id', tokenize='{tokenize}')"
            )
        except Exception as error:
            if "fts5" in str(error).lower():
                raise RuntimeError(
                    f"this SQLite ({sqlite3.sqlite_version}) lacks the FTS5 extension"
                ) from error
            raise
        connection.exec_driver_sql(f"INSERT INTO {name}({name}) VALUES ('rebuild')")
    old = ", ".join(f"old.{c}" for c in columns)
    new = ", ".join(f"new.{c}" for c in columns)
    delete = f"INSERT INTO {name}({name}, rowid, {listed}) VALUES ('delete', old.id, {old});"
    insert = f"INSERT INTO {name}(rowid, {listed}) VALUES (new.id, {new});"
    triggers = {
        "ai": f"AFTER INSERT ON {indexed} BEGIN {insert} END",
        "ad": f"AFTER DELETE ON {indexed} BEGIN {delete} END",
        # Only when the indexed text changes: Q-value updates leave the index alone.
        "au": f"AFTER UPDATE OF {listed} ON {indexed} BEGIN {delete} {insert} END",
    }
    for suffix, body in triggers.items():
        connection.exec_driver_sql(f"CREATE TRIGGER IF NOT EXISTS {indexed}_{suffix} {body}")


class Fts5Search:
    """Searching the FTS5 table ``name`` beside ``indexed`` (its rowid is the row's id),
    ranked by BM25. The query is an FTS5 query string."""

    def __init__(self, name: str, indexed: Table) -> None:
        self._indexed = indexed
        # The FTS5 table as Core sees it: its rowid, and the hidden column named after the
        # table, which MATCH and the ranking functions take.
        self._fts: TableClause = table(name, column("rowid", Integer), column(name))
        self._all = self._fts.c[name]

    @staticmethod
    def query(terms: Sequence[str]) -> str:
        """An FTS5 query for rows holding any of ``terms``: each quoted as a plain term, so it
        always parses; ``""`` for no terms."""
        # Terms are words, which hold no double quotes: quoting needs no escaping.
        return " OR ".join(f'"{term}"' for term in terms)

    def documents(self, query: ColumnElement[str]) -> Select[Any]:
        """The matches of ``query`` among every team's rows, in the cheapest form."""
        return select(self._fts.c.rowid).where(self._all.match(query))

    def rows(self) -> FromClause:
        """The indexed rows beside their FTS5 entries, FTS5 first (see :class:`CrossJoin`)."""
        return CrossJoin(self._fts, self._indexed, self._indexed.c.id == self._fts.c.rowid)

    def matches(self, query: ColumnElement[str]) -> ColumnElement[bool]:
        """That a row of :meth:`rows` matches ``query``."""
        return self._all.match(query)

    def condition(self, query: ColumnElement[str]) -> ColumnElement[bool]:
        """That a row of the indexed table matches ``query``."""
        return self._indexed.c.id.in_(self.documents(query))

    def best_first(self, query: ColumnElement[str]) -> list[ColumnElement[Any]]:
        """An order for :meth:`rows` matching ``query``: the most similar first."""
        # BM25 scores each row against the statement's own MATCH: it takes no query.
        return [func.bm25(self._all)]

    def newest_first(self) -> list[UnaryExpression[Any]]:
        """An order for :meth:`rows`: the newest first."""
        return [self._fts.c.rowid.desc()]


class CrossJoin(Join):
    """An inner join that SQLite runs in the order written: its planner keeps the left table
    of a ``CROSS JOIN`` in the outer loop. A search reads the few FTS5 matches first and
    looks their rows up by id, rather than walk all of a team's rows through its index."""

    inherit_cache = True


@compiles(CrossJoin, "sqlite")
def _cross_join(join: CrossJoin, compiler: SQLCompiler, **kw: Any) -> str:
    inner = compiler.process(Join(join.left, join.right, join.onclause), **kw)
    # The left side is the FTS5 table, a bare name: the first " JOIN " is the join's own.
    return inner.replace(" JOIN ", " CROSS JOIN ", 1)
