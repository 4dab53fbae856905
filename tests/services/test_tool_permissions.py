"""The tool permissions service over a real SQLite database: a team's approvals allowed,
listed and revoked; a run of that team skips asking about them and keeps the ones a person
asks it to remember; a locked database is the environment's fault, said in words."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.loop.run import TeamRunner
from purpose_desktop.engine.review import ActionDecision, ScriptedReview
from purpose_desktop.errors import UserError
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.services.store import StoreService
from purpose_desktop.services.tool_permissions import ToolPermissionsService
from purpose_desktop.store.opening import Store
from tests.support.scripted_team import act, one_agent_team, team_model
from tests.support.stores import store_at

TASK = "What is 17 * 23?"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with store_at(tmp_path / "purpose-desktop.sqlite3") as opened:
        yield opened


@pytest.fixture
def permissions(store: Store) -> ToolPermissionsService:
    return ToolPermissionsService(StoreService(lambda: store))


def test_allowed_listed_and_revoked(permissions: ToolPermissionsService) -> None:
    async def scenario() -> None:
        await permissions.allow("Solvers", "tool", "calculator")
        await permissions.allow("Solvers", "server", "time")
        await permissions.allow("Others", "tool", "python")
        listed = await permissions.list_for("Solvers")
        assert [(a.kind, a.name) for a in listed] == [("server", "time"), ("tool", "calculator")]
        assert await permissions.allowed_keys("Solvers") == {"time.*", "calculator"}
        await permissions.revoke("Solvers", "server", "time")
        assert await permissions.allowed_keys("Solvers") == {"calculator"}
        with pytest.raises(UserError, match="had not allowed the server 'time'"):
            await permissions.revoke("Solvers", "server", "time")
        with pytest.raises(UserError, match="Only a team can allow"):
            await permissions.allow("Solvers", "tool", " ")

    asyncio.run(scenario())


def test_a_run_skips_what_its_team_allowed_and_keeps_what_the_person_remembers(
    permissions: ToolPermissionsService, store: Store, tmp_path: Path
) -> None:
    team = one_agent_team(tmp_path, tools="[calculator, note]", review="always", max_steps=6)
    actions = [
        act("calculator", expression="23*17"),  # not the task's expression: no finish by rule
        act("note", text="391"),
        act("calculator", expression="391+0"),
        act("note", text="again"),
        act("finish", answer="391"),
    ]
    review = ScriptedReview(actions=[ActionDecision("approve", remember="tool")])
    events: list[ev.Event] = []

    async def scenario() -> None:
        await permissions.allow(team.spec.name, "tool", "calculator")
        runner = TeamRunner(
            ScriptedProvider({"m": team_model(actions, score=5)}),
            store.memory,
            workspaces_dir=tmp_path / "workspaces",
            approvals=permissions,
        )
        outcome = await runner.run(team, TASK, [events.append], review)
        assert outcome.status == "completed", outcome.error
        # Asked about the note once (remembered then) and the finish; never the calculator.
        assert [r.action.tool for r in review.action_requests] == ["note", "finish"]
        assert review.action_requests[0].team == team.spec.name
        assert await permissions.allowed_keys(team.spec.name) == {"calculator", "note"}

    asyncio.run(scenario())
    by = [(e.tool, e.by) for e in events if isinstance(e, ev.ActionReviewed)]
    assert by == [
        ("calculator", "policy"),
        ("note", "person"),
        ("calculator", "policy"),
        ("note", "policy"),
        ("finish", "person"),
    ]


def test_a_locked_database_is_said_in_words_and_the_run_goes_on(
    permissions: ToolPermissionsService, tmp_path: Path
) -> None:
    holder = sqlite3.connect(tmp_path / "purpose-desktop.sqlite3")
    asyncio.run(permissions.list_for("warm"))  # opened before the lock is taken
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(UserError, match="database is locked"):
            asyncio.run(permissions.allow("Solvers", "tool", "calculator"))
    finally:
        holder.rollback()
        holder.close()
