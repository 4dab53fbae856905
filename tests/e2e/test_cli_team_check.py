"""``purpose-desktop teams check`` as a user runs it: the installed executable in a
subprocess, on a home folder of its own whose settings set the memory budget."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from purpose_desktop.config import HOME_ENV
from purpose_desktop.models.catalog import CatalogEntry
from tests.support.catalog import GEMMA, MIB, SMOLLM

pytestmark = pytest.mark.process

TIMEOUT = 240
EXECUTABLE = shutil.which("purpose-desktop", path=str(Path(sys.executable).parent))


@pytest.fixture
def home(tmp_path: Path, shared_models_dir: Path) -> Path:
    """A home folder whose models folder already holds the assembled Gemma (linked), so the
    command does not join its chunks again."""
    folder = tmp_path / "home"
    bundled = folder / "models" / "bundled"
    bundled.mkdir(parents=True)
    for assembled in (shared_models_dir / "bundled").glob("*.gguf"):
        try:
            os.link(assembled, bundled / assembled.name)
        except OSError:
            shutil.copy(assembled, bundled / assembled.name)
    return folder


def set_budget(home: Path, mib: int) -> None:
    (home / "settings.json").write_text(json.dumps({"model_memory_mib": mib}), encoding="utf-8")


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    command = [EXECUTABLE] if EXECUTABLE else [sys.executable, "-m", "purpose_desktop"]
    return subprocess.run(
        [*command, "teams", "check", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, HOME_ENV: str(home)},
        stdin=subprocess.DEVNULL,
    )


def pair(folder: Path) -> Path:
    path = folder / "pair.yaml"
    path.write_text(
        "name: Pair\n"
        "agents:\n"
        f"  - {{name: writer, role: Write., model: {GEMMA}}}\n"
        f"  - {{name: checker, role: Check., model: {SMOLLM}}}\n"
        "  - {name: helper, role: Help., model: 'ollama:qwen3:0.6b'}\n",
        encoding="utf-8",
    )
    return path


def needed(catalog: list[CatalogEntry]) -> int:
    sizes = {e.reference: e.memory_bytes for e in catalog}
    smollm, gemma = sizes[SMOLLM], sizes[GEMMA]
    assert smollm is not None and gemma is not None
    return smollm + gemma


def test_a_team_that_fits_exits_0_and_says_so(
    home: Path, tmp_path: Path, catalog: list[CatalogEntry]
) -> None:
    set_budget(home, math.ceil(needed(catalog) / MIB))
    result = cli(str(pair(tmp_path)), home=home)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Team Pair fits: its 2 local models need")
    assert any(
        line.startswith("  ollama:qwen3:0.6b: remote (Ollama), used by helper: not counted")
        for line in lines
    )
    assert "Suggestion" not in result.stdout


def test_a_team_that_does_not_fit_exits_1_with_what_to_change(
    home: Path, tmp_path: Path, catalog: list[CatalogEntry]
) -> None:
    set_budget(home, math.ceil(needed(catalog) / MIB) - 1)
    team = pair(tmp_path)
    result = cli(str(team), home=home)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("Team Pair does not fit:")
    assert f"Suggestion: writer could share {SMOLLM} with checker instead of {GEMMA}" in (
        result.stdout
    )

    as_json = cli(str(team), "--json", home=home)
    assert as_json.returncode == 1, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["fits"] is False
    assert report["total_bytes"] == needed(catalog)
    assert report["budget_bytes"] == (math.ceil(needed(catalog) / MIB) - 1) * MIB
    assert [(m["reference"], m["kind"], m["users"]) for m in report["models"]] == [
        (GEMMA, "local", ["writer"]),
        (SMOLLM, "local", ["checker"]),
        ("ollama:qwen3:0.6b", "remote", ["helper"]),
    ]
    assert report["suggestions"][-1].startswith("raise the memory budget for models to at least")


def test_a_bad_team_file_exits_2_in_one_line(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad\nagents:\n  - name: a\n    role: r\n", encoding="utf-8")
    for path in (bad, tmp_path / "missing.yaml"):
        result = cli(str(path), home=home)
        assert result.returncode == 2, (result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("purpose-desktop: ")
        assert str(path.name) in lines[0]
