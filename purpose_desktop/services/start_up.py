"""What the window's start-up work shares between its threads, imported first on one thread.

The start-up work (reading the team file, opening the database, listing and adding models)
runs on several worker threads at once. CPython can hand one of two threads importing the same
package at once a partly initialised module ("partially initialized module
'pydantic._internal._validators'", a ``_DeadlockError`` in ``sqlalchemy.exc``), so what they
share is imported before they start.
"""

from __future__ import annotations

import importlib

from purpose_desktop.services.background import off_loop

_SHARED_MODULES = (
    "pydantic.main",
    "sqlalchemy",
    "purpose_desktop.store.opening",
    "purpose_desktop.models.router",
)


async def import_shared_modules() -> None:
    """Import what the start-up threads share, on a worker thread; await it before they
    start."""
    await off_loop(_import_all)


def _import_all() -> None:
    for name in _SHARED_MODULES:
        importlib.import_module(name)
