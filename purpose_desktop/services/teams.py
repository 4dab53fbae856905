"""Team files read for the window, and teams saved in the database, for
``purpose-desktop teams``: a team file saved, the saved teams listed, one written back to a
file, one forgotten, one checked against the memory budget for models.

Every method does its work off the event loop and returns plain frozen data; a team file that
is not valid, a team that is not saved and a database that fails raise :class:`UserError`
with the reason. Importing this module loads neither SQLAlchemy nor the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.errors import UserError
from purpose_desktop.services.background import off_loop

if TYPE_CHECKING:
    from purpose_desktop.engine.specs import LoadedTeam
    from purpose_desktop.engine.team_fit import TeamFit
    from purpose_desktop.models.catalog import CatalogEntry
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


async def check_team_file(
    path: Path, models_dir: Path, *, context_size: int, memory_mib: int | None
) -> TeamFit:
    """Whether the local models of the team in ``path`` fit the memory budget together:
    ``memory_mib`` MiB (``None``: half the machine's memory), each model measured as it
    would load with ``context_size`` tokens of context.

    Every reference is resolved as a run resolves it (a path next to the team file first,
    then in ``models_dir``), so a file outside the models folder is measured from its
    header too. :class:`UserError` says why a team file is not valid."""

    def check() -> TeamFit:
        from purpose_desktop.engine.team_file import load_team
        from purpose_desktop.engine.team_fit import team_fit
        from purpose_desktop.models.catalog import list_local_models
        from purpose_desktop.models.memory import MIB, half_of_memory

        team = load_team(path)
        catalog = list_local_models(models_dir, context_size)
        files = team_model_files(team, models_dir, context_size, catalog)
        budget = memory_mib * MIB if memory_mib is not None else half_of_memory()
        return team_fit(team.spec, catalog, budget, files=files)

    return await off_loop(check)


async def export_team_file(team: LoadedTeam, path: Path) -> None:
    """Write ``team`` to ``path`` as a team file (YAML or TOML, by its suffix), as ``teams
    export`` writes a saved one, on a worker thread. Model paths relative to the team's own
    file are written as they are. :class:`UserError` says why a file cannot be written."""
    from purpose_desktop.engine.team_file import write_team_file

    await off_loop(write_team_file, team.spec, path)


def team_model_files(
    team: LoadedTeam, models_dir: Path, context_size: int, catalog: Sequence[CatalogEntry]
) -> dict[str, CatalogEntry]:
    """The files the team's GGUF paths name, by reference, each as the catalog describes
    it (read from its header when the catalog does not hold it); a file that cannot be
    found or read is described by its ``error``. Reads files: call it off the event loop."""
    from purpose_desktop.errors import ModelError
    from purpose_desktop.models.catalog import CatalogEntry
    from purpose_desktop.models.families import is_instruction_tuned
    from purpose_desktop.models.gguf_metadata import read_gguf_metadata
    from purpose_desktop.models.memory import estimate_memory
    from purpose_desktop.models.references import (
        AUTO_SCHEME,
        BUNDLED_SCHEME,
        OLLAMA_SCHEME,
        SERVER_SCHEME,
        resolve_model_file,
    )

    spec = team.spec
    references = {agent.model for agent in spec.agents}
    references.update(r for r in (spec.router.model, spec.default_model) if r)
    listed = {entry.reference for entry in catalog if entry.reference.startswith(BUNDLED_SCHEME)}
    not_files = (OLLAMA_SCHEME, SERVER_SCHEME, AUTO_SCHEME)
    by_path = {Path(e.path).resolve(): e for e in catalog if e.path is not None and not e.error}
    files: dict[str, CatalogEntry] = {}
    for reference in sorted(references):
        if reference in listed or reference.startswith(not_files):
            continue
        try:
            path = resolve_model_file(reference, team.base_dir, models_dir)
            known = by_path.get(path)
            if known is None:
                metadata = read_gguf_metadata(path)
                known = CatalogEntry(
                    reference,
                    path.stem,
                    "llama.cpp",
                    str(path),
                    instruction_tuned=is_instruction_tuned(metadata),
                    memory_bytes=estimate_memory(metadata, context_size).total,
                )
            files[reference] = known
        except ModelError as exc:
            files[reference] = CatalogEntry(reference, reference, "llama.cpp", None, error=str(exc))
    return files


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
