"""Fixtures for the store's tests: a migrated database with a memory store on it, and a
throwaway PostgreSQL server (``tests/support/postgres.py``) for the session.

The database is a SQLite file unless a test module overrides ``database``: ``test_postgres.py``
gives it an empty database on the server, and so runs the memory store's tests on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from purpose_desktop.store.database import open_database
from purpose_desktop.store.memory_store import DatabaseMemoryStore
from purpose_desktop.store.migrations import migrate
from sqlalchemy import URL, Engine
from tests.support.postgres import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]


@pytest.fixture
def database(tmp_path: Path) -> Path | URL:
    """Where the test's database is: a SQLite file that does not exist yet."""
    return tmp_path / "memory.sqlite3"


@pytest.fixture
def engine(database: Path | URL) -> Iterator[Engine]:
    """An engine on the test's database, migrated."""
    engine = open_database(database)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> DatabaseMemoryStore:
    return DatabaseMemoryStore(engine)


@pytest.fixture
def other_engine(database: Path | URL) -> Iterator[Engine]:
    """A second engine on the test's database, as another process (or machine) would open it."""
    engine = open_database(database)
    yield engine
    engine.dispose()
