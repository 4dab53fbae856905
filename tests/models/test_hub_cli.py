"""``purpose-desktop models search`` and ``models pull`` as a person runs them: the command
in a process of its own, its ``HF_ENDPOINT`` pointing at the stand-in Hub
(``tests/support/fake_hub.py``), which serves the bundled SmolLM2 file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from purpose_desktop.models.bundled import smollm2_path
from tests.support.cli import purpose_desktop
from tests.support.fake_hub import FakeHub

from .hub_repos import (
    SIZES_REPO,
    SMOL_FILE,
    SMOL_REPO,
    TEXT_REPO,
    clean_hub,
    fake_hub,
    unreachable_endpoint,
)

__all__ = ["clean_hub", "fake_hub"]  # fixtures, used by name

pytestmark = pytest.mark.process


def test_search_prints_the_repositories_of_gguf_models(clean_hub: FakeHub, tmp_path: Path) -> None:
    env = {"HF_ENDPOINT": clean_hub.url}

    shown = purpose_desktop("models", "search", "smollm2", home=tmp_path, env=env)
    as_json = purpose_desktop("models", "search", "SmolLM2", "--json", home=tmp_path, env=env)

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(SMOL_REPO) and "5,000 downloads" in lines[0]
    assert lines[1].startswith(SIZES_REPO)
    assert TEXT_REPO not in [line.split()[0] for line in lines if line]
    assert f"purpose-desktop models pull {SMOL_REPO}" in shown.stdout
    assert [repo["repo_id"] for repo in json.loads(as_json.stdout)] == [SMOL_REPO, SIZES_REPO]


def test_pull_downloads_checks_and_adds_the_file(clean_hub: FakeHub, tmp_path: Path) -> None:
    env = {"HF_ENDPOINT": clean_hub.url}

    pulled = purpose_desktop("models", "pull", SMOL_REPO, home=tmp_path, env=env)
    again = purpose_desktop("models", "pull", f"{SMOL_REPO}:{SMOL_FILE}", home=tmp_path, env=env)
    listing = purpose_desktop("models", "list", "--json", home=tmp_path)

    assert pulled.returncode == 0, pulled.stderr
    assert f"Added {SMOL_FILE} (" in pulled.stdout
    assert f"model: {SMOL_FILE}" in pulled.stdout
    assert f"{SMOL_REPO}: {SMOL_FILE} (Q4_1, " in pulled.stderr
    added = tmp_path / "models" / SMOL_FILE
    expected = hashlib.sha256(smollm2_path().read_bytes()).hexdigest()
    assert hashlib.sha256(added.read_bytes()).hexdigest() == expected
    assert again.returncode == 0 and "already in" in again.stdout
    entry = next(e for e in json.loads(listing.stdout) if e["reference"] == SMOL_FILE)
    assert entry["error"] is None and entry["quantisation"] == "Q4_1"


def test_pull_of_a_file_the_repository_lacks_says_what_it_has(
    clean_hub: FakeHub, tmp_path: Path
) -> None:
    failed = purpose_desktop(
        "models", "pull", f"{SIZES_REPO}:Q2_K", home=tmp_path, env={"HF_ENDPOINT": clean_hub.url}
    )

    assert failed.returncode == 2
    assert f"{SIZES_REPO} has no GGUF file 'Q2_K'. It has: smollm2-135m-Q4_1.gguf" in failed.stderr
    assert not list((tmp_path / "models").glob("*.gguf"))


def test_offline_the_commands_say_so_and_add_nothing(tmp_path: Path) -> None:
    endpoint = unreachable_endpoint()
    env = {"HF_ENDPOINT": endpoint}

    searched = purpose_desktop("models", "search", "smollm2", home=tmp_path, env=env)
    pulled = purpose_desktop("models", "pull", SMOL_REPO, home=tmp_path, env=env)

    for result in (searched, pulled):
        assert result.returncode == 2
        assert result.stderr.startswith(
            f"purpose-desktop: Cannot reach the Hugging Face Hub at {endpoint}: offline?"
        )
    assert not list((tmp_path / "models").glob("*.gguf"))
