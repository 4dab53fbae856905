"""``INSERT ... ON CONFLICT``, which SQLite and PostgreSQL both run but SQLAlchemy builds with
each dialect's own construct."""

from __future__ import annotations

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_on_conflict(connection: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` into ``table`` for ``connection``'s database, which can say what to do
    about a row that conflicts with one stored (``on_conflict_do_nothing``,
    ``on_conflict_do_update``)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
