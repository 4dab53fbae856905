"""The team being edited as it is kept on disk: its file, the sample teams that are never
overwritten, names for new files and copies, and writing, copying and deleting.

Team files are a few hundred bytes, written whole to a temporary file that then replaces
the old one, so the pane writes them on the UI thread: each save is complete before whatever
follows it (opening the next team, closing the window), and the pane works without a running
event loop.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.config import resources_dir

if TYPE_CHECKING:
    from purpose_desktop.engine.specs import LoadedTeam, TeamSpec
    from purpose_desktop.ui.team.draft import TeamDraft

MAX_COPY_BASE = 100
"""Leaves room for " copy 99" within a team name's 120 characters."""


def file_stem(name: str) -> str:
    """A file name for a team called ``name``: ``"My team copy"`` becomes ``my-team-copy``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "team"


def is_sample(path: Path) -> bool:
    """Whether ``path`` is one of the sample teams shipped with the application, which the
    pane never overwrites or deletes."""
    return path.resolve().is_relative_to(resources_dir().resolve())


def free_copy(folder: Path, name: str) -> tuple[str, Path]:
    """A name for a copy of the team ``name`` and a file for it in ``folder`` that does not
    exist yet: ``Helper copy`` in ``helper-copy.yaml``, then ``Helper copy 2``, …"""
    number = 1
    while True:
        copy = f"{name[:MAX_COPY_BASE]} copy" + (f" {number}" if number > 1 else "")
        path = folder / f"{file_stem(copy)}.yaml"
        if not path.exists():
            return copy, path
        number += 1


def write_team(spec: TeamSpec, path: Path) -> LoadedTeam:
    """Write ``spec`` to ``path`` (YAML or TOML by its suffix), creating its folder.

    Raises ``OSError`` or :class:`~purpose_desktop.errors.TeamFileError` (an unknown suffix).
    """
    from purpose_desktop.engine.specs import LoadedTeam
    from purpose_desktop.engine.team_file import save_team

    path.parent.mkdir(parents=True, exist_ok=True)
    save_team(spec, path)
    return LoadedTeam(spec=spec, source=path.resolve())


class KeptTeam:
    """The team in the editor as last saved (or loaded), and the draft that showed it.

    Edits are compared with that draft, not with the spec, so a change that is undone
    leaves nothing unsaved. A team never saved has neither.
    """

    def __init__(self) -> None:
        self.team: LoadedTeam | None = None
        self.baseline: TeamDraft | None = None
        self.own_file: Path | None = None
        """Where Save writes: the team's file, unless it has none or it is a sample."""
        self.where = ""
        """Where the team is kept, in words, for under its name."""

    def keep(self, team: LoadedTeam | None, baseline: TeamDraft | None) -> None:
        self.team = team
        self.baseline = baseline
        source = team.source if team is not None else None
        self.own_file = None if source is None or is_sample(source) else source
        if source is None:
            self.where = "Not saved yet"
        elif self.own_file is None:
            self.where = f"{source} (a sample team: Save keeps your version in your teams folder)"
        else:
            self.where = str(source)

    def unsaved(self, draft: TeamDraft) -> bool:
        """Whether ``draft`` differs from what was saved."""
        return self.baseline is None or draft != self.baseline

    def folder(self, teams_dir: Path | None) -> Path:
        """Where new files go: ``teams_dir``, else the folder of the team's own file."""
        own = self.own_file
        return teams_dir or (own.parent if own is not None else Path.home())

    def save(self, spec: TeamSpec, path: Path, draft: TeamDraft) -> None:
        """Write ``spec`` to ``path`` and keep it, shown by ``draft``; raises as
        :func:`write_team` does."""
        self.keep(write_team(spec, path), draft)

    def copy(self, folder: Path) -> None:
        """Write a copy of the saved team, named "… copy", to a new file in ``folder``, and
        keep the copy from now on."""
        from purpose_desktop.ui.team.draft import draft_of

        assert self.team is not None, "only a saved team is copied"
        name, path = free_copy(folder, self.team.spec.name)
        copy = write_team(self.team.spec.model_copy(update={"name": name}), path)
        self.keep(copy, draft_of(copy.spec))

    def delete(self) -> None:
        """Delete the team's own file (a sample is never deleted), and forget the team."""
        if self.own_file is not None:
            self.own_file.unlink(missing_ok=True)
        self.keep(None, None)
