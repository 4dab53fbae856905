"""The model catalog kept in the database, filled from the real catalog of bundled models."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from purpose_desktop.models.catalog import CatalogEntry, list_local_models
from purpose_desktop.store.model_catalog import ModelCatalogStore
from purpose_desktop.store.opening import open_store


def test_the_catalog_is_remembered_updated_and_forgotten(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.sqlite3")
    try:
        catalog = ModelCatalogStore(store.engine)
        assert catalog.known() == []
        listed = list_local_models(tmp_path / "models")
        assert listed and all(entry.error is None for entry in listed)
        catalog.remember(listed)
        assert sorted(catalog.known(), key=lambda e: e.reference) == sorted(
            listed, key=lambda e: e.reference
        )
        broken = CatalogEntry(
            "broken.gguf", "broken", "llama.cpp", str(tmp_path / "b.gguf"), error="not a GGUF file"
        )
        renamed = dataclasses.replace(listed[0], title="Renamed")
        catalog.remember([renamed, broken])
        known = {entry.reference: entry for entry in catalog.known()}
        assert len(known) == len(listed) + 1
        assert known[listed[0].reference].title == "Renamed"
        assert known["broken.gguf"].error == "not a GGUF file"
        assert catalog.forget("broken.gguf") is True
        assert catalog.forget("broken.gguf") is False
    finally:
        store.engine.dispose()
