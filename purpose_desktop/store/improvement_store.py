"""Improvement benchmark results kept in the database: save, list (newest first), load and
delete; and :func:`keep_result`, which saves a finished benchmark both as a JSON file and in
the database, as ``bench improve`` and the Benchmarks pane do.

A result is kept whole, as the JSON its file holds (:meth:`ImprovementResult.to_json`), so it
reads back exactly as it was saved; suite, team, model and its time are columns as well, so a
list needs no JSON. Every method runs one short transaction and returns plain frozen data: call
them off the UI loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from purpose_desktop.engine.learning.improvement import (
    ImprovementResult,
    parse_improvement,
    save_improvement,
)
from purpose_desktop.engine.learning.kept_results import KeptResult, SavedImprovement
from purpose_desktop.errors import UserError
from purpose_desktop.store.database import reading, saving
from purpose_desktop.store.improvement_tables import IMPROVEMENT_RESULTS as RESULTS


class ImprovementStore:
    """The benchmark results saved in a database opened with
    :func:`~purpose_desktop.store.opening.open_store`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(self, result: ImprovementResult, file: Path | None = None) -> SavedImprovement:
        """Save ``result``, noting ``file`` as its JSON file; a :class:`StoreWriteError` says
        why the database could not take it."""
        values = {
            "suite": result.suite,
            "team": result.team,
            "model": result.model,
            "created_at": result.created.timestamp(),
            "saved_at": time.time(),
            "file": None if file is None else str(file),
            "result": result.to_json(),
        }
        with saving(self._engine, "The benchmark result") as connection:
            values["id"] = connection.execute(
                insert(RESULTS).returning(RESULTS.c.id), values
            ).scalar_one()
        return _saved(values)

    def list_saved(self, *, limit: int = 1000) -> list[SavedImprovement]:
        """The saved results, the newest first (by when the benchmark finished)."""
        with reading(self._engine) as connection:
            rows = connection.execute(
                select(
                    RESULTS.c.id,
                    RESULTS.c.suite,
                    RESULTS.c.team,
                    RESULTS.c.model,
                    RESULTS.c.created_at,
                    RESULTS.c.file,
                )
                .order_by(RESULTS.c.created_at.desc(), RESULTS.c.id.desc())
                .limit(max(limit, 0))
            ).all()
        return [_saved(row._asdict()) for row in rows]

    def load(self, result_id: int) -> ImprovementResult:
        """The result saved as ``result_id``: ``UserError`` if there is none,
        :class:`~purpose_desktop.engine.learning.improvement.ImprovementFileError` naming the
        problem if
        its JSON cannot be read (a newer version of the app wrote it)."""
        with reading(self._engine) as connection:
            stored = connection.execute(
                select(RESULTS.c.result).where(RESULTS.c.id == result_id)
            ).scalar_one_or_none()
        if stored is None:
            raise UserError(f"No benchmark result {result_id} is saved in the database.")
        return parse_improvement(stored, f"Benchmark result {result_id} in the database")

    def delete(self, result_id: int) -> bool:
        """Forget the result saved as ``result_id`` (not its file); ``False`` if there was
        none."""
        with saving(self._engine, "The deletion of the benchmark result") as connection:
            deleted = connection.execute(delete(RESULTS).where(RESULTS.c.id == result_id))
        return bool(deleted.rowcount)


def keep_result(
    result: ImprovementResult, file: Path, engine: Callable[[], Engine] | None
) -> KeptResult:
    """Save ``result`` as JSON in ``file`` (``UserError`` if that cannot be written), then in
    the database ``engine()`` opens, if there is one. The file comes first and stands alone: a
    database that cannot be opened or written costs only the copy in it, which ``problem``
    explains."""
    save_improvement(result, file)
    if engine is None:
        return KeptResult(file, None)
    try:
        saved = ImprovementStore(engine()).save(result, file)
    except (UserError, SQLAlchemyError) as exc:
        return KeptResult(
            file, None, f"The result was saved to {file} but not in the database: {exc}"
        )
    return KeptResult(file, saved)


def _saved(values: Mapping[str, Any]) -> SavedImprovement:
    return SavedImprovement(
        id=int(values["id"]),
        suite=values["suite"],
        team=values["team"],
        model=values["model"],
        created=datetime.fromtimestamp(values["created_at"], UTC),
        file=None if values["file"] is None else Path(values["file"]),
    )
