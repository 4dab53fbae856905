"""A team file checked against the memory budget for models as ``teams check`` does it: its
references resolved as a run resolves them, files outside the models folder measured from
their headers, files that cannot be used named."""

from __future__ import annotations

import asyncio
import math
import os
import shutil
from pathlib import Path

import pytest
from purpose_desktop.engine.team_fit import TeamFit
from purpose_desktop.errors import TeamFileError
from purpose_desktop.models.bundled import gemma3_path
from purpose_desktop.models.catalog import CatalogEntry
from purpose_desktop.services.teams import check_team_file
from tests.support.catalog import GEMMA, MIB, SMOLLM, memory


def write_team(folder: Path, *models: str) -> Path:
    agents = "".join(
        f"  - name: agent-{n}\n    role: Answer.\n    model: {model}\n"
        for n, model in enumerate(models, 1)
    )
    path = folder / "team.yaml"
    path.write_text(f"name: Checked\nagents:\n{agents}", encoding="utf-8")
    return path


def check(path: Path, models_dir: Path, memory_mib: int | None) -> TeamFit:
    return asyncio.run(check_team_file(path, models_dir, context_size=2048, memory_mib=memory_mib))


def test_a_file_beside_the_team_is_measured_and_counted(
    tmp_path: Path, shared_models_dir: Path, catalog: list[CatalogEntry]
) -> None:
    gemma = gemma3_path(shared_models_dir)  # joined: the catalog lists it before it is
    beside = tmp_path / "mine.gguf"
    try:
        os.link(gemma, beside)  # another path to the same bytes: not the catalog's file
    except OSError:
        shutil.copy(gemma, beside)
    needed = memory(catalog, SMOLLM) + memory(catalog, GEMMA)
    team = write_team(tmp_path, SMOLLM, "mine.gguf", SMOLLM)

    fit = check(team, shared_models_dir, math.ceil(needed / MIB))

    assert fit.fits
    assert fit.total_bytes == needed
    assert [(m.reference, m.kind, m.users) for m in fit.models] == [
        (SMOLLM, "local", ("agent-1", "agent-3")),
        ("mine.gguf", "local", ("agent-2",)),
    ]
    assert not check(team, shared_models_dir, needed // MIB - 1).fits


def test_a_missing_or_broken_file_is_named_and_the_team_is_not_said_to_fit(
    tmp_path: Path, shared_models_dir: Path
) -> None:
    (tmp_path / "broken.gguf").write_bytes(b"not a model at all")
    team = write_team(tmp_path, SMOLLM, "broken.gguf", "gone.gguf", "ollama:qwen3:0.6b")

    fit = check(team, shared_models_dir, 100_000)

    assert not fit.fits
    kinds = {m.reference: m.kind for m in fit.models}
    assert kinds == {
        SMOLLM: "local",
        "broken.gguf": "unknown",
        "gone.gguf": "unknown",
        "ollama:qwen3:0.6b": "remote",
    }
    notes = {m.reference: m.note for m in fit.unknown}
    assert notes["gone.gguf"].startswith("cannot be used: Model file not found: 'gone.gguf'")
    assert notes["broken.gguf"].startswith("cannot be used: ")
    assert fit.lines[0].startswith("Cannot tell whether team Checked fits")


def test_a_team_file_that_is_not_valid_is_refused(tmp_path: Path, shared_models_dir: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text("name: Broken\nagents: []\n", encoding="utf-8")
    with pytest.raises(TeamFileError, match="agents"):
        check(path, shared_models_dir, 1024)
