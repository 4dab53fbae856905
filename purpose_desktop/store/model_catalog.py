"""The model catalog as last seen: every model the app listed, with what its file header said,
so the models pane and the team editor can show a model's size and context without reading
the file again, and a model whose file went missing is still known by name."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine, delete, select

from purpose_desktop.models.catalog import CatalogEntry
from purpose_desktop.store.database import reading, saving
from purpose_desktop.store.on_conflict import insert_on_conflict
from purpose_desktop.store.run_tables import MODEL_CATALOG


class ModelCatalogStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def remember(self, entries: Sequence[CatalogEntry]) -> None:
        """Store ``entries`` as the catalog saw them now, replacing what was known of each."""
        if not entries:
            return
        now = time.time()
        rows = [
            {
                "reference": e.reference,
                "title": e.title,
                "backend": e.backend,
                "path": e.path,
                "size_bytes": e.size_bytes,
                "modified_at": _modified(e.path),
                "details": json.dumps(dataclasses.asdict(e), ensure_ascii=False),
                "added_at": now,
            }
            for e in entries
        ]
        # What the catalog says now replaces what it said; when it was first added stays.
        replaced = ("title", "backend", "path", "size_bytes", "modified_at", "details")
        with saving(self._engine, "The model catalog") as connection:
            upsert = insert_on_conflict(connection, MODEL_CATALOG)
            connection.execute(
                upsert.on_conflict_do_update(
                    index_elements=[MODEL_CATALOG.c.reference],
                    set_={name: upsert.excluded[name] for name in replaced},
                ),
                rows,
            )

    def known(self) -> list[CatalogEntry]:
        """Every model remembered, by title."""
        with reading(self._engine) as connection:
            details = (
                connection.execute(
                    select(MODEL_CATALOG.c.details).order_by(
                        MODEL_CATALOG.c.title, MODEL_CATALOG.c.reference
                    )
                )
                .scalars()
                .all()
            )
        return [CatalogEntry(**json.loads(item)) for item in details]

    def forget(self, reference: str) -> bool:
        """Drop a model from the catalog; ``False`` if it was not known."""
        with saving(self._engine, "The model catalog") as connection:
            result = connection.execute(
                delete(MODEL_CATALOG).where(MODEL_CATALOG.c.reference == reference)
            )
        return bool(result.rowcount)


def _modified(path: str | None) -> float | None:
    if path is None:
        return None
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return None
