"""What the services share about the database: how they are handed it, and how its failures
reach a person.

A service is given a function that opens the store (once; later calls return it). Opening
blocks (it checks the file and may migrate it), so services call it on a worker thread, and
the database is opened when first needed, not when the window is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from purpose_desktop.errors import UserError

if TYPE_CHECKING:
    from purpose_desktop.store.opening import Store

OpenStore = Callable[[], "Store"]
"""Opens the store, or returns it once open; raises :class:`UserError` when it cannot."""


@contextmanager
def storage_failures(what: str) -> Iterator[None]:
    """Raise a database failure inside that the environment causes (the disk is full, another
    program holds the database locked, the server is gone: SQLAlchemy's ``OperationalError``)
    as a :class:`UserError` that says ``what`` failed and why. Any other database error is a
    bug (SQL the database does not accept) and goes on as it is, to be reported as one. Use it
    on the worker thread that talks to the database; the store is open there already, so
    SQLAlchemy is loaded."""
    from sqlalchemy.exc import OperationalError

    from purpose_desktop.store.database import why_not_written

    try:
        yield
    except OperationalError as exc:
        raise UserError(f"{what}: {why_not_written(exc)}") from exc
