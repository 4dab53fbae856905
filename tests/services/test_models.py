"""The models service without a window: a real GGUF file (the bundled SmolLM2) copied into a
models folder with its progress, a copy stopped half way, a file that is not a model, where
Ollama is looked for, the models folder probed, and a key with no keyring to keep it."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from pathlib import Path

import pytest
from purpose_desktop.errors import ModelError, UserError
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.models.library import CopyCancelled
from purpose_desktop.services.models import KeyNotKept, ModelsService
from purpose_desktop.services.store import StoreService
from purpose_desktop.store.model_catalog import ModelCatalogStore
from purpose_desktop.store.opening import Store


@pytest.fixture
def models(tmp_path: Path) -> ModelsService:
    folder = tmp_path / "models"
    folder.mkdir()
    return ModelsService(folder, None)


def test_a_model_file_is_copied_with_its_progress_once(models: ModelsService) -> None:
    seen: list[tuple[int, int]] = []

    async def add() -> tuple[bool, bool]:
        await models.check_file(smollm2_path())  # no model manager: nothing to check with
        first = await models.copy_file(
            smollm2_path(), lambda done, total: seen.append((done, total)), threading.Event()
        )
        again = await models.copy_file(smollm2_path(), lambda d, t: None, threading.Event())
        await asyncio.sleep(0)  # the last progress reaches the loop
        return first.new, again.new

    assert asyncio.run(add()) == (True, False)
    size = smollm2_path().stat().st_size
    assert seen and seen[-1] == (size, size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert (models.models_dir / smollm2_path().name).stat().st_size == size


def test_a_stopped_copy_leaves_nothing(models: ModelsService, tmp_path: Path) -> None:
    big = Path(shutil.copy(smollm2_path(), tmp_path / "big.gguf"))
    os.truncate(big, 200 * 2**20)  # sparse padding: a long copy that costs nothing to make
    stop = threading.Event()

    def stop_at_once(done: int, total: int) -> None:
        stop.set()

    with pytest.raises(CopyCancelled):
        asyncio.run(models.copy_file(big, stop_at_once, stop))
    assert list(models.models_dir.iterdir()) == []


def test_a_file_that_is_not_a_model_is_refused_with_why(
    models: ModelsService, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        asyncio.run(models.copy_file(empty, lambda d, t: None, threading.Event()))
    assert list(models.models_dir.iterdir()) == []


def test_ollama_addresses_and_the_models_folder_probed(models: ModelsService) -> None:
    assert asyncio.run(models.ollama_address("example.com:11500")) == "http://example.com:11500"
    with pytest.raises(ModelError, match="not a valid address"):
        asyncio.run(models.ollama_address("http://[::1"))
    local, *_remote = asyncio.run(models.probe("http://127.0.0.1:9", ()))
    assert local.reachable and local.where == str(models.models_dir)
    assert asyncio.run(models.memory_budget()) is None and models.pool is None


@pytest.mark.usefixtures("no_keyring")
def test_without_a_keyring_a_key_is_not_kept_and_says_why(models: ModelsService) -> None:
    status = asyncio.run(models.keyring_status())
    assert not status.available
    with pytest.raises(KeyNotKept, match="No system keyring is available"):
        asyncio.run(models.save_api_key("lab", "sk-secret"))


def test_the_catalog_lists_the_files_and_the_store_remembers_them(
    tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(smollm2_path(), folder / smollm2_path().name)
    service = ModelsService(folder, None, store=StoreService(lambda: store))

    catalog = asyncio.run(service.catalog(2048, 512))

    copied = str(folder / smollm2_path().name)
    assert copied in [entry.path for entry in catalog.entries]
    assert catalog.budget == 512 * 2**20
    remembered = ModelCatalogStore(store.engine).known()
    assert {entry.reference for entry in remembered} == {
        entry.reference for entry in catalog.entries
    }


def test_a_catalog_the_store_cannot_remember_is_still_listed(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(smollm2_path(), folder / smollm2_path().name)

    def cannot_open() -> Store:
        raise UserError("The database is on a disk that is gone.")

    service = ModelsService(folder, None, store=StoreService(cannot_open))
    catalog = asyncio.run(service.catalog(2048, None))
    assert str(folder / smollm2_path().name) in [entry.path for entry in catalog.entries]
    assert catalog.budget > 0
