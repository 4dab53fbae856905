"""The "Find models" dialog, offscreen, driven as a person drives it: a search, a
repository's files with the default chosen against the memory budget, a download with its
progress and its Cancel, a Hub that cannot be reached; and, in the real window, a model
downloaded from the Models pane that then appears in its table.

The Hub is the stand-in of ``tests/support/fake_hub.py`` (the real ``huggingface_hub`` client
pointed at it), serving the bundled SmolLM2 file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.config import Paths, Settings
from purpose_desktop.models.bundled import smollm2_path
from purpose_desktop.services.model_downloads import ModelDownloadsService
from purpose_desktop.services.models import ModelsService
from purpose_desktop.ui.main_window import MainWindow
from purpose_desktop.ui.models.find_dialog import FindModelsController, FindModelsDialog
from purpose_desktop.ui.qt import QtCore
from purpose_desktop.ui.tasks import TaskKeeper
from pytestqt.qtbot import QtBot
from tests.models.hub_repos import (
    LARGE_FILE,
    SMOL_FILE,
    SMOL_REPO,
    clean_hub,
    fake_hub,
    unreachable_endpoint,
)
from tests.support.fake_hub import FakeHub
from tests.support.waiting import wait_until
from tests.ui.test_models_pane import services, started, window

__all__ = ["clean_hub", "fake_hub", "services", "window"]  # fixtures, used by name

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]
Screenshot = Callable[[Any, str], Path]
MIB = 2**20


class Opened:
    """The dialog and its controller over a models folder, as the Models pane opens them."""

    def __init__(self, qtbot: QtBot, models: Path, endpoint: str, memory_mib: int) -> None:
        self.errors: list[BaseException] = []
        self.added: list[str] = []
        self.dialog = FindModelsDialog()
        qtbot.addWidget(self.dialog)
        self.controller = FindModelsController(
            self.dialog,
            service=ModelDownloadsService(ModelsService(models, None), endpoint=endpoint),
            settings=lambda: Settings(model_memory_mib=memory_mib),
            tasks=TaskKeeper(self.errors.append),  # type: ignore[arg-type]
            added=self.added.append,
        )
        self.dialog.show()

    def search(self, qtbot: QtBot, query: str) -> None:
        self.dialog.search_edit.clear()
        qtbot.keyClicks(self.dialog.search_edit, query)
        qtbot.keyClick(self.dialog.search_edit, QtCore.Qt.Key.Key_Return)

    def cell(self, table: Any, row: int, column: int) -> str:
        item = table.item(row, column)
        return "" if item is None else str(item.text())


def test_search_list_choose_and_download_a_model(
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    clean_hub: FakeHub,
    tmp_path: Path,
    screenshot: Screenshot,
) -> None:
    models = tmp_path / "models"
    opened = Opened(qtbot, models, clean_hub.url, memory_mib=64 * 1024)
    dialog = opened.dialog

    async def scenario() -> None:
        assert not dialog.download_button.isEnabled()
        assert dialog.focusWidget() is dialog.search_edit  # typing goes into the search box
        opened.search(qtbot, "smollm2")
        await wait_until(lambda: dialog.repo_table.rowCount() == 2)
        assert opened.cell(dialog.repo_table, 0, 0) == SMOL_REPO
        assert opened.cell(dialog.repo_table, 0, 1) == "5,000"
        # The first repository is chosen and its files listed, the default selected.
        await wait_until(lambda: dialog.file_table.rowCount() == 1)
        assert opened.cell(dialog.file_table, 0, 0) == SMOL_FILE
        assert opened.cell(dialog.file_table, 0, 1) == "Q4_1"
        assert dialog.chosen_file() is not None and dialog.download_button.isEnabled()

        dialog.repo_table.selectRow(1)
        await wait_until(lambda: dialog.file_table.rowCount() == 2)
        chosen = dialog.chosen_file()
        assert chosen is not None and chosen.filename == LARGE_FILE  # the largest that fits
        assert "largest file that fits the budget (65,536 MiB) is chosen" in (
            dialog.files_note.text()
        )
        assert "one part of a model split into several files" in dialog.files_note.text()
        screenshot(dialog, "find-models-1-files")

        dialog.repo_table.selectRow(0)
        await wait_until(lambda: dialog.file_table.rowCount() == 1)
        qtbot.mouseClick(dialog.download_button, QtCore.Qt.MouseButton.LeftButton)
        assert dialog.progress_row.isVisible() and not dialog.download_button.isEnabled()
        await wait_until(lambda: opened.added == ["file"])
        await wait_until(lambda: not dialog.progress_row.isVisible())

    run_in_qt_loop(scenario())

    assert dialog.message_text.startswith(f"Added {SMOL_FILE} (")
    assert f"model: {SMOL_FILE}" in dialog.message_text
    digest = hashlib.sha256(smollm2_path().read_bytes()).hexdigest()
    assert hashlib.sha256((models / SMOL_FILE).read_bytes()).hexdigest() == digest
    screenshot(dialog, "find-models-2-added")
    assert opened.errors == []


def test_cancel_stops_the_download_and_keeps_what_was_fetched(
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    clean_hub: FakeHub,
    tmp_path: Path,
    screenshot: Screenshot,
) -> None:
    models = tmp_path / "models"
    opened = Opened(qtbot, models, clean_hub.url, memory_mib=4096)
    dialog = opened.dialog
    clean_hub.chunk_delay = 0.002
    shown_bytes: list[str] = []

    async def scenario() -> None:
        opened.search(qtbot, "SmolLM2-135M-Instruct")
        await wait_until(lambda: dialog.file_table.rowCount() == 1)
        qtbot.mouseClick(dialog.download_button, QtCore.Qt.MouseButton.LeftButton)
        await wait_until(lambda: dialog.progress.value() > 0)
        shown_bytes.append(dialog.progress.format())
        screenshot(dialog, "find-models-3-downloading")
        qtbot.mouseClick(dialog.cancel_button, QtCore.Qt.MouseButton.LeftButton)
        await wait_until(lambda: not dialog.progress_row.isVisible())

    run_in_qt_loop(scenario())

    assert " of " in shown_bytes[0] and shown_bytes[0].endswith(" MiB")
    assert "cancelled" in dialog.message_text
    assert "goes on from there" in dialog.message_text
    assert (models / (SMOL_FILE + ".part")).stat().st_size > 0
    assert not (models / SMOL_FILE).exists()
    assert opened.added == [] and opened.errors == []


def test_offline_the_dialog_says_the_hub_cannot_be_reached(
    qtbot: QtBot, run_in_qt_loop: RunInLoop, tmp_path: Path, screenshot: Screenshot
) -> None:
    endpoint = unreachable_endpoint()
    opened = Opened(qtbot, tmp_path / "models", endpoint, memory_mib=4096)
    dialog = opened.dialog

    async def scenario() -> None:
        opened.search(qtbot, "smollm2")
        await wait_until(lambda: "offline" in dialog.message_text)

    run_in_qt_loop(scenario())

    assert dialog.message_text.startswith(
        f"Cannot reach the Hugging Face Hub at {endpoint}: offline?"
    )
    assert dialog.repo_table.rowCount() == 0
    assert dialog.search_button.isEnabled()  # it can be tried again
    screenshot(dialog, "find-models-4-offline")
    assert opened.errors == []


@pytest.fixture
def hub_in_environment(clean_hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    """The stand-in, as the app finds it: named by ``HF_ENDPOINT``."""
    monkeypatch.setenv("HF_ENDPOINT", clean_hub.url)
    return clean_hub


@pytest.mark.model
@pytest.mark.usefixtures("hub_in_environment")
def test_a_model_downloaded_from_the_models_pane_appears_in_it(
    window: MainWindow,
    home: Paths,
    run_in_qt_loop: RunInLoop,
    qtbot: QtBot,
    screenshot: Screenshot,
) -> None:
    pane = window.models_pane

    async def scenario() -> None:
        await started(window)
        window.tabs.setCurrentWidget(window.models_tab)
        qtbot.mouseClick(pane.find_button, QtCore.Qt.MouseButton.LeftButton)
        (dialog,) = pane.findChildren(FindModelsDialog)
        assert dialog.isVisible()
        qtbot.keyClicks(dialog.search_edit, "SmolLM2-135M-Instruct-GGUF")
        qtbot.keyClick(dialog.search_edit, QtCore.Qt.Key.Key_Return)
        await wait_until(lambda: dialog.file_table.rowCount() == 1)
        qtbot.mouseClick(dialog.download_button, QtCore.Qt.MouseButton.LeftButton)
        await wait_until(lambda: pane.status_of(SMOL_FILE) == "available")
        screenshot(window, "find-models-5-in-the-pane")
        assert dialog.message_text.startswith(f"Added {SMOL_FILE}")
        dialog.close()
        # The backends are asked again after an addition: the test ends when they have
        # answered, not with that work under way.
        await wait_until(pane.servers.probe_button.isEnabled)

    run_in_qt_loop(scenario())

    assert (home.models_dir / SMOL_FILE).is_file()
    assert not list(home.models_dir.glob("*.part"))
