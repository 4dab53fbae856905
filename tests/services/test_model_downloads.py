"""The service the Models pane and the CLI get models through: a file from the Hub added to
the models folder with progress on the event loop, stopped by an event, not fetched twice;
a file or quantisation picked from a repository by name.

The Hub is the stand-in of ``tests/support/fake_hub.py``, reached by the real client.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from purpose_desktop.errors import ModelError
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.catalog import list_local_models
from purpose_desktop.models.hub import DownloadCancelled
from purpose_desktop.models.memory import MIB, half_of_memory
from purpose_desktop.services.model_downloads import (
    ModelDownloadsService,
    choose,
    split_repo_file,
)
from purpose_desktop.services.models import ModelsService
from tests.models.hub_repos import (
    LARGE_FILE,
    SIZES_REPO,
    SMALL_FILE,
    SMOL_FILE,
    SMOL_REPO,
    clean_hub,
    fake_hub,
)
from tests.support.fake_hub import FakeHub

__all__ = ["clean_hub", "fake_hub"]  # fixtures, used by name


def service(models: Path, hub: FakeHub) -> ModelDownloadsService:
    return ModelDownloadsService(ModelsService(models, None), endpoint=hub.url)


def test_a_download_adds_the_file_with_progress_on_the_event_loop(
    clean_hub: FakeHub, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    downloads = service(models, clean_hub)
    seen: list[tuple[int, int, bool]] = []

    async def scenario() -> tuple[bool, bool]:
        listing = await downloads.listing(SMOL_REPO, 2048, 4096)
        file = choose(listing, None).file

        def progress(done: int, total: int) -> None:
            seen.append((done, total, threading.current_thread() is threading.main_thread()))

        first = await downloads.download(file, progress, threading.Event())
        again = await downloads.download(file, progress, threading.Event())
        return first.new, again.new

    new_first, new_again = asyncio.run(scenario())

    total = smollm2_path().stat().st_size
    assert (new_first, new_again) == (True, False)
    assert seen[-1][:2] == (total, total)
    assert all(on_loop for _done, _total, on_loop in seen)
    assert len(clean_hub.ranges(SMOL_FILE)) == 2  # the header's start, then the file once
    entry = next(e for e in list_local_models(models) if e.reference == SMOL_FILE)
    assert entry.error is None


def test_setting_stop_ends_the_download_and_keeps_what_was_fetched(
    clean_hub: FakeHub, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    downloads = service(models, clean_hub)
    clean_hub.chunk_delay = 0.001
    stop = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= MIB:
            stop.set()

    async def scenario() -> None:
        listing = await downloads.listing(SMOL_REPO, 2048, 4096)
        await downloads.download(choose(listing, None).file, progress, stop)

    with pytest.raises(DownloadCancelled, match="a new download goes on from there"):
        asyncio.run(scenario())

    assert (models / (SMOL_FILE + ".part")).stat().st_size >= MIB
    assert not (models / SMOL_FILE).exists()


def test_a_file_is_picked_by_name_by_quantisation_or_by_default(
    clean_hub: FakeHub, tmp_path: Path
) -> None:
    downloads = service(tmp_path / "models", clean_hub)
    listing = asyncio.run(downloads.listing(SIZES_REPO, 2048, 64 * 1024))

    assert choose(listing, None).file.filename == LARGE_FILE  # everything fits
    assert choose(listing, "q4_1").file.filename == SMALL_FILE
    assert choose(listing, "smollm2-135m-Q8_0.gguf").file.filename == LARGE_FILE
    assert choose(listing, LARGE_FILE).file.filename == LARGE_FILE
    with pytest.raises(ModelError, match=r"has no GGUF file 'Q2_K'. It has: smollm2-135m-Q4_1"):
        choose(listing, "Q2_K")
    assert split_repo_file("owner/name:Q4_K_M") == ("owner/name", "Q4_K_M")
    assert split_repo_file("owner/name") == ("owner/name", None)
    with pytest.raises(ModelError, match="does not name a repository"):
        split_repo_file("smollm2")


def test_without_a_budget_in_the_settings_half_the_memory_is_the_budget(
    clean_hub: FakeHub, tmp_path: Path
) -> None:
    downloads = service(tmp_path / "models", clean_hub)

    assert asyncio.run(downloads.budget(None)) == half_of_memory()
    assert asyncio.run(downloads.budget(512)) == 512 * MIB
