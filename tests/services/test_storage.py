"""How a database failure reaches a person: the environment's fault as a UserError, a bug as
itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from purpose_desktop.errors import UserError
from purpose_desktop.services.storage import storage_failures
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError


def test_a_database_another_program_holds_locked_is_the_environments_fault(
    tmp_path: Path,
) -> None:
    file = tmp_path / "store.db"
    holder = sqlite3.connect(file)
    holder.execute("CREATE TABLE runs (id TEXT PRIMARY KEY)")
    holder.commit()
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{file}", connect_args={"timeout": 0.05})
    try:
        with (
            pytest.raises(UserError, match=r"^The run could not be saved: the database is locked"),
            storage_failures("The run could not be saved"),
            engine.begin() as connection,
        ):
            connection.execute(text("INSERT INTO runs VALUES ('a')"))
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()


def test_sql_the_database_refuses_is_a_bug_and_goes_on_as_itself(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE runs (id TEXT PRIMARY KEY)"))
            connection.execute(text("INSERT INTO runs VALUES ('a')"))
        with (
            pytest.raises(IntegrityError),
            storage_failures("The run could not be saved"),
            engine.begin() as connection,
        ):
            connection.execute(text("INSERT INTO runs VALUES ('a')"))
    finally:
        engine.dispose()
