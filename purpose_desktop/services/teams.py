"""Team files read for the window, and teams saved in the database, for
``purpose-desktop teams``: a team file saved, the saved teams listed, one written back to a
file, one forgotten.

Every method does its work off the event loop and returns plain frozen data; a team file that
is not valid, a team that is not saved and a database that fails raise :class:`UserError`
with the reason. Importing this module loads neither SQLAlchemy nor the store.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.errors import UserError
from purpose_desktop.services.background import off_loop

if TYPE_CHECKING:
    from purpose_desktop.engine.specs import LoadedTeam
    from purpose_desktop.services.store import StoreService
    from purpose_desktop.store.opening import Store
    from purpose_desktop.store.team_store import SavedTeam, TeamStore


async def read_team_file(path: Path, *, warm_up: Callable[[], None] | None = None) -> LoadedTeam:
    """The team in the file ``path``, read on a worker thread (pydantic and yaml take a
    noticeable time to import the first time); ``warm_up``, if given, runs on that thread
    first, for other slow imports the team's arrival will need. :class:`UserError` names the
    line and field of a file that is not a valid team."""

    def read() -> LoadedTeam:
        from purpose_desktop.engine.team_file import load_team

        if warm_up is not None:
            warm_up()
        return load_team(path)

    return await off_loop(read)


class TeamsService:
    """The teams saved in the database of ``store``."""

    def __init__(self, store: StoreService) -> None:
        self._store = store

    async def save(self, team_file: Path) -> SavedTeam:
        """Save the team in ``team_file`` under its name, replacing one saved so before."""
        from purpose_desktop.engine.team_file import load_team

        team = await off_loop(load_team, team_file)
        return await self._store.run_blocking(lambda store: _teams(store).save_now(team))

    async def list_teams(self, *, limit: int) -> list[SavedTeam]:
        """The first ``limit`` saved teams, by name."""
        return await self._store.run_blocking(lambda store: _teams(store).list_now(limit=limit))

    async def export(self, name: str, path: Path) -> None:
        """Write the team saved as ``name`` to ``path`` as a team file (YAML or TOML, by its
        suffix)."""
        await self._store.run_blocking(lambda store: _teams(store).export_now(name, path))

    async def delete(self, name: str) -> None:
        """Forget the team saved as ``name``."""
        deleted = await self._store.run_blocking(lambda store: _teams(store).delete_now(name))
        if not deleted:
            raise UserError(f"No team called {name!r} is saved.")


def _teams(store: Store) -> TeamStore:
    # On a worker thread, the store open: the module loads SQLAlchemy, imported there.
    from purpose_desktop.store.team_store import TeamStore

    return TeamStore(store.engine)
