"""Teams saved in the database: save, list, load, delete, and export as a team file.

A saved team is one ``teams`` row holding the whole team (its team file's content, as JSON)
and the path of the file it came from, plus one ``agent_specs`` row per agent, in the team's
order. Loading reads the JSON, so every part of the team comes back as saved; the agent rows
are there for listing and for queries across teams (which teams use a model).

Every method runs its SQL in one short transaction and returns plain frozen data; the async
forms run it on a worker thread, the ``*_now`` forms are for the CLI and for threads.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Row, bindparam, delete, func, insert, select, update

from purpose_desktop.engine.specs import LoadedTeam, TeamSpec
from purpose_desktop.engine.team_file import write_team_file
from purpose_desktop.errors import UserError
from purpose_desktop.store.database import reading, saving
from purpose_desktop.store.run_tables import AGENT_SPECS, TEAMS


@dataclass(frozen=True)
class SavedAgent:
    name: str
    model: str
    tools: tuple[str, ...]


@dataclass(frozen=True)
class SavedTeam:
    """A saved team as a list shows it."""

    name: str
    description: str
    source: Path | None
    agents: tuple[SavedAgent, ...]
    created_at: float
    updated_at: float


class TeamStore:
    """The teams saved in a database opened with
    :func:`~purpose_desktop.store.opening.open_store`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def save(self, team: LoadedTeam) -> SavedTeam:
        return await asyncio.to_thread(self.save_now, team)

    async def list_teams(self, *, offset: int = 0, limit: int = 50) -> list[SavedTeam]:
        return await asyncio.to_thread(self.list_now, offset=offset, limit=limit)

    async def load(self, name: str) -> LoadedTeam:
        return await asyncio.to_thread(self.load_now, name)

    async def delete(self, name: str) -> bool:
        return await asyncio.to_thread(self.delete_now, name)

    def save_now(self, team: LoadedTeam) -> SavedTeam:
        """Save ``team`` under its name, replacing a team saved under that name before (which
        keeps its creation time)."""
        spec = team.spec
        now = time.time()
        values = {
            "description": spec.description,
            "spec": spec.model_dump_json(),
            "source": None if team.source is None else str(team.source),
            "updated_at": now,
        }
        with saving(self._engine, "The team") as connection:
            team_id = connection.execute(
                select(TEAMS.c.id).where(TEAMS.c.name == spec.name)
            ).scalar_one_or_none()
            if team_id is None:
                team_id = connection.execute(
                    insert(TEAMS)
                    .values(**values, name=spec.name, created_at=now)
                    .returning(TEAMS.c.id)
                ).scalar_one()
            else:
                connection.execute(update(TEAMS).where(TEAMS.c.id == team_id).values(**values))
                connection.execute(delete(AGENT_SPECS).where(AGENT_SPECS.c.team_id == team_id))
            connection.execute(
                insert(AGENT_SPECS),
                [
                    {
                        "team_id": team_id,
                        "position": position,
                        "name": agent.name,
                        "role": agent.role,
                        "model": agent.model,
                        "expertise": json.dumps(list(agent.expertise), ensure_ascii=False),
                        "tools": json.dumps(list(agent.tools)),
                        "review": agent.review.value,
                        "max_steps": agent.max_steps,
                    }
                    for position, agent in enumerate(spec.agents)
                ],
            )
            return _saved_teams(connection, [_team_row(connection, spec.name)])[0]

    def list_now(self, *, offset: int = 0, limit: int = 50) -> list[SavedTeam]:
        """A page of the saved teams, by name."""
        with reading(self._engine) as connection:
            rows = connection.execute(
                select(TEAMS).order_by(TEAMS.c.name).limit(max(limit, 0)).offset(max(offset, 0))
            ).all()
            return _saved_teams(connection, rows)

    def count_now(self) -> int:
        with reading(self._engine) as connection:
            return int(connection.execute(select(func.count()).select_from(TEAMS)).scalar_one())

    def load_now(self, name: str) -> LoadedTeam:
        """The team saved as ``name``; ``UserError`` if there is none."""
        with reading(self._engine) as connection:
            row = _team_row(connection, name)
        source = None if row.source is None else Path(row.source)
        return LoadedTeam(spec=TeamSpec.model_validate_json(row.spec), source=source)

    def delete_now(self, name: str) -> bool:
        """Forget the team saved as ``name`` (its agents too); ``False`` if there was none."""
        with saving(self._engine, "The team") as connection:
            result = connection.execute(delete(TEAMS).where(TEAMS.c.name == name))
            return bool(result.rowcount)

    def export_now(self, name: str, path: Path) -> LoadedTeam:
        """Write the team saved as ``name`` to ``path`` as a team file (YAML or TOML, by its
        suffix) that :func:`~purpose_desktop.engine.team_file.load_team` reads back equal.
        Model paths relative to the team's old file are written as they are."""
        team = self.load_now(name)
        write_team_file(team.spec, path)
        return LoadedTeam(spec=team.spec, source=path.resolve())


def _team_row(connection: Connection, name: str) -> Row[Any]:
    row = connection.execute(select(TEAMS).where(TEAMS.c.name == name)).first()
    if row is None:
        raise UserError(f"No team called {name!r} is saved.")
    return row


def _saved_teams(connection: Connection, rows: Sequence[Row[Any]]) -> list[SavedTeam]:
    """Saved teams from ``teams`` rows, in their order, with their agents."""
    if not rows:
        return []
    agents: dict[int, list[SavedAgent]] = defaultdict(list)
    for agent in connection.execute(_AGENTS_OF, {"ids": [row.id for row in rows]}):
        agents[agent.team_id].append(
            SavedAgent(agent.name, agent.model, tuple(json.loads(agent.tools)))
        )
    return [
        SavedTeam(
            row.name,
            row.description,
            None if row.source is None else Path(row.source),
            tuple(agents[row.id]),
            float(row.created_at),
            float(row.updated_at),
        )
        for row in rows
    ]


_AGENTS_OF = (
    select(AGENT_SPECS.c.team_id, AGENT_SPECS.c.name, AGENT_SPECS.c.model, AGENT_SPECS.c.tools)
    .where(AGENT_SPECS.c.team_id.in_(bindparam("ids", expanding=True)))
    .order_by(AGENT_SPECS.c.team_id, AGENT_SPECS.c.position)
)
