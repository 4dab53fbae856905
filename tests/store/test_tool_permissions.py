"""Teams' standing approvals of tools and MCP servers in a real database: kept once, listed
per team, revoked. ``test_postgres.py`` runs these on PostgreSQL too."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from purpose_desktop.engine.review import RememberedApproval
from purpose_desktop.store.tool_permissions import ToolPermissionStore
from sqlalchemy import Engine


def test_approvals_are_kept_once_per_team_and_listed_servers_first(engine: Engine) -> None:
    store = ToolPermissionStore(engine)
    first = store.allow_now("Arithmetic", "tool", "time.get_current_time")
    again = store.allow_now("Arithmetic", "tool", "time.get_current_time")
    assert again == first  # kept once, with the time it was first given
    store.allow_now("Arithmetic", "server", "test")
    store.allow_now("Arithmetic", "tool", "calculator")
    store.allow_now("Writers", "server", "time")
    listed = store.list_now("Arithmetic")
    assert [(a.kind, a.name) for a in listed] == [
        ("server", "test"),
        ("tool", "calculator"),
        ("tool", "time.get_current_time"),
    ]
    assert {a.team for a in listed} == {"Arithmetic"}
    assert [a.key for a in listed] == ["test.*", "calculator", "time.get_current_time"]
    assert all(isinstance(a, RememberedApproval) and a.created_at > 0 for a in listed)
    with pytest.raises(dataclasses.FrozenInstanceError):
        listed[0].name = "other"  # type: ignore[misc]
    assert [(a.kind, a.name) for a in store.list_now("Writers")] == [("server", "time")]
    assert store.list_now("Nobody") == []


def test_a_revoked_approval_is_gone_for_its_team_only(engine: Engine) -> None:
    store = ToolPermissionStore(engine)
    store.allow_now("A", "server", "time")
    store.allow_now("B", "server", "time")
    assert store.revoke_now("A", "server", "time") is True
    assert store.revoke_now("A", "server", "time") is False
    assert store.revoke_now("A", "tool", "time") is False  # a tool is not a server
    assert store.list_now("A") == []
    assert [a.name for a in store.list_now("B")] == ["time"]


def test_the_async_forms_and_names_that_are_not_sql(engine: Engine) -> None:
    store = ToolPermissionStore(engine)
    team = "O'Brien; DROP TABLE tool_permissions; --"

    async def scenario() -> None:
        kept = await store.allow(team, "tool", "Ünïcode.tool'\"")
        assert [a.name for a in await store.list_for(team)] == [kept.name]
        assert await store.revoke(team, "tool", kept.name) is True
        assert await store.list_for(team) == []

    asyncio.run(scenario())


def test_an_approval_of_something_else_is_refused(engine: Engine) -> None:
    store = ToolPermissionStore(engine)
    with pytest.raises(ValueError, match="tool or a server"):
        store.allow_now("A", "module", "os")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="names a tool"):
        store.allow_now("A", "tool", "  ")
    assert store.list_now("A") == []
