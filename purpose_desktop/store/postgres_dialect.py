"""What only PostgreSQL needs: text search over a GIN index of the text columns' ``tsvector``,
ranked by ``ts_rank``, and the lock that keeps two processes from migrating at once.

The ``tsvector`` expression is SQL text on purpose, and the index is created over that very
text. The planner uses an expression index only for a query holding the same expression with
its constants inline; built from Core expressions, the constants would be bound parameters,
which a prepared statement's generic plan does not fold into the expression, and the index
would go unused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    FromClause,
    Integer,
    Select,
    Table,
    UnaryExpression,
    func,
    literal_column,
    select,
)

#: The text search configuration indexes and queries use (English stemming).
CONFIG = "english"
#: Taken while migrating; any number no other lock of the database's users takes.
_MIGRATION_LOCK = 727274


def document(columns: Sequence[str], alias: str = "") -> str:
    """The ``tsvector`` expression over ``columns`` (of the table named ``alias``, if given)
    that the GIN index is built on and queries must repeat."""
    prefix = f"{alias}." if alias else ""
    joined = " || ' ' || ".join(f"coalesce({prefix}{c}, '')" for c in columns)
    return f"to_tsvector('{CONFIG}', {joined})"


def create_gin_index(connection: Connection, name: str, indexed: str, expression: str) -> None:
    """Create the GIN index ``name`` over ``expression`` of the table ``indexed``, if missing."""
    connection.exec_driver_sql(
        f"CREATE INDEX IF NOT EXISTS {name} ON {indexed} USING gin (({expression}))"
    )


def lock_for_migration(connection: Connection) -> None:
    """Wait for, and hold until the transaction ends, the lock of a migrating process."""
    connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK)))


class TsSearch:
    """Searching ``columns`` of ``indexed`` through their GIN index, ranked by ``ts_rank``.
    The query is a ``to_tsquery`` input."""

    def __init__(self, indexed: Table, columns: Sequence[str]) -> None:
        self._indexed = indexed
        # Unqualified: every query here reads the indexed table alone.
        self._document: ColumnClause[Any] = literal_column(document(columns))

    @staticmethod
    def query(terms: Sequence[str]) -> str:
        """A ``to_tsquery`` input for rows holding any of ``terms``: each quoted as a lexeme,
        so it always parses; ``""`` for no terms."""
        return " | ".join(_quoted_lexeme(term) for term in terms)

    def documents(self, query: ColumnElement[str]) -> Select[Any]:
        """The matches of ``query`` among every team's rows, in the cheapest form."""
        return select(self._indexed.c.id).where(self.matches(query))

    def rows(self) -> FromClause:
        """The rows that :meth:`matches` applies to."""
        return self._indexed

    def matches(self, query: ColumnElement[str]) -> ColumnElement[bool]:
        """That a row of :meth:`rows` matches ``query``."""
        return self._document.bool_op("@@")(self._tsquery(query))

    def condition(self, query: ColumnElement[str]) -> ColumnElement[bool]:
        """That a row of the indexed table matches ``query``."""
        return self.matches(query)

    def best_first(self, query: ColumnElement[str]) -> list[ColumnElement[Any]]:
        """An order for :meth:`rows` matching ``query``: the most similar first, the newest
        first among equals."""
        # Normalisation 1 divides by the log of the text's length: as with BM25, a word
        # counts for more in a short text.
        rank = func.ts_rank(self._document, self._tsquery(query), literal_column("1", Integer))
        return [rank.desc(), self._indexed.c.id.desc()]

    def newest_first(self) -> list[UnaryExpression[Any]]:
        """An order for :meth:`rows`: the newest first."""
        return [self._indexed.c.id.desc()]

    @staticmethod
    def _tsquery(query: ColumnElement[str]) -> ColumnElement[Any]:
        return func.to_tsquery(literal_column(f"'{CONFIG}'"), query)


def _quoted_lexeme(term: str) -> str:
    # Words hold neither quotes nor backslashes; escaped all the same, so that no term given
    # here could ever be read as tsquery syntax.
    escaped = term.replace("\\", "\\\\").replace("'", "''")
    return f"'{escaped}'"
