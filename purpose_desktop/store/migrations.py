"""The database schema's versions and the steps from each to the next, run at start-up.

A small runner rather than Alembic: the schema has full-text parts that differ by database
(FTS5 tables and triggers on SQLite, GIN indexes on PostgreSQL) and that Alembic's
autogenerate does not see, so every step would be hand-written anyway; and the app must
migrate by itself on a user's machine, with no ``alembic.ini`` or script folder to ship.

``schema_migrations`` lists the steps applied. A database from before versioning (the memory
tables alone) counts as version 1. All pending steps run in one transaction, so a failure
leaves the database as it was, and two processes starting at once migrate it once.

A step is frozen once released. Steps 1 to 4 create their tables from the table models as
they stood then; a later change to one of those tables is a new step that alters it, and
before it lands those steps must spell out their tables instead of using the models.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Connection,
    Double,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    insert,
    inspect,
    select,
)

from purpose_desktop.errors import UserError
from purpose_desktop.store import postgres_dialect
from purpose_desktop.store.database import writing
from purpose_desktop.store.full_text import create_full_text_index

# The steps applied; kept apart from the table models, whose schema it versions.
_HISTORY = Table(
    "schema_migrations",
    MetaData(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at", Double, nullable=False),
)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _create_tables(connection: Connection, names: tuple[str, ...]) -> None:
    from sqlmodel import SQLModel

    # Imported for their side effect: the table models register with SQLModel's metadata.
    from purpose_desktop.store import (  # noqa: F401
        improvement_tables,
        memory_tables,
        run_tables,
        tool_permission_tables,
    )

    tables = [SQLModel.metadata.tables[name] for name in names]
    SQLModel.metadata.create_all(connection, tables=tables, checkfirst=True)


def _memory(connection: Connection) -> None:
    from purpose_desktop.store import memory_tables

    _create_tables(connection, memory_tables.TABLE_NAMES)
    for fts in memory_tables.FULL_TEXT_INDEXES:
        create_full_text_index(connection, fts)


def _runs(connection: Connection) -> None:
    from purpose_desktop.store import run_tables

    _create_tables(connection, run_tables.TABLE_NAMES)


def _improvements(connection: Connection) -> None:
    from purpose_desktop.store import improvement_tables

    _create_tables(connection, improvement_tables.TABLE_NAMES)


def _tool_permissions(connection: Connection) -> None:
    from purpose_desktop.store import tool_permission_tables

    _create_tables(connection, tool_permission_tables.TABLE_NAMES)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "team memory: heuristics, experiences, score anchors", _memory),
    Migration(2, "teams, runs, events, steps, checkpoints, overrides, costs, models", _runs),
    Migration(3, "improvement benchmark results", _improvements),
    Migration(4, "teams' standing approvals of tools and MCP servers", _tool_permissions),
)
LATEST = MIGRATIONS[-1].version


class SchemaTooNewError(UserError):
    """The database was written by a newer version of the app."""


def schema_version(engine: Engine) -> int:
    """The version of the database's schema: 0 when it is empty."""
    with engine.connect() as connection:
        return _version(connection)


def migrate(engine: Engine) -> list[int]:
    """Bring the schema up to :data:`LATEST`; returns the versions applied (often none).

    Raises :class:`SchemaTooNewError` for a database from a newer version of the app, which
    is left untouched.
    """
    with writing(engine) as connection:
        if connection.dialect.name == "postgresql":
            # One migrating process at a time; SQLite's BEGIN IMMEDIATE is that already.
            postgres_dialect.lock_for_migration(connection)
        current = _version(connection)
        if current > LATEST:
            raise SchemaTooNewError(
                f"The database is at schema version {current}, but this version of Purpose "
                f"Desktop knows versions up to {LATEST}. Update the app, or choose another "
                "database."
            )
        pending = [m for m in MIGRATIONS if m.version > current]
        if not pending:
            return []
        _ensure_history(connection, current)
        for migration in pending:
            migration.apply(connection)
            connection.execute(
                insert(_HISTORY).values(
                    version=migration.version,
                    description=migration.description,
                    applied_at=time.time(),
                )
            )
        return [m.version for m in pending]


def _version(connection: Connection) -> int:
    tables = set(inspect(connection).get_table_names())
    if _HISTORY.name in tables:
        found = connection.execute(select(func.max(_HISTORY.c.version))).scalar()
        return int(found or 0)
    # Before versioning the database held the memory tables alone: that is version 1.
    return 1 if "heuristics" in tables else 0


def _ensure_history(connection: Connection, current: int) -> None:
    _HISTORY.create(connection, checkfirst=True)
    recorded = connection.execute(select(func.count()).select_from(_HISTORY)).scalar_one()
    if current and not recorded:
        connection.execute(
            insert(_HISTORY).values(
                version=current, description="found unversioned", applied_at=time.time()
            )
        )
