"""The bundled models as the catalog lists them, for tests of memory budgets."""

from __future__ import annotations

from purpose_desktop.models.catalog import CatalogEntry

SMOLLM = "bundled:smollm2-135m"
GEMMA = "bundled:gemma3-270m"
MIB = 2**20


def memory(catalog: list[CatalogEntry], reference: str) -> int:
    """The memory the catalog estimates for ``reference``."""
    entry = next(e for e in catalog if e.reference == reference)
    assert entry.memory_bytes is not None, entry.error
    return entry.memory_bytes
