"""Teams saved in a real SQLite file: saved, listed a page at a time, loaded back equal,
replaced, deleted, and exported as team files that load back equal."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from purpose_desktop.config import example_team_file
from purpose_desktop.engine.specs import LoadedTeam
from purpose_desktop.engine.team_file import load_team, parse_team
from purpose_desktop.errors import UserError
from purpose_desktop.store.database import reading
from purpose_desktop.store.opening import open_store
from purpose_desktop.store.team_store import SavedAgent, TeamStore
from sqlalchemy import URL, Engine, text


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    store = open_store(tmp_path / "teams.sqlite3")
    yield store.engine
    store.engine.dispose()


@pytest.fixture
def teams(engine: Engine) -> TeamStore:
    return TeamStore(engine)


@pytest.fixture
def arithmetic() -> LoadedTeam:
    return load_team(example_team_file().with_name("arithmetic.yaml"))


def a_team(name: str, folder: Path, model: str = "bundled:smollm2-135m") -> LoadedTeam:
    path = folder / f"{name}.yaml"
    text_ = f"name: {name}\nagents:\n  - name: a\n    role: r\n    model: {model}\n"
    path.write_text(text_, encoding="utf-8")
    return LoadedTeam(spec=parse_team(text_, path), source=path)


def agent_rows(engine: Engine) -> list[tuple[object, ...]]:
    with reading(engine) as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT t.name, a.position, a.name, a.model, a.tools, a.review, a.max_steps "
                    "FROM agent_specs AS a JOIN teams AS t ON t.id = a.team_id "
                    "ORDER BY t.name, a.position"
                )
            )
        ]


def test_a_saved_team_loads_back_equal(
    teams: TeamStore, arithmetic: LoadedTeam, engine: Engine
) -> None:
    saved = teams.save_now(arithmetic)
    assert saved.name == "Arithmetic" and saved.source == arithmetic.source
    assert saved.agents == (
        SavedAgent("counter", "bundled:smollm2-135m", ("calculator",)),
        SavedAgent("helper", "bundled:smollm2-135m", ("note",)),
    )
    assert teams.load_now("Arithmetic") == arithmetic
    assert agent_rows(engine) == [
        ("Arithmetic", 0, "counter", "bundled:smollm2-135m", '["calculator"]', "risky", 4),
        ("Arithmetic", 1, "helper", "bundled:smollm2-135m", '["note"]', "never", 3),
    ]


def test_saving_the_same_name_replaces_the_team(
    teams: TeamStore, tmp_path: Path, engine: Engine
) -> None:
    first = teams.save_now(a_team("Crew", tmp_path))
    (tmp_path / "moved").mkdir()
    again = a_team("Crew", tmp_path / "moved", model="bundled:gemma3-270m")
    second = teams.save_now(again)
    assert teams.count_now() == 1
    assert second.created_at == first.created_at and second.updated_at >= first.updated_at
    assert teams.load_now("Crew") == again
    assert [row[3] for row in agent_rows(engine)] == ["bundled:gemma3-270m"]


def test_the_list_comes_a_page_at_a_time_by_name(teams: TeamStore, tmp_path: Path) -> None:
    for name in ("delta", "alpha", "echo", "charlie", "bravo"):
        teams.save_now(a_team(name, tmp_path))
    assert [t.name for t in teams.list_now(limit=2)] == ["alpha", "bravo"]
    assert [t.name for t in teams.list_now(offset=2, limit=2)] == ["charlie", "delta"]
    assert [t.name for t in teams.list_now(offset=4, limit=2)] == ["echo"]
    assert teams.list_now(offset=5) == []


def test_deleting_a_team_forgets_its_agents(
    teams: TeamStore, arithmetic: LoadedTeam, engine: Engine
) -> None:
    teams.save_now(arithmetic)
    assert teams.delete_now("Arithmetic") is True
    assert teams.delete_now("Arithmetic") is False
    assert agent_rows(engine) == []
    with pytest.raises(UserError, match="No team called 'Arithmetic' is saved"):
        teams.load_now("Arithmetic")


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_an_exported_team_file_loads_back_equal(
    teams: TeamStore, arithmetic: LoadedTeam, tmp_path: Path, suffix: str
) -> None:
    teams.save_now(arithmetic)
    path = tmp_path / f"exported{suffix}"
    exported = teams.export_now("Arithmetic", path)
    assert load_team(path) == exported
    assert exported.spec == arithmetic.spec
    if suffix == ".yaml":
        assert "name: Arithmetic\n" in path.read_text(encoding="utf-8")


def test_exporting_where_it_cannot_be_written(
    teams: TeamStore, arithmetic: LoadedTeam, tmp_path: Path
) -> None:
    teams.save_now(arithmetic)
    with pytest.raises(UserError, match="Cannot write"):
        teams.export_now("Arithmetic", tmp_path / "no such folder" / "team.yaml")
    with pytest.raises(UserError, match="No team called 'Nobody'"):
        teams.export_now("Nobody", tmp_path / "team.yaml")


def test_the_async_forms(teams: TeamStore, arithmetic: LoadedTeam) -> None:
    async def go() -> None:
        await teams.save(arithmetic)
        assert [t.name for t in await teams.list_teams()] == ["Arithmetic"]
        assert await teams.load("Arithmetic") == arithmetic
        assert await teams.delete("Arithmetic")

    asyncio.run(go())


def test_teams_on_postgresql(postgres_url: URL, arithmetic: LoadedTeam, tmp_path: Path) -> None:
    store = open_store(postgres_url)
    try:
        teams = TeamStore(store.engine)
        teams.save_now(a_team("Crew", tmp_path))
        teams.save_now(arithmetic)
        teams.save_now(arithmetic)
        assert [t.name for t in teams.list_now(offset=1)] == ["Crew"]
        assert teams.load_now("Arithmetic") == arithmetic
        assert teams.delete_now("Crew")
        assert [row[0] for row in agent_rows(store.engine)] == ["Arithmetic", "Arithmetic"]
    finally:
        store.engine.dispose()
