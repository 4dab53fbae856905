"""What the engine's tests with real models share: the bundled models' router."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from purpose_desktop.models.pool import LocalModelPool
from purpose_desktop.models.router import ModelRouter


@pytest.fixture
def router(shared_models_dir: Path) -> Iterator[ModelRouter]:
    """The bundled models' router with a context of 2048 tokens, closed after the test."""
    pool = LocalModelPool(shared_models_dir, n_ctx=2048, n_threads=2)
    models = ModelRouter(pool, shared_models_dir, n_ctx=2048)
    yield models
    asyncio.run(models.aclose())
