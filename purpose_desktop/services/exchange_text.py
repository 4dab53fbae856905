"""What an export or an import did, in the words the CLI prints and the window shows alike.

Failures need no words here: the services raise :class:`~purpose_desktop.errors.UserError`
with the reason, which both front ends show as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from purpose_desktop.engine.recording.run_records import RunSummary
    from purpose_desktop.services.run_report import SavedReport
    from purpose_desktop.store.memory_files import MemoryCounts, MemoryImport
    from purpose_desktop.store.run_files import ExportedRun
    from purpose_desktop.store.team_store import SavedTeam


def run_exported(exported: ExportedRun, path: Path) -> str:
    return (
        f"Exported run {exported.run_id} ({exported.events} events, "
        f"{exported.checkpoints} checkpoints) to {path}."
    )


def run_imported(run: RunSummary) -> str:
    return (
        f"Imported run {run.id}: {run.status}, team {run.team}, {run.steps} step(s), "
        f"{run.events} events."
    )


def memory_exported(counts: MemoryCounts, path: Path, team: str | None) -> str:
    whose = f"team {team}" if team is not None else "every team"
    return (
        f"Exported the memory of {whose} ({counts.heuristics} heuristics, "
        f"{counts.experiences} experiences, {counts.score_anchors} score anchors) to {path}."
    )


def memory_imported(done: MemoryImport, path: Path) -> str:
    return (
        f"Imported {path}: heuristics {done.heuristics_added} added, "
        f"{done.heuristics_merged} merged into stored ones; experiences "
        f"{done.experiences_added} added, {done.experiences_skipped} already stored; score "
        f"anchors {done.anchors_added} added, {done.anchors_skipped} already stored."
    )


def team_saved(saved: SavedTeam, path: Path) -> str:
    return f"Saved team {saved.name} ({len(saved.agents)} agent(s)) from {path}."


def team_exported(name: str, path: Path) -> str:
    return f"Exported team {name} to {path}."


def report_saved(saved: SavedReport) -> str:
    return f"Saved the report of run {saved.run_id} ({saved.steps} step(s)) to {saved.path}."
