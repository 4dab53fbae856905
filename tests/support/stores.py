"""Stores for tests: a real SQLite database in the test's folder, with runs recorded in it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from purpose_desktop.engine.loop.run import RunOutcome, TeamRunner
from purpose_desktop.engine.review import ScoreDecision, ScriptedReview
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.store.database import reading
from purpose_desktop.store.opening import (
    Store,
    open_store,
)
from purpose_desktop.store.run_journal import SqlRunJournal
from sqlalchemy import URL, Engine, event, text
from tests.support.recording import StallAtStep, run_until_stalled
from tests.support.scripted_team import act, one_agent_team, team_model

TASK = "What is 17 * 23?"


RUN_TABLES = ("runs", "events", "steps", "checkpoints", "score_overrides", "costs")


def recording_runner(
    store: Store, folder: Path, actions: list[str], model: str = "m"
) -> tuple[TeamRunner, SqlRunJournal]:
    """A runner on scripted ``actions`` (critic score 5) that records into ``store``."""
    journal = SqlRunJournal(lambda: store.engine)
    provider = ScriptedProvider({model: team_model(actions, score=5)})
    return TeamRunner(
        provider, store.memory, workspaces_dir=folder / "workspaces", journal=journal
    ), journal


def record(
    store: Store,
    folder: Path,
    actions: list[str],
    go: Callable[[TeamRunner], Any],
    model: str = "m",
) -> Any:
    """Run ``go`` with a recording runner and close the journal (all is committed) after."""
    runner, journal = recording_runner(store, folder, actions, model)
    try:
        return asyncio.run(go(runner))
    finally:
        journal.close()


def record_run(store: Store, folder: Path, *, model: str = "m") -> RunOutcome:
    """A completed run of two steps; the person raises the critic's first score to 7."""
    team = one_agent_team(folder, review="always", model=model)
    review = ScriptedReview(scores=[ScoreDecision(7, "it is right")])
    actions = [act("calculator", expression="17*23"), act("finish", answer="391")]
    outcome: RunOutcome = record(
        store, folder, actions, lambda runner: runner.run(team, TASK, (), review), model
    )
    return outcome


def record_cancelled_run(store: Store, folder: Path, *, model: str = "m") -> str:
    """A run cancelled while its second action waits for review; its id."""
    team = one_agent_team(folder, review="always", model=model)
    actions = [act("calculator", expression="17*23"), act("finish", answer="1")]
    run_id: str = record(
        store,
        folder,
        actions,
        lambda runner: run_until_stalled(runner, team, TASK, StallAtStep(2), []),
        model,
    )
    return run_id


def counts(store: Store, tables: tuple[str, ...] = RUN_TABLES) -> dict[str, int]:
    """How many rows each table holds."""
    with reading(store.engine) as connection:
        return {
            table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in tables
        }


@contextmanager
def store_at(path: Path | URL) -> Iterator[Store]:
    """The store in the SQLite file ``path`` (or at a database URL), closed after."""
    store = open_store(path)
    try:
        yield store
    finally:
        store.engine.dispose()


class PageLimit:
    """A full disk: every connection ``engine`` hands out may grow the database only up to
    :attr:`pages` pages (SQLite's ``max_page_count``); ``None`` for SQLite's own limit."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        with engine.connect() as connection:
            self._unlimited = int(connection.exec_driver_sql("PRAGMA max_page_count").scalar_one())
        self.pages: int | None = None
        event.listen(engine, "checkout", self._apply)

    def fill(self) -> None:
        """No room left beyond the pages the database has now."""
        with self._engine.connect() as connection:
            self.pages = int(connection.exec_driver_sql("PRAGMA page_count").scalar_one())

    def lift(self) -> None:
        self.pages = None

    def _apply(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA max_page_count = {self.pages or self._unlimited}")
        finally:
            cursor.close()


def record_fork(store: Store, folder: Path, parent: str) -> RunOutcome:
    """A fork of ``parent`` after its first step, finishing differently."""
    outcome: RunOutcome = record(
        store, folder, [act("finish", answer="392")], lambda runner: runner.fork(parent, 1)
    )
    return outcome
