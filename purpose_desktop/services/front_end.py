"""The services a front end (the window) is handed, all over one database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.services.costs import CostsService
from purpose_desktop.services.memory import MemoryService
from purpose_desktop.services.storage import OpenStore
from purpose_desktop.services.store import StoreService
from purpose_desktop.services.tool_permissions import ToolPermissionsService

if TYPE_CHECKING:
    from purpose_desktop.services.tools import ToolsService


@dataclass(frozen=True)
class Services:
    """The store with its start-up report, the team memory, the costs and prices, and the
    teams' standing approvals of tools."""

    store: StoreService
    memory: MemoryService
    costs: CostsService
    permissions: ToolPermissionsService
    tools: Callable[[], ToolsService] | None = None
    """Makes the service of the Tools pane, when that is first shown (its modules take a
    while to load)."""


def services_over(open_store: OpenStore, prices_file: Path) -> Services:
    """The services over the store ``open_store`` opens (when first needed), with the prices
    in ``prices_file``."""
    store = StoreService(open_store)
    return Services(
        store,
        MemoryService(store),
        CostsService(store, prices_file),
        ToolPermissionsService(store),
    )
