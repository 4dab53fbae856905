"""The teams service over a real SQLite database: a team file saved, listed, written back to
a file that reads the same, and forgotten; a team not saved and a file that is not a team are
named."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from purpose_desktop.config import example_team_file
from purpose_desktop.engine.team_file import load_team
from purpose_desktop.errors import UserError
from purpose_desktop.services.store import StoreService
from purpose_desktop.services.teams import TeamsService
from purpose_desktop.store.opening import Store
from tests.support.stores import store_at


@pytest.fixture
def teams(tmp_path: Path) -> Iterator[TeamsService]:
    with store_at(tmp_path / "purpose-desktop.sqlite3") as store:
        yield TeamsService(StoreService(lambda: store))


def test_a_team_is_saved_listed_exported_and_deleted(teams: TeamsService, tmp_path: Path) -> None:
    team_file = example_team_file()
    saved = asyncio.run(teams.save(team_file))
    original = load_team(team_file)
    assert saved.name == original.spec.name
    assert [agent.name for agent in saved.agents] == [a.name for a in original.spec.agents]
    assert asyncio.run(teams.list_teams(limit=10)) == [saved]

    path = tmp_path / "exported.yaml"
    asyncio.run(teams.export(saved.name, path))
    assert load_team(path).spec == original.spec

    asyncio.run(teams.delete(saved.name))
    assert asyncio.run(teams.list_teams(limit=10)) == []
    with pytest.raises(UserError, match=f"No team called {saved.name!r} is saved."):
        asyncio.run(teams.delete(saved.name))


def test_a_file_that_is_not_a_team_is_named_and_nothing_is_saved(
    teams: TeamsService, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad\nagents: []\n", encoding="utf-8")
    with pytest.raises(UserError, match=re.escape(str(bad))):
        asyncio.run(teams.save(bad))
    assert asyncio.run(teams.list_teams(limit=10)) == []


def test_a_database_that_cannot_be_opened_is_a_user_error(tmp_path: Path) -> None:
    def broken() -> Store:
        raise UserError("The database x.sqlite3 cannot be opened: unable to open")

    with pytest.raises(UserError, match="cannot be opened"):
        asyncio.run(TeamsService(StoreService(broken)).list_teams(limit=10))
