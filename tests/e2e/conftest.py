"""End-to-end tests: each starts the app or the CLI as a process of its own, as a person's
command line or desktop would, so each is marked ``process``."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest's hook sees every collected test, not only its folder's.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.process)
