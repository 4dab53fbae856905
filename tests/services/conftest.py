"""What the tests of the services share: a real SQLite store in the test's folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from purpose_desktop.store.opening import Store
from tests.support.stores import store_at


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A store in a new SQLite file, closed after the test."""
    with store_at(tmp_path / "purpose-desktop.sqlite3") as opened:
        yield opened
