"""Full-text indexes over text columns, in the form each database offers, and searching them.

SQLite gets an FTS5 table (BM25 ranking, porter stemming) kept in sync by triggers; PostgreSQL
gets a GIN index over the columns' ``tsvector``, which its text search uses directly. The SQL
of each lives in :mod:`~purpose_desktop.store.sqlite_dialect` and
:mod:`~purpose_desktop.store.postgres_dialect`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, FromClause, Select, Table, UnaryExpression

from purpose_desktop.store import postgres_dialect, sqlite_dialect

#: The text search configuration PostgreSQL indexes and queries with (English stemming).
POSTGRES_CONFIG = postgres_dialect.CONFIG


@dataclass(frozen=True)
class FullTextIndex:
    """A full-text index over some text columns of ``table``."""

    name: str
    table: str
    columns: tuple[str, ...]
    # Porter stemming, so "tests" finds "testing"; diacritics folded.
    tokenize: str = "porter unicode61 remove_diacritics 2"

    def postgres_document(self, alias: str = "") -> str:
        """The ``tsvector`` expression the PostgreSQL index is built on; a query must use the
        very same expression for the index to serve it."""
        return postgres_dialect.document(self.columns, alias)


def create_full_text_index(connection: Connection, fts: FullTextIndex) -> None:
    """Create ``fts`` if it is missing; one made over a table with rows is filled from them."""
    if connection.dialect.name == "postgresql":
        postgres_dialect.create_gin_index(connection, fts.name, fts.table, fts.postgres_document())
    else:
        sqlite_dialect.create_fts5(connection, fts.name, fts.table, fts.columns, fts.tokenize)


class TextSearch(Protocol):
    """How one database searches a :class:`FullTextIndex`. Every ``query`` holds what
    :meth:`query` made, usually as a bound parameter: a statement built once then serves
    every search."""

    def query(self, terms: Sequence[str]) -> str:
        """The query for rows holding any of ``terms``, in the database's syntax."""
        ...

    def __hash__(self) -> int:
        """Statements built from a search are cached by it: there is one per index and
        database."""
        ...

    def documents(self, query: ColumnElement[str]) -> Select[Any]:
        """The matches of ``query`` among every row, in the cheapest form (for counting)."""
        ...

    def rows(self) -> FromClause:
        """The indexed rows, joined to what :meth:`matches` and the orders need."""
        ...

    def matches(self, query: ColumnElement[str]) -> ColumnElement[bool]:
        """That a row of :meth:`rows` matches ``query``."""
        ...

    def condition(self, query: ColumnElement[str]) -> ColumnElement[bool]:
        """That a row of the indexed table, read alone, matches ``query``."""
        ...

    def best_first(self, query: ColumnElement[str]) -> list[ColumnElement[Any]]:
        """An order for :meth:`rows` matching ``query``: the most similar first."""
        ...

    def newest_first(self) -> list[UnaryExpression[Any]]:
        """An order for :meth:`rows`: the newest first."""
        ...


def text_search(connection: Connection, fts: FullTextIndex, indexed: Table) -> TextSearch:
    """How ``connection``'s database searches ``fts``, an index of the table ``indexed``."""
    return _text_search(connection.dialect.name, fts, indexed)


@functools.cache
def _text_search(dialect: str, fts: FullTextIndex, indexed: Table) -> TextSearch:
    if dialect == "postgresql":
        return postgres_dialect.TsSearch(indexed, fts.columns)
    return sqlite_dialect.Fts5Search(fts.name, indexed)
