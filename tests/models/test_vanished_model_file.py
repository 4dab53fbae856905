"""A model file that was added and has since gone: the catalog says why it cannot be used, and
loading it reports "unavailable" with "not found" instead of failing some other way."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from purpose_desktop.config import Paths
from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ModelStatus
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.library import add_model_file
from purpose_desktop.models.pool import LocalModelPool
from purpose_desktop.models.router import ModelRouter
from tests.support.cli import purpose_desktop

pytestmark = pytest.mark.model


@pytest.fixture
def download(tmp_path: Path) -> Path:
    folder = tmp_path / "Downloads"
    folder.mkdir()
    return Path(shutil.copy(smollm2_path(), folder / "smol.gguf"))


def load(reference: str, home: Paths) -> tuple[ModelError, list[ModelStatus]]:
    """Ask the router for ``reference`` as a run would; the error it raised and the statuses
    it reported."""
    statuses: list[ModelStatus] = []

    async def scenario() -> ModelError:
        pool = LocalModelPool(home.models_dir, n_ctx=512, n_threads=2)
        router = ModelRouter(pool, home.models_dir, n_ctx=512)
        try:
            with pytest.raises(ModelError) as caught:
                async with router.use(reference, home.home, statuses.append):
                    pass
            assert pool.loaded() == []
            return caught.value
        finally:
            await router.aclose()

    return asyncio.run(scenario()), statuses


def test_a_linked_file_deleted_after_it_was_added(home: Paths, download: Path) -> None:
    added = purpose_desktop("models", "add", "--link", str(download), home=home.home)
    assert added.returncode == 0, added.stderr
    download.unlink()

    listed = purpose_desktop("models", "list", home=home.home)
    assert listed.returncode == 0, listed.stderr
    (line,) = [line for line in listed.stdout.splitlines() if line.startswith("smol.gguf")]
    assert "unusable: Model file not found" in line
    assert f"links to {download}, which no longer exists" in line

    error, statuses = load("smol.gguf", home)
    assert "not found" in str(error)
    assert [(s.model, s.state) for s in statuses] == [("smol.gguf", "unavailable")]
    assert "not found" in statuses[0].detail


def test_a_copied_file_deleted_from_the_models_folder(home: Paths, download: Path) -> None:
    metadata = add_model_file(download, home.models_dir)
    metadata.path.unlink()

    listed = purpose_desktop("models", "list", "--json", home=home.home)
    assert listed.returncode == 0, listed.stderr
    assert "smol.gguf" not in listed.stdout  # gone from the folder, gone from the catalog

    error, statuses = load("smol.gguf", home)
    assert "Model file not found: 'smol.gguf'" in str(error)
    assert [(s.model, s.state) for s in statuses] == [("smol.gguf", "unavailable")]
    assert statuses[0].detail == str(error)
