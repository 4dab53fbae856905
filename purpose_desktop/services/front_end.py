"""The services a front end (the window) is handed, all over one database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from purpose_desktop.services.costs import CostsService
from purpose_desktop.services.memory import MemoryService
from purpose_desktop.services.storage import OpenStore
from purpose_desktop.services.store import StoreService


@dataclass(frozen=True)
class Services:
    """The store with its start-up report, the team memory, and the costs and prices."""

    store: StoreService
    memory: MemoryService
    costs: CostsService


def services_over(open_store: OpenStore, prices_file: Path) -> Services:
    """The services over the store ``open_store`` opens (when first needed), with the prices
    in ``prices_file``."""
    store = StoreService(open_store)
    return Services(store, MemoryService(store), CostsService(store, prices_file))
