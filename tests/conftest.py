"""Fixtures shared by the whole suite: an isolated home folder, Qt under asyncio, screenshots."""

from __future__ import annotations

import os

# Before anything imports Qt: tests never need a real display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_API"] = "pyside6"

import asyncio
import gc
import subprocess
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import keyring
import pytest
from keyring.backends import fail
from purpose_desktop.config import HOME_ENV, Paths, example_team_file
from purpose_desktop.models.catalog import CatalogEntry, list_local_models

REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@pytest.fixture(autouse=True)
def _a_test_that_starts_a_process_is_marked(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fail a test that starts a process (a model worker, the app, the CLI, a server) without
    the ``model`` or ``process`` mark: the fast loop, ``-m "not model and not process"``,
    stays fast only if every slow test says so. Processes that session fixtures start before
    the test are not seen here; their tests carry the mark by hand."""
    if any(request.node.get_closest_marker(mark) for mark in ("model", "process")):
        return
    test = request.node.nodeid

    def refuse(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
        raise AssertionError(
            f"{test} starts a process: mark it `process` (or `model` if it runs a model)"
        )

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """An empty home folder that every path the app writes goes to."""
    folder = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(folder))
    paths = Paths(folder)
    paths.ensure()
    return paths


@pytest.fixture
def example_team() -> Path:
    return example_team_file()


@pytest.fixture
def run_in_qt_loop(qapp: Any) -> Iterator[Callable[[Coroutine[Any, Any, T]], T]]:
    """Run a coroutine on a qasync loop over the test's QApplication, as the app does."""
    from purpose_desktop.ui.on_loop import new_event_loop

    runner = asyncio.Runner(loop_factory=lambda: new_event_loop(qapp))

    def run(coroutine: Coroutine[Any, Any, T]) -> T:
        return runner.run(coroutine)

    with runner:
        yield run
    # Each loop leaves Qt objects in reference cycles; collected later on another thread (a
    # model's pipe reader), Qt would crash. Collect them here, on the thread that made them.
    gc.collect()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Any, str], Path]:
    """Save a widget's picture to $PURPOSE_DESKTOP_SCREENSHOTS (or the test's tmp folder)."""
    folder = Path(os.environ.get("PURPOSE_DESKTOP_SCREENSHOTS", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)

    def save(widget: Any, name: str) -> Path:
        path = folder / f"{name}.png"
        assert widget.grab().save(str(path)), f"could not save {path}"
        return path

    return save


@pytest.fixture(scope="session")
def shared_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder kept for the session, so the bundled Gemma is assembled only once."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def catalog(shared_models_dir: Path) -> list[CatalogEntry]:
    """The local catalog of the bundled models, listed once for the session."""
    return list_local_models(shared_models_dir)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """A computer without a system keyring (a headless Linux box)."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)
