"""The store service over real SQLite files: opened when first used, the start-up report
(interrupted runs, a damaged database replaced), and a database that fails mid-way said in
words."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from purpose_desktop.errors import UserError
from purpose_desktop.services.store import StoreService
from purpose_desktop.store.database import writing
from purpose_desktop.store.opening import Store, open_store
from sqlalchemy import text
from tests.support.stores import PageLimit, record_run


def test_the_store_is_opened_when_first_used(store: Store) -> None:
    opened: list[Store] = []

    def open_it() -> Store:
        opened.append(store)
        return store

    service = StoreService(open_it)
    assert opened == []
    assert asyncio.run(service.run_blocking(lambda s: s.interrupted)) == ()
    assert opened == [store]


def test_the_report_lists_interrupted_runs_newest_first(store: Store, tmp_path: Path) -> None:
    older = record_run(store, tmp_path).run_id
    newer = record_run(store, tmp_path).run_id
    with writing(store.engine) as connection:
        connection.execute(text("UPDATE runs SET status = 'interrupted'"))

    report = asyncio.run(StoreService(lambda: store).report())
    assert [run.id for run in report.interrupted] == [newer, older]
    assert report.recovery_notice is None


def test_the_report_says_where_a_damaged_database_was_kept(tmp_path: Path) -> None:
    file = tmp_path / "purpose-desktop.sqlite3"
    file.write_bytes(b"not a database at all" * 100)
    opened: list[Store] = []

    def open_it() -> Store:
        opened.append(open_store(file))
        return opened[-1]

    try:
        report = asyncio.run(StoreService(open_it).report())
    finally:
        for store in opened:
            store.engine.dispose()
    assert report.interrupted == ()
    assert report.recovery_notice is not None
    assert "was damaged" in report.recovery_notice
    assert str(opened[0].recovered_from) in report.recovery_notice


def test_a_database_that_fails_mid_way_is_said_in_words(store: Store) -> None:
    limit = PageLimit(store.engine)
    limit.fill()

    def write(opened: Store) -> None:
        with writing(opened.engine) as connection:
            connection.execute(text("CREATE TABLE notes (note TEXT)"))
            connection.execute(text("INSERT INTO notes VALUES (:n)"), {"n": "x" * 100_000})

    with pytest.raises(UserError) as raised:
        asyncio.run(StoreService(lambda: store).run_blocking(write))
    assert str(raised.value).startswith("The database could not be used: the disk is full")
