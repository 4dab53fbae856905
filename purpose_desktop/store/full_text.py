"""Full-text indexes over text columns, in the form each database offers.

SQLite gets an FTS5 table (BM25 ranking, porter stemming) kept in sync by triggers; PostgreSQL
gets a GIN index over the columns' ``tsvector``, which its text search uses directly.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from sqlalchemy import Connection, text

#: The text search configuration PostgreSQL indexes and queries with (English stemming).
POSTGRES_CONFIG = "english"


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
        prefix = f"{alias}." if alias else ""
        joined = " || ' ' || ".join(f"coalesce({prefix}{c}, '')" for c in self.columns)
        return f"to_tsvector('{POSTGRES_CONFIG}', {joined})"


def create_full_text_index(connection: Connection, fts: FullTextIndex) -> None:
    """Create ``fts`` if it is missing; one made over a table with rows is filled from them."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {fts.name} ON {fts.table} "
            f"USING gin (({fts.postgres_document()}))"
        )
        return
    _create_fts5(connection, fts)


def _create_fts5(connection: Connection, fts: FullTextIndex) -> None:
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
