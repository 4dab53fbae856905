"""Adding GGUF files to the models folder: checked first, copied whole or not at all."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from purpose_desktop.errors import ModelError
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.library import CopyCancelled, add_model_file


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def download(tmp_path: Path) -> Path:
    """A GGUF file somewhere outside the models folder, as a user would have downloaded it."""
    folder = tmp_path / "Downloads"
    folder.mkdir()
    return Path(shutil.copy(smollm2_path(), folder / "smol.gguf"))


def test_a_valid_file_is_copied_and_listed(download: Path, models_dir: Path) -> None:
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> bool:
        seen.append((done, total))
        return True

    metadata = add_model_file(download, models_dir, progress=progress)
    added = models_dir / "smol.gguf"
    assert metadata.path == added and metadata.architecture == "llama"
    assert added.read_bytes() == download.read_bytes() and not added.is_symlink()
    assert seen[-1] == (download.stat().st_size, download.stat().st_size)
    # Adding the same file again changes nothing.
    add_model_file(download, models_dir)
    assert sorted(p.name for p in models_dir.iterdir()) == ["smol.gguf"]


@pytest.mark.skipif(os.name == "nt", reason="symlinks need a privilege on Windows")
def test_link_leaves_the_file_where_it_is(download: Path, models_dir: Path) -> None:
    add_model_file(download, models_dir, link=True)
    added = models_dir / "smol.gguf"
    assert added.is_symlink() and added.resolve() == download.resolve()


def test_a_cancelled_copy_leaves_nothing(download: Path, models_dir: Path) -> None:
    with pytest.raises(CopyCancelled):
        add_model_file(download, models_dir, progress=lambda done, total: False)
    assert list(models_dir.iterdir()) == []


def test_a_different_file_of_the_same_name_is_not_overwritten(
    download: Path, models_dir: Path
) -> None:
    models_dir.mkdir()
    existing = models_dir / "smol.gguf"
    shutil.copy(smollm2_path(), existing)
    with existing.open("ab") as file:
        file.write(b"\0")  # same name, other content
    before = existing.read_bytes()
    with pytest.raises(ModelError, match=r"already has a different smol\.gguf"):
        add_model_file(download, models_dir)
    assert existing.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is empty"),
        (b"just some notes\n" * 10, "not a GGUF model file"),
        (None, "truncated"),
    ],
)
def test_unusable_files_are_refused_before_anything_is_copied(
    tmp_path: Path, models_dir: Path, content: bytes | None, reason: str
) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(smollm2_path().read_bytes()[:4_000_000] if content is None else content)
    with pytest.raises(ModelError, match=reason):
        add_model_file(bad, models_dir)
    assert not models_dir.exists() or list(models_dir.iterdir()) == []


def test_only_gguf_files_are_accepted(tmp_path: Path, models_dir: Path) -> None:
    other = tmp_path / "model.bin"
    other.write_bytes(b"GGUF")
    with pytest.raises(ModelError, match=r"not a \.gguf file"):
        add_model_file(other, models_dir)


def test_a_file_that_vanished_is_reported(tmp_path: Path, models_dir: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        add_model_file(tmp_path / "gone.gguf", models_dir)


@pytest.mark.skipif(os.name == "nt", reason="symlinks need a privilege on Windows")
def test_a_link_to_a_file_that_vanished_is_replaced(
    download: Path, models_dir: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    moved = Path(shutil.copy(download, elsewhere / "smol.gguf"))
    add_model_file(moved, models_dir, link=True)
    moved.unlink()  # the linked file is gone
    add_model_file(download, models_dir)
    added = models_dir / "smol.gguf"
    assert not added.is_symlink() and added.read_bytes() == download.read_bytes()
