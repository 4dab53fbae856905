"""The memory pane driven through its widgets, offscreen, over a real SQLite database holding
thousands of heuristics and experiences, and runs recorded by a real ``TeamRunner`` (with
scripted models) for the trajectories and what each step was given."""

from __future__ import annotations

import asyncio
import gc
import shutil
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.app import build_app_parts
from purpose_desktop.config import Paths
from purpose_desktop.engine.learning.memory import Experience, Heuristic, Tier
from purpose_desktop.engine.learning.memory_queries import ExperienceQuery, HeuristicQuery
from purpose_desktop.engine.loop.run import RunOutcome, TeamRunner
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.services.memory import MemoryService
from purpose_desktop.services.runs import RunsService
from purpose_desktop.services.store import StoreService
from purpose_desktop.store.database import reading, writing
from purpose_desktop.store.deferred import DeferredMemoryStore
from purpose_desktop.store.opening import Store, open_store
from purpose_desktop.store.run_journal import SqlRunJournal
from purpose_desktop.ui.application import build_main_window
from purpose_desktop.ui.error_dialog import ErrorReporter
from purpose_desktop.ui.main_window import MainWindow
from purpose_desktop.ui.memory.browser import NOTHING_LEARNED, MemoryBrowser
from purpose_desktop.ui.memory.controller import MemoryController
from purpose_desktop.ui.memory.pane import MemoryPane
from purpose_desktop.ui.memory.retrieved import DELETED
from purpose_desktop.ui.memory.table import PAGE_SIZE, PageModel
from purpose_desktop.ui.qt import QtCore, QtWidgets
from purpose_desktop.ui.tasks import TaskKeeper
from pytestqt.qtbot import QtBot
from sqlalchemy import text
from tests.support.memories import INSERT_HEURISTIC, TOPICS
from tests.support.scripted_team import act, one_agent_team, team_model
from tests.support.stores import PageLimit
from tests.support.waiting import wait_until

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]
Screenshot = Callable[[Any, str], Path]
Key = QtCore.Qt.Key

ROWS = 5000


@pytest.fixture(autouse=True)
def collect_qt_garbage() -> Iterator[None]:
    """Qt objects the test's loop left in reference cycles are collected here, on the main
    thread (see ``test_run_pane.py``)."""
    yield
    gc.collect()


@pytest.fixture(scope="module")
def filled_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with :data:`ROWS` heuristics and as many experiences, nearly all of the
    team "lab" (one in fifty is "ops"'s), written straight into the tables in one go."""
    path = tmp_path_factory.mktemp("memory") / "filled.sqlite3"
    store = open_store(path)
    tiers = list(Tier)
    heuristics = [
        {
            "team": "ops" if i % 50 == 0 else "lab",
            "tier": tiers[i % 3].value,
            "pattern": f"{TOPICS[i % 4]} case {i}",
            "strategy": f"check step {i} twice",
            "q_value": (i * 37 % 101) / 100,
            "uses": i % 9,
            "successes": min(i % 4, i % 9),
            "source": "human" if i % 7 == 0 else "distilled",
            "pinned": i % 300 == 1,
            "created_at": float(i),
        }
        for i in range(ROWS)
    ]
    experiences = [
        Experience(
            team="ops" if i % 50 == 0 else "lab",
            task=f"{TOPICS[i % 4]} task {i}",
            summary=f"did {i} things",
            outcome=("completed", "failed", "cancelled")[i % 3],
            final_phi=i % 11,
            steps=i % 6 + 1,
            run_id=f"imported-{i}",
            q_value=(i * 53 % 97) / 96,
        )
        for i in range(ROWS)
    ]
    with writing(store.engine) as connection:
        connection.execute(INSERT_HEURISTIC, heuristics)
        # Every tenth heuristic came from (and was used in) a few runs.
        connection.execute(
            text("INSERT INTO heuristic_runs (heuristic_id, run_id) VALUES (:id, :run)"),
            [
                {"id": i + 1, "run": uuid.UUID(int=i * 7919 + n).hex[::-1]}
                for i in range(0, ROWS, 10)
                for n in range(i % 4 + 1)
            ],
        )
    asyncio.run(store.memory.add_experiences(experiences))
    store.engine.dispose()
    return path


@dataclass
class Bench:
    """A memory pane over a copy of the filled database; how often it asked for the store,
    and the errors its tasks raised."""

    pane: MemoryPane
    store: Store
    opened: list[int] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    @property
    def browser(self) -> MemoryBrowser:
        assert self.pane.browser is not None
        return self.pane.browser

    @property
    def controller(self) -> MemoryController:
        assert self.pane.controller is not None
        return self.pane.controller

    async def settled(self) -> None:
        """Wait until no search is pending and everything asked for has been read."""
        browser, controller = self.browser, self.controller
        await wait_until(lambda: not browser.search_timer.isActive() and not controller.reading, 30)

    async def activate(self) -> None:
        """Make the pane's window the active one (offscreen, nothing else does)."""
        self.pane.activateWindow()
        await wait_until(self.pane.isActiveWindow)

    async def show(self, team: str = "lab") -> MemoryBrowser:
        """Show the pane on ``team``'s memory, once its first pages are there."""
        self.pane.set_team(team)
        self.pane.show()
        await wait_until(
            lambda: self.pane.browser is not None and self.browser.heuristic_model.rowCount() > 0,
            30,
        )
        await self.settled()
        return self.browser


@pytest.fixture
def bench(
    filled_database: Path, tmp_path: Path, qtbot: QtBot, run_in_qt_loop: RunInLoop
) -> Iterator[Bench]:
    copy = tmp_path / "store.sqlite3"
    shutil.copy(filled_database, copy)
    store = open_store(copy)
    errors: list[BaseException] = []
    tasks = TaskKeeper(errors.append)
    opened: list[int] = []

    def open_it() -> Store:
        opened.append(1)
        return store

    pane = MemoryPane(tasks, MemoryService(StoreService(open_it)))
    qtbot.addWidget(pane)
    pane.resize(1280, 820)
    yield Bench(pane, store, opened, errors)
    run_in_qt_loop(tasks.cancel_all())
    store.engine.dispose()
    assert errors == []


def texts(model: PageModel[Any], column: str) -> list[str]:
    titles = [
        model.headerData(c, QtCore.Qt.Orientation.Horizontal) for c in range(model.columnCount())
    ]
    at = titles.index(column)
    return [model.data(model.index(row, at)) for row in range(model.rowCount())]


def ids(model: PageModel[Any]) -> list[int]:
    return [memory.id for memory in model.rows]


def click_row(
    qtbot: QtBot,
    view: QtWidgets.QTableView,
    row: int,
    modifier: QtCore.Qt.KeyboardModifier = QtCore.Qt.KeyboardModifier.NoModifier,
) -> None:
    rect = view.visualRect(view.model().index(row, 2))
    qtbot.mouseClick(view.viewport(), QtCore.Qt.MouseButton.LeftButton, modifier, rect.center())


def test_the_pane_opens_the_store_when_first_shown_and_pages_through_thousands(
    bench: Bench,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    assert bench.pane.browser is None and bench.opened == []  # nothing until it is shown
    memory = bench.store.memory
    lab = HeuristicQuery("lab")

    async def scenario() -> None:
        browser = await bench.show()
        assert bench.opened  # the store, asked for once the pane was shown
        assert browser.team_box.currentText() == "lab"
        assert [browser.team_box.itemText(i) for i in range(browser.team_box.count())] == [
            "lab",
            "ops",
        ]
        total = await memory.count_heuristics(lab)
        assert total == ROWS - ROWS // 50
        assert browser.heuristic_pager.label.text() == (
            f"Page 1 of {-(-total // PAGE_SIZE)} · {total:,} heuristics"
        )
        first = await memory.search_heuristics(lab, limit=PAGE_SIZE)
        assert browser.heuristic_model.rows == first  # best Q-value first
        assert not browser.heuristic_pager.previous_button.isEnabled()
        click_row(qtbot, browser.heuristic_view, 0)
        assert "Pattern" in browser.heuristic_detail.toPlainText()
        assert first[0].pattern in browser.heuristic_detail.toPlainText()
        screenshot(bench.pane, "memory-heuristics")

        qtbot.mouseClick(browser.heuristic_pager.next_button, QtCore.Qt.MouseButton.LeftButton)
        await bench.settled()
        assert browser.heuristic_model.rows == await memory.search_heuristics(
            lab, offset=PAGE_SIZE, limit=PAGE_SIZE
        )
        assert browser.heuristic_pager.label.text().startswith("Page 2 of ")
        assert browser.experience_pager.label.text().endswith(
            f"{await memory.count_experiences('lab'):,} experiences"
        )

        bench.pane.hide()
        bench.pane.show()  # shown again: the same page read again
        await bench.settled()
        assert browser.heuristic_pager.label.text().startswith("Page 2 of ")

    run_in_qt_loop(scenario())


def test_search_filters_and_sort_run_in_the_database_and_the_newest_search_wins(
    bench: Bench, qtbot: QtBot, run_in_qt_loop: RunInLoop
) -> None:
    memory = bench.store.memory

    async def scenario() -> None:
        browser = await bench.show()
        qtbot.keyClicks(browser.search_box, "invoice")  # stemmed: finds "invoices"
        assert browser.search_timer.isActive()  # waits for typing to pause
        await bench.settled()
        found = HeuristicQuery("lab", "invoice")
        assert browser.heuristic_model.rows == await memory.search_heuristics(
            found, limit=PAGE_SIZE
        )
        assert all("invoices" in pattern for pattern in texts(browser.heuristic_model, "Pattern"))
        assert browser.heuristic_pager.label.text().endswith(
            f"{await memory.count_heuristics(found):,} heuristics"
        )
        assert all("invoices" in task for task in texts(browser.experience_model, "Task"))
        assert browser.experience_model.rows == await memory.search_experiences(
            ExperienceQuery("lab", "invoice"), limit=PAGE_SIZE
        )

        # A search started while another is read: only the newest one's rows are shown.
        browser.search_box.setText("deploying")
        qtbot.keyClick(browser.search_box, Key.Key_Return)
        browser.search_box.setText("reports")
        qtbot.keyClick(browser.search_box, Key.Key_Return)
        await bench.settled()
        assert browser.heuristic_model.rows == await memory.search_heuristics(
            HeuristicQuery("lab", "reports"), limit=PAGE_SIZE
        )

        browser.tier_box.setCurrentIndex(browser.tier_box.findData(Tier.TOOL))
        browser.source_box.setCurrentIndex(browser.source_box.findData("human"))
        browser.heuristic_order.setCurrentIndex(browser.heuristic_order.findData("uses"))
        await bench.settled()
        chosen = HeuristicQuery("lab", "reports", tiers=(Tier.TOOL,), source="human")
        shown = browser.heuristic_model.rows
        assert shown == await memory.search_heuristics(chosen, order="uses", limit=PAGE_SIZE)
        assert shown and all(h.tier == Tier.TOOL and h.source == "human" for h in shown)
        assert [h.uses for h in shown] == sorted((h.uses for h in shown), reverse=True)
        browser.min_q.setValue(0.5)
        await bench.settled()
        assert browser.heuristic_model.rows == await memory.search_heuristics(
            HeuristicQuery("lab", "reports", tiers=(Tier.TOOL,), source="human", min_q=0.5),
            order="uses",
            limit=PAGE_SIZE,
        )
        assert all(h.q_value >= 0.5 for h in browser.heuristic_model.rows)

        browser.team_box.setCurrentIndex(browser.team_box.findData("ops"))
        await bench.settled()
        assert {h.team for h in browser.heuristic_model.rows} == {"ops"}

        await bench.activate()
        browser.heuristic_view.setFocus()
        assert not browser.search_box.hasFocus()
        qtbot.keyClick(
            browser.heuristic_view, Key.Key_F, QtCore.Qt.KeyboardModifier.ControlModifier
        )
        assert browser.search_box.hasFocus()

    run_in_qt_loop(scenario())


def test_enter_edits_a_heuristic_and_the_edit_reaches_the_database(
    bench: Bench,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:

    async def scenario() -> None:
        browser = await bench.show()
        view = browser.heuristic_view
        click_row(qtbot, view, 3)
        chosen = browser.heuristic_model.row(3)
        qtbot.keyClick(view, Key.Key_Return)
        form = bench.controller.form
        assert form is not None and form.isVisible()
        assert form.pattern_edit.toPlainText() == chosen.pattern
        assert form.strategy_edit.toPlainText() == chosen.strategy
        form.strategy_edit.selectAll()
        qtbot.keyClicks(form.strategy_edit, "read the invoice total before anything else")
        form.tier_box.setCurrentIndex(form.tier_box.findData(Tier.STRATEGIC))
        qtbot.mouseClick(form.pinned_box, QtCore.Qt.MouseButton.LeftButton)
        screenshot(form, "memory-edit-form")
        qtbot.mouseClick(form.save_button, QtCore.Qt.MouseButton.LeftButton)
        await wait_until(lambda: bench.controller.form is None)
        await bench.settled()
        [stored] = await bench.store.memory.heuristics_by_ids([chosen.id or 0])
        assert (stored.tier, stored.strategy, stored.pinned) == (
            Tier.STRATEGIC,
            "read the invoice total before anything else",
            True,
        )
        assert (stored.pattern, stored.q_value, stored.uses) == (
            chosen.pattern,
            chosen.q_value,
            chosen.uses,
        )
        assert browser.heuristic_model.rows[3] == stored  # shown as stored, still selected
        assert browser.selected_heuristics() == [stored]
        assert browser.status_line.text() == f"Saved heuristic #{chosen.id}."

        # An edit that would make it the same as another heuristic is refused in the form.
        other = browser.heuristic_model.row(4)
        qtbot.keyClick(view, Key.Key_Return)
        form = bench.controller.form
        assert form is not None
        form.pattern_edit.setPlainText(other.pattern)
        form.strategy_edit.setPlainText(other.strategy)
        form.tier_box.setCurrentIndex(form.tier_box.findData(other.tier))
        qtbot.mouseClick(form.save_button, QtCore.Qt.MouseButton.LeftButton)
        await wait_until(lambda: "already has" in form.message.text())
        assert form.isVisible() and form.save_button.isEnabled()
        assert form.pattern_edit.toPlainText() == other.pattern
        assert await bench.store.memory.heuristics_by_ids([chosen.id or 0]) == [stored]
        qtbot.mouseClick(form.cancel_button, QtCore.Qt.MouseButton.LeftButton)
        assert bench.controller.form is None

    run_in_qt_loop(scenario())


def test_a_full_disk_keeps_the_injected_heuristic_in_the_form_until_it_can_be_saved(
    bench: Bench,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    limit = PageLimit(bench.store.engine)
    strategy = "split the file by month, then " + "check each month's totals; " * 800

    async def scenario() -> None:
        browser = await bench.show()
        before = await bench.store.memory.count_heuristics("lab")
        qtbot.mouseClick(browser.inject_button, QtCore.Qt.MouseButton.LeftButton)
        form = bench.controller.form
        assert form is not None and form.windowTitle() == "Inject heuristic"
        assert not form.save_button.isEnabled()  # nothing written yet
        qtbot.keyClicks(form.pattern_edit, "a zeppelin ledger with twelve months")
        form.strategy_edit.setPlainText(strategy)
        form.tier_box.setCurrentIndex(form.tier_box.findData(Tier.TOOL))
        screenshot(form, "memory-inject-form")
        limit.fill()
        qtbot.mouseClick(form.save_button, QtCore.Qt.MouseButton.LeftButton)
        await wait_until(lambda: "disk is full" in form.message.text())
        assert form.message.text().startswith("The team's memory could not be saved")
        assert form.isVisible() and form.save_button.isEnabled()
        assert form.pattern_edit.toPlainText() == "a zeppelin ledger with twelve months"
        assert form.strategy_edit.toPlainText() == strategy
        assert await bench.store.memory.count_heuristics("lab") == before
        screenshot(form, "memory-inject-form-disk-full")

        limit.lift()
        qtbot.mouseClick(form.save_button, QtCore.Qt.MouseButton.LeftButton)
        await wait_until(lambda: bench.controller.form is None)
        [stored] = await bench.store.memory.search_heuristics(HeuristicQuery("lab", "zeppelin"))
        assert (stored.source, stored.tier, stored.strategy, stored.q_value) == (
            "human",
            Tier.TOOL,
            strategy.strip(),
            0.5,
        )
        assert browser.status_line.text() == f"Injected heuristic #{stored.id}."

        qtbot.keyClicks(browser.search_box, "zeppelin")
        await bench.settled()
        assert texts(browser.heuristic_model, "Source") == ["human"]
        click_row(qtbot, browser.heuristic_view, 0)
        assert browser.pin_button.text() == "Pin"
        qtbot.mouseClick(browser.pin_button, QtCore.Qt.MouseButton.LeftButton)
        await wait_until(lambda: browser.status_line.text() == "Pinned 1 heuristic.")
        await bench.settled()
        assert stored_pinned(bench, stored.id) is True
        assert texts(browser.heuristic_model, "Pinned") == ["pinned"]
        assert browser.pin_button.text() == "Unpin"
        qtbot.mouseClick(browser.pin_button, QtCore.Qt.MouseButton.LeftButton)
        await wait_until(lambda: browser.status_line.text() == "Unpinned 1 heuristic.")
        await bench.settled()
        assert stored_pinned(bench, stored.id) is False
        assert texts(browser.heuristic_model, "Pinned") == [""]

    run_in_qt_loop(scenario())


def stored_pinned(bench: Bench, memory_id: int | None) -> bool:
    with reading(bench.store.engine) as connection:
        return bool(
            connection.execute(
                text("SELECT pinned FROM heuristics WHERE id = :id"), {"id": memory_id}
            ).scalar_one()
        )


def test_delete_asks_first_then_removes_the_selection_from_the_database(
    bench: Bench, qtbot: QtBot, run_in_qt_loop: RunInLoop
) -> None:
    memory = bench.store.memory

    async def scenario() -> None:
        browser = await bench.show()
        view = browser.heuristic_view
        total = await memory.count_heuristics("lab")
        click_row(qtbot, view, 1)
        click_row(qtbot, view, 3, QtCore.Qt.KeyboardModifier.ShiftModifier)
        doomed = [h.id for h in browser.selected_heuristics()]
        assert len(doomed) == 3

        qtbot.keyClick(view, Key.Key_Delete)
        box = bench.controller.confirmation
        assert box is not None and box.isVisible()
        assert box.text().startswith("Delete 3 heuristics?")
        qtbot.keyClick(box, Key.Key_Escape)  # no
        await bench.settled()
        assert bench.controller.confirmation is None
        assert len(await memory.heuristics_by_ids(doomed)) == 3

        await bench.activate()  # as a window manager does once a dialog has gone
        qtbot.keyClick(view, Key.Key_Delete)
        box = bench.controller.confirmation
        assert box is not None
        delete = next(b for b in box.buttons() if b.text() == "Delete")
        qtbot.mouseClick(delete, QtCore.Qt.MouseButton.LeftButton)
        await wait_until(lambda: browser.status_line.text() == "Deleted 3 heuristics.")
        await bench.settled()
        assert await memory.heuristics_by_ids(doomed) == []
        assert await memory.count_heuristics("lab") == total - 3
        assert not set(doomed) & set(ids(browser.heuristic_model))
        assert browser.heuristic_pager.label.text().endswith(f"{total - 3:,} heuristics")

        await bench.activate()
        browser.tabs.setCurrentWidget(browser.experiences_page)
        click_row(qtbot, browser.experience_view, 0)
        [gone] = browser.selected_experiences()
        qtbot.keyClick(browser.experience_view, Key.Key_Delete)
        box = bench.controller.confirmation
        assert box is not None and box.text().startswith(f"Delete experience #{gone.id}?")
        qtbot.mouseClick(
            next(b for b in box.buttons() if b.text() == "Delete"), QtCore.Qt.MouseButton.LeftButton
        )
        await wait_until(lambda: browser.status_line.text() == "Deleted 1 experience.")
        await bench.settled()
        assert await memory.experiences_by_ids([gone.id or 0]) == []
        assert gone.id not in ids(browser.experience_model)

    run_in_qt_loop(scenario())


def recorded_run(store: Store, folder: Path) -> RunOutcome:
    """A run of the team "T" on a task its memory knows something about (heuristics a
    person wrote, a run of a task like it); the team learns from it (an experience,
    heuristics)."""
    journal = SqlRunJournal(lambda: store.engine)
    model = team_model(
        [act("calculator", expression="17*23"), act("finish", answer="391")], score=6
    )
    runner = TeamRunner(
        ScriptedProvider({"m": model}),
        store.memory,
        workspaces_dir=folder / "workspaces",
        journal=journal,
    )

    async def run() -> RunOutcome:
        for strategy in ("use the calculator", "write the product out", "check by dividing"):
            await store.memory.add_heuristic(
                Heuristic(
                    team="T",
                    tier=Tier.TOOL,
                    pattern="multiply two numbers",
                    strategy=strategy,
                    source="human",
                )
            )
        await store.memory.add_experience(
            Experience(
                team="T",
                task="multiply 17 by 24",
                summary="calculator, then finish",
                outcome="completed",
                final_phi=8,
                steps=2,
                run_id="gone",
            )
        )
        return await runner.run(one_agent_team(folder), "multiply 17 by 23")

    try:
        return asyncio.run(run())
    finally:
        journal.close()


def test_an_experience_shows_the_trajectory_of_the_run_it_came_from(
    bench: Bench,
    tmp_path: Path,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    outcome = recorded_run(bench.store, tmp_path)
    assert outcome.status == "completed"

    async def scenario() -> None:
        browser = await bench.show("T")
        browser.tabs.setCurrentWidget(browser.experiences_page)
        browser.experience_order.setCurrentIndex(browser.experience_order.findData("newest"))
        await bench.settled()
        assert texts(browser.experience_model, "Run") == [outcome.run_id[:8], "gone"]
        click_row(qtbot, browser.experience_view, 0)
        await bench.settled()
        shown = browser.experience_detail.toPlainText()
        assert "Trajectory" in shown
        assert '{"tool": "calculator", "expression": "17*23"}' in shown
        assert "391" in shown and "finish" in shown
        screenshot(bench.pane, "memory-experience-trajectory")

        click_row(qtbot, browser.experience_view, 1)  # its run is not in this database
        await bench.settled()
        assert "not recorded in this database" in browser.experience_detail.toPlainText()

    run_in_qt_loop(scenario())


def test_a_step_shows_the_memories_it_was_given_and_those_deleted_since(
    bench: Bench,
    tmp_path: Path,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    outcome = recorded_run(bench.store, tmp_path)
    given = bench.store.runs.memory_retrievals_now(outcome.run_id)
    first = given[0]
    assert len(first.heuristics) == 3 and len(first.experiences) == 1
    deleted_id = first.heuristics[1].id
    assert asyncio.run(bench.store.memory.delete_heuristic(deleted_id))

    async def scenario() -> None:
        browser = await bench.show("T")
        view = browser.retrieved
        browser.tabs.setCurrentWidget(view)
        await wait_until(lambda: view.step_list.count() == len(given), 30)
        await bench.settled()
        assert view.chosen_run() == outcome.run_id
        assert view.step_list.item(0).text() == "Step 1 · solver\n3 heuristics, 1 experience"
        heuristics = view.heuristics
        rows = [
            [heuristics.item(r, c).text() for c in range(heuristics.columnCount())]
            for r in range(heuristics.rowCount())
        ]
        assert [row[0] for row in rows] == [str(h.id) for h in first.heuristics]
        assert rows[1][3] == DELETED and rows[1][2] == first.heuristics[1].strategy
        assert [row[3] for row in rows if row[0] != str(deleted_id)] == ["multiply two numbers"] * 2
        assert view.experiences.item(0, 1).text() == "multiply 17 by 24"
        assert view.note.text().endswith("1 of them deleted since.")
        screenshot(bench.pane, "memory-retrieved-for-step")

        view.step_list.setCurrentRow(1)
        await bench.settled()
        assert view.note.text().startswith("Step 2 of solver was given")

    run_in_qt_loop(scenario())


# --- what runs learn, shown without a restart ------------------------------------------------


def test_refresh_reads_what_another_program_learned_meanwhile(
    bench: Bench,
    filled_database: Path,
    tmp_path: Path,
    run_in_qt_loop: RunInLoop,
) -> None:
    async def scenario() -> None:
        browser = await bench.show("ops")
        before = bench.controller.heuristics.total
        # Another program sharing the database (a headless run, a memory import) learns.
        other = open_store(tmp_path / "store.sqlite3")
        try:
            await other.memory.add_heuristic(
                Heuristic(
                    team="ops",
                    tier=Tier.STRATEGIC,
                    pattern="rotate the logs",
                    strategy="compress the old ones first",
                    source="human",
                )
            )
        finally:
            other.engine.dispose()
        browser.refresh_button.click()
        await wait_until(lambda: bench.controller.heuristics.total == before + 1, 30)
        assert "compress the old ones first" in texts(browser.heuristic_model, "Strategy")

    run_in_qt_loop(scenario())


class App:
    """The application over a real store in a fresh home, its runs those of a scripted model
    that sums with the calculator and finishes (so each run learns); :meth:`open` makes its
    window, which restores the layout the last session left, as the application's does."""

    def __init__(self, home: Paths) -> None:
        self.parts = build_app_parts(home)
        self.reporter = ErrorReporter(None, home.log_file)
        self.outcomes: list[Any] = []
        model = team_model(
            [act("calculator", expression="2+2"), act("finish", answer="4")] * 4, score=7
        )
        self.runner = TeamRunner(
            ScriptedProvider({"m": model}),
            DeferredMemoryStore(lambda: self.parts.store.get().memory),
            workspaces_dir=home.workspaces_dir,
            journal=self.parts.journal,
        )
        self.window: MainWindow | None = None

    def open(self) -> MainWindow:
        parts = self.parts
        window = build_main_window(
            paths=parts.paths,
            settings=parts.settings,
            runner=self.runner,
            reporter=self.reporter,
            services=parts.services,
            run_history=RunsService(parts.services.store),
        )
        window.resize(1200, 760)
        window.controller.finished.connect(self.outcomes.append)
        self.window = window
        return window

    async def run(self, task: str) -> None:
        """Run ``task`` on a one-agent team, as the Run pane would, and wait for its end."""
        assert self.window is not None
        self.window.controller.set_team(one_agent_team(self.parts.paths.home))
        ended = len(self.outcomes)
        assert self.window.controller.start(task)
        await wait_until(lambda: len(self.outcomes) > ended, 30)
        assert self.outcomes[-1] is not None and self.outcomes[-1].status == "completed"

    @property
    def memory(self) -> MemoryBrowser:
        assert self.window is not None and self.window.memory_pane.browser is not None
        return self.window.memory_pane.browser


def learned(browser: MemoryBrowser) -> list[str]:
    return texts(browser.heuristic_model, "Strategy")


def patterns(browser: MemoryBrowser) -> set[str]:
    """The tasks the heuristics shown were learned on."""
    return set(texts(browser.heuristic_model, "Pattern"))


@pytest.fixture
def app(home: Paths, run_in_qt_loop: RunInLoop) -> Iterator[App]:
    made = App(home)
    yield made
    window = made.window
    if window is not None:
        window.close_anyway()

    async def shut_down() -> None:
        if window is not None:
            await window.stop_background_work()
        await made.parts.aclose()

    run_in_qt_loop(shut_down())
    if window is not None:
        window.deleteLater()
    assert made.reporter.open_dialogs == []  # no task failed


def test_the_memory_tab_restored_at_start_shows_what_each_run_learns(
    app: App,
    home: Paths,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    # The last session closed on the Memory tab (the third): the window opens on it, and is
    # shown before the event loop runs, as the application does.
    layout = QtCore.QSettings(str(home.window_state_file), QtCore.QSettings.Format.IniFormat)
    layout.setValue("tab", 2)
    layout.sync()
    window = app.open()
    assert window.tabs.currentWidget() is window.memory_pane
    window.show()

    async def scenario() -> None:
        await wait_until(
            lambda: (
                window.memory_pane.browser is not None
                and app.memory.status_line.text() == NOTHING_LEARNED
            ),
            30,
        )
        await app.run("sum 2 and 2")
        # Still in view: what the run learned is shown without showing the pane again.
        await wait_until(
            lambda: any(s.startswith("Steps that worked") for s in learned(app.memory)), 30
        )
        assert app.memory.team == "T"
        assert app.memory.status_line.text() == ""
        screenshot(window, "memory-after-a-run")

    run_in_qt_loop(scenario())


def test_a_run_that_ends_while_the_pane_is_in_view_shows_what_it_learned(
    app: App,
    run_in_qt_loop: RunInLoop,
) -> None:
    window = app.open()
    window.show()

    async def scenario() -> None:
        await app.run("sum 2 and 2")
        window.tabs.setCurrentWidget(window.memory_pane)
        # What worked is learned for the kind of task: its numbers taken out.
        await wait_until(lambda: patterns(app.memory) == {"sum # and #"}, 30)
        await app.run("add 2 and 2 again")  # the pane stays in view as the run ends
        await wait_until(lambda: patterns(app.memory) == {"sum # and #", "add # and # again"}, 30)
        assert app.memory.heuristic_pager.label.text().endswith("· 4 heuristics")

    run_in_qt_loop(scenario())
