"""The Costs pane driven through its widgets, offscreen, over real runs recorded by the real
journal into a real SQLite store: its totals against sums taken straight from the costs
table, the price editor, and the CSV export."""

from __future__ import annotations

import csv
import gc
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.app import build_app_parts
from purpose_desktop.config import Paths
from purpose_desktop.engine.costs import Price, PriceTable, load_prices
from purpose_desktop.engine.loop.run import TeamRunner
from purpose_desktop.engine.team_file import load_team
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.services.costs import CostsService
from purpose_desktop.services.runs import RunsService
from purpose_desktop.services.store import StoreService
from purpose_desktop.store.database import reading
from purpose_desktop.store.opening import Store, StoreError, open_store
from purpose_desktop.store.run_journal import SqlRunJournal
from purpose_desktop.ui.application import build_main_window
from purpose_desktop.ui.costs.pane import CostsPane
from purpose_desktop.ui.costs.prices import PriceEditor
from purpose_desktop.ui.error_dialog import ErrorReporter
from purpose_desktop.ui.qt import QtCore, QtWidgets
from purpose_desktop.ui.tasks import TaskKeeper
from purpose_desktop.ui.theme import Scheme
from pytestqt.qtbot import QtBot
from sqlalchemy import text
from tests.support.scripted_team import act, make_team, team_model
from tests.support.theme import theme_applied
from tests.support.waiting import wait_until

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]
Screenshot = Callable[[Any, str], Path]
SHOTS = "costs"
NO_BRUSH = QtCore.Qt.BrushStyle.NoBrush
GROUPS = {"agent": "agent", "model": "model", "run": "run_id", "day": "day"}

PAIR = (
    "name: Pair\nagents:\n"
    "  - name: writer\n    role: Write.\n    model: server:lab/small\n    tools: [calculator]\n"
    "    review: never\n    expertise: [poem]\n"
    "  - name: solver\n    role: Solve.\n    model: local-model\n    tools: [calculator]\n"
    "    review: never\n    expertise: [sum]\n"
)


@pytest.fixture(params=["light", "dark"])
def scheme(request: pytest.FixtureRequest, qapp: QtWidgets.QApplication) -> Iterator[Scheme]:
    with theme_applied(qapp, request.param) as applied:
        yield applied


@pytest.fixture(autouse=True)
def collect_qt_garbage() -> Iterator[None]:
    """Qt objects a qasync loop leaves in cycles are collected here, on the main thread."""
    yield
    gc.collect()


def stored_totals(store: Store, by: str) -> dict[str, tuple[int, int, int, float]]:
    """Calls, tokens in, tokens out and money per ``by``, summed by SQL over the costs."""
    column = GROUPS[by]
    with reading(store.engine) as connection:
        rows = connection.execute(
            text(
                f"SELECT {column}, count(*), sum(prompt_tokens), sum(completion_tokens), sum(cost) "
                f"FROM costs GROUP BY {column}"
            )
        ).all()
    return {
        str(row[0]): (int(row[1]), int(row[2]), int(row[3]), round(float(row[4]), 4))
        for row in rows
    }


def number(cell: str) -> int:
    return int(cell.replace(",", ""))


def shown_totals(pane: CostsPane) -> dict[str, tuple[int, int, int, float]]:
    """The same, read from the pane's table as a person sees it."""
    table, shown = pane.table, {}
    for row in range(table.rowCount()):
        cells = [table.item(row, column) for column in range(table.columnCount())]
        assert all(cell is not None for cell in cells)
        key = cells[0].data(QtCore.Qt.ItemDataRole.UserRole)  # type: ignore[union-attr]
        values = [cell.text() for cell in cells]  # type: ignore[union-attr]
        shown[key] = (
            number(values[1]),
            number(values[2]),
            number(values[3]),
            float(values[6].replace(",", "")),
        )
    return shown


async def show_grouping(pane: CostsPane, by: str) -> None:
    titles = {"agent": "Agent", "model": "Model", "run": "Run", "day": "Day"}
    before = pane.report
    if pane.grouping.currentText() == titles[by]:
        pane.refresh_button.click()
    else:
        pane.grouping.setCurrentText(titles[by])
    await wait_until(
        lambda: (
            pane.report is not before and pane.report is not None and pane.report.grouping == by
        ),
        20,
    )


def total_line(totals: dict[str, tuple[int, int, int, float]]) -> str:
    calls = sum(t[0] for t in totals.values())
    tokens_in = sum(t[1] for t in totals.values())
    tokens_out = sum(t[2] for t in totals.values())
    return f"Total: {calls:,} calls · {tokens_in:,} tokens in · {tokens_out:,} out · "


# --- a real run on the bundled model, through the whole window ------------------------------


@pytest.mark.model
def test_after_a_real_run_the_totals_match_the_database(
    home: Paths,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
    qtbot: QtBot,
) -> None:
    from purpose_desktop.config import example_team_file

    parts = build_app_parts(home)
    reporter = ErrorReporter(None, home.log_file)
    window = build_main_window(
        paths=home,
        settings=parts.settings,
        runner=parts.runner,
        reporter=reporter,
        services=parts.services,
        run_history=RunsService(parts.services.store),
    )
    window.resize(1100, 760)
    window.show()
    pane = window.costs_pane
    outcomes: list[Any] = []
    window.controller.finished.connect(outcomes.append)

    async def scenario() -> None:
        window.tabs.setCurrentWidget(window.costs_tab)  # first shown: it reads the costs
        await wait_until(lambda: pane.report is not None, 30)
        assert pane.pages.currentWidget() is pane.empty
        assert pane.empty.text().startswith("No model calls recorded yet.")
        assert not pane.export_button.isEnabled()
        window.controller.set_team(load_team(example_team_file()))
        assert window.controller.start("Name three primary colours.")
        await wait_until(lambda: bool(outcomes), 180)
        # The run's end refreshes the pane in view, without a click.
        await wait_until(lambda: pane.table.rowCount() > 0, 20)
        store = parts.store.get()
        for by in ("agent", "model", "run", "day"):
            await show_grouping(pane, by)
            expected = stored_totals(store, by)
            assert shown_totals(pane) == expected, by
            assert pane.summary.text().startswith(total_line(expected))
            if by == "run":  # named by its id and task
                assert (
                    pane.table.item(0, 0).text()
                    == (  # type: ignore[union-attr]
                        f"{outcomes[0].run_id[:8]}  Name three primary colours."
                    )
                )
            screenshot(window, f"{SHOTS}-{by}-smollm2")

    try:
        run_in_qt_loop(scenario())
        outcome = outcomes[0]
        assert outcome is not None and outcome.status == "completed"
        (by_run,) = stored_totals(parts.store.get(), "run").items()
        # The run's own account of its calls agrees with what was recorded.
        assert by_run == (
            outcome.run_id,
            (
                outcome.costs.total.calls,
                outcome.usage.prompt_tokens,
                outcome.usage.completion_tokens,
                0.0,
            ),
        )
    finally:
        window.close_anyway()

        async def shutdown() -> None:
            await window.stop_background_work()
            await parts.aclose()

        run_in_qt_loop(shutdown())
        window.deleteLater()


# --- scripted runs, priced remote models, CSV -----------------------------------------------


def cell_editor(table: QtWidgets.QTableWidget, row: int, column: int) -> QtWidgets.QLineEdit:
    """The field open for typing in the cell (row, column)."""
    where = table.visualRect(table.model().index(row, column))
    fields = [
        field
        for field in table.viewport().findChildren(QtWidgets.QLineEdit)
        if field.isVisible() and field.geometry().intersects(where)
    ]
    assert len(fields) == 1, fields
    return fields[0]


async def type_into(
    qtbot: QtBot, table: QtWidgets.QTableWidget, row: int, column: int, typed: str
) -> str:
    """Type ``typed`` into the open cell and press Enter; the cell's text once it is taken
    (the delegate commits on the next turn of the event loop)."""
    field = cell_editor(table, row, column)
    qtbot.keyClicks(field, typed)
    qtbot.keyClick(field, QtCore.Qt.Key.Key_Return)
    await wait_until(lambda: table.state() == QtWidgets.QAbstractItemView.State.NoState, 5)
    return table.item(row, column).text()  # type: ignore[union-attr]


def scripted_runner(store: Store, journal: SqlRunJournal, folder: Path) -> TeamRunner:
    """A runner recording into ``store`` the runs of models that finish at once."""
    actions = team_model(lambda _messages: act("finish", answer="done"), score=7)
    return TeamRunner(
        ScriptedProvider({"server:lab/small": actions, "local-model": actions}),
        store.memory,
        workspaces_dir=folder / "workspaces",
        journal=journal,
    )


class Bench:
    """A costs pane over a real store, and a runner recording scripted runs into it."""

    def __init__(self, folder: Path, qtbot: QtBot) -> None:
        self.folder = folder
        self.store = open_store(folder / "store.sqlite3")
        self.journal = SqlRunJournal(lambda: self.store.engine)
        self.errors: list[BaseException] = []
        self.tasks = TaskKeeper(self.errors.append)
        self.opened = 0
        self.prices_file = folder / "prices.json"
        self.pane = CostsPane(self.tasks, CostsService(StoreService(self.open), self.prices_file))
        qtbot.addWidget(self.pane)
        self.pane.resize(1000, 680)
        self.runner = scripted_runner(self.store, self.journal, folder)
        self.pane.prices_saved.connect(self.runner.use_prices)
        self.team = make_team(PAIR, folder)

    def open(self) -> Store:
        self.opened += 1
        return self.store

    async def run(self, task: str) -> None:
        outcome = await self.runner.run(self.team, task)
        assert outcome.status == "completed"

    async def run_elsewhere(self, task: str) -> None:
        """Run ``task`` as another program sharing the database would (a headless run at a
        terminal): through a store and a journal of its own."""
        store = open_store(self.folder / "store.sqlite3")
        journal = SqlRunJournal(lambda: store.engine)
        try:
            outcome = await scripted_runner(store, journal, self.folder).run(self.team, task)
            assert outcome.status == "completed"
        finally:
            journal.close()
            store.engine.dispose()

    def close(self) -> None:
        self.journal.close()
        self.store.engine.dispose()


@pytest.fixture
def bench(tmp_path: Path, qtbot: QtBot, run_in_qt_loop: RunInLoop) -> Iterator[Bench]:
    made = Bench(tmp_path, qtbot)
    yield made
    run_in_qt_loop(made.tasks.cancel_all())
    made.close()
    assert made.errors == []


def test_the_pane_reads_nothing_until_it_is_shown(
    bench: Bench, run_in_qt_loop: RunInLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        await bench.run("sum 2 and 2")
        bench.pane.costs_changed()  # a run ended while the pane was hidden
        assert bench.opened == 0 and bench.pane.report is None
        bench.pane.show()
        await wait_until(lambda: bench.pane.report is not None, 20)
        assert bench.opened == 1
        assert bench.pane.table.rowCount() == 1

    run_in_qt_loop(scenario())


def test_every_showing_and_every_refresh_reads_the_calls_recorded_meanwhile(
    bench: Bench,
    run_in_qt_loop: RunInLoop,
) -> None:
    pane = bench.pane

    async def scenario() -> None:
        await bench.run("sum 2 and 2")
        pane.show()
        await wait_until(lambda: pane.table.rowCount() == 1, 20)
        pane.hide()
        await bench.run_elsewhere("write a poem")  # no run of this window ended meanwhile
        pane.show()
        await wait_until(lambda: pane.table.rowCount() == 2, 20)
        calls = pane.report.total.calls  # type: ignore[union-attr]
        await bench.run_elsewhere("write another poem")
        pane.refresh_button.click()
        await wait_until(lambda: pane.report.total.calls > calls, 20)  # type: ignore[union-attr]
        assert shown_totals(pane) == stored_totals(bench.store, "agent")

    run_in_qt_loop(scenario())
    assert bench.opened == 3  # once for each reading


def test_prices_edited_in_the_pane_are_saved_and_charged_from_the_next_run(
    bench: Bench,
    run_in_qt_loop: RunInLoop,
    qtbot: QtBot,
    screenshot: Screenshot,
) -> None:
    pane = bench.pane
    pane.show()

    async def scenario() -> PriceEditor:
        await bench.run("write a poem")  # the remote model, still without a price
        pane.costs_changed()
        await wait_until(lambda: pane.table.rowCount() == 1, 20)
        pane.prices_button.click()
        editor = pane.price_editor
        assert editor is not None and editor.isVisible() and editor.isModal()
        assert not editor.save_button.isEnabled()  # not before the file is read
        await editor.loaded
        assert editor.table.rowCount() == 0 and editor.save_button.isEnabled()
        editor.add_button.click()  # a blank row, its first cell open for typing
        table = editor.table
        assert await type_into(qtbot, table, 0, 0, "server:lab/*") == "server:lab/*"
        table.editItem(table.item(0, 1))  # type: ignore[arg-type]
        # The price fields take no sign and no letters.
        assert await type_into(qtbot, table, 0, 1, "-x1000000") == "1000000"
        # The output is still blank; a pasted negative is marked where it is.
        assert editor.problem.text() == (
            "Row 1, output per million tokens: Enter a price (0 for free)."
        )
        table.item(0, 2).setText("-2")  # type: ignore[union-attr]
        assert editor.problem.text() == (
            "Row 1, output per million tokens: A price cannot be negative."
        )
        assert table.item(0, 2).toolTip() == "A price cannot be negative."  # type: ignore[union-attr]
        assert table.item(0, 2).background().style() != NO_BRUSH  # type: ignore[union-attr]
        assert not editor.save_button.isEnabled()
        editor.add_row("server:lab/*", "1", "1")
        assert "This model is priced twice." in [table.item(1, 0).toolTip()]  # type: ignore[union-attr]
        editor.add_row("server:*/big", "1", "1")
        assert table.item(2, 0).toolTip() == "A * may only end a pattern."  # type: ignore[union-attr]
        screenshot(editor, f"{SHOTS}-price-editor-problems")
        for row in (2, 1):
            table.selectRow(row)
            editor.remove_button.click()
        table.item(0, 2).setText("2000000")  # type: ignore[union-attr]
        assert editor.problem.isHidden() and editor.save_button.isEnabled()
        assert table.item(0, 2).background().style() == NO_BRUSH  # type: ignore[union-attr]
        editor.add_row("server:other/model", "0.15", "0.6")
        screenshot(editor, f"{SHOTS}-price-editor")
        editor.save_button.click()
        await wait_until(lambda: not editor.isVisible(), 10)
        assert "Prices saved" in pane.notice.text()
        await bench.run("write a poem")  # charged now: a token costs 1, an output token 2
        await bench.run("sum 2 and 2")  # the local model costs nothing
        pane.costs_changed()
        await wait_until(lambda: pane.table.rowCount() == 2, 20)
        return editor

    run_in_qt_loop(scenario())
    assert load_prices(bench.prices_file) == PriceTable(
        {"server:lab/*": Price(1_000_000, 2_000_000), "server:other/model": Price(0.15, 0.6)}
    )
    assert bench.runner.prices == load_prices(bench.prices_file)
    with reading(bench.store.engine) as connection:
        charged = connection.execute(
            text(
                "SELECT sum(prompt_tokens + 2 * completion_tokens), sum(cost) FROM costs "
                "WHERE model = 'server:lab/small' AND run_id = (SELECT id FROM runs "
                "ORDER BY started_at DESC LIMIT 1 OFFSET 1)"
            )
        ).one()
    assert charged[0] > 0 and float(charged[1]) == pytest.approx(charged[0])
    assert shown_totals(pane) == stored_totals(bench.store, "agent")
    assert shown_totals(pane)["solver"][3] == 0.0
    run_in_qt_loop(show_grouping(pane, "model"))
    assert shown_totals(pane) == stored_totals(bench.store, "model")
    tips = {
        pane.table.item(row, 0).text(): pane.table.item(row, 0).toolTip()  # type: ignore[union-attr]
        for row in range(2)
    }
    assert tips == {
        "server:lab/small": "server:lab/small: 1e+06 per million tokens in, 2e+06 out "
        "(calls are charged at the price of the day)",
        "local-model": "local-model runs locally: its calls cost nothing.",
    }
    pane.measure.setCurrentText("Money")
    bars = {bar.label: bar for bar in pane.chart.bars}
    assert bars["local-model"].values == (0.0,)
    assert bars["server:lab/small"].values[0] == pytest.approx(
        stored_totals(bench.store, "model")["server:lab/small"][3], abs=1e-4
    )
    assert pane.chart.title == "Money by model"
    screenshot(pane, f"{SHOTS}-by-model-money")


def test_the_shown_totals_are_exported_as_csv(
    bench: Bench,
    run_in_qt_loop: RunInLoop,
    tmp_path: Path,
    screenshot: Screenshot,
) -> None:
    pane = bench.pane
    pane.show()
    target = tmp_path / "out" / "costs.csv"
    target.parent.mkdir()

    async def scenario() -> None:
        for task in ("write a poem", "sum 2 and 2", "sum 3 and 4"):
            await bench.run(task)
        pane.costs_changed()
        await wait_until(lambda: pane.table.rowCount() == 2, 20)
        await show_grouping(pane, "run")
        pane.export_button.click()
        dialog = pane.file_dialog
        assert dialog is not None and dialog.isVisible()
        assert dialog.acceptMode() == QtWidgets.QFileDialog.AcceptMode.AcceptSave
        dialog.selectFile(str(target))
        dialog.accept()
        await wait_until(target.exists, 10)
        await wait_until(lambda: "Saved 3 rows" in pane.notice.text(), 10)
        blocker = tmp_path / "a file"
        blocker.write_text("", encoding="utf-8")
        writing = pane.export_csv(blocker / "costs.csv")
        assert writing is not None
        await writing

    run_in_qt_loop(scenario())
    with target.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == [
        "Run",
        "Team",
        "Task",
        "Calls",
        "Tokens in",
        "Tokens out",
        "Wall time (s)",
        "Tokens per second",
        "Money",
    ]
    stored = stored_totals(bench.store, "run")
    assert {
        row[0]: (int(row[3]), int(row[4]), int(row[5]), float(row[8])) for row in rows[1:]
    } == stored
    assert sorted(row[2] for row in rows[1:]) == ["sum 2 and 2", "sum 3 and 4", "write a poem"]
    assert {row[1] for row in rows[1:]} == {"Pair"}
    assert pane.notice.text() == (
        "The costs could not be saved. Cannot write "
        f"{tmp_path / 'a file' / 'costs.csv'}: Not a directory"
    )
    assert pane.notice.isVisible()
    screenshot(pane, f"{SHOTS}-export-failed")


def test_periods_and_days(bench: Bench, run_in_qt_loop: RunInLoop, screenshot: Screenshot) -> None:
    pane = bench.pane
    pane.show()

    async def scenario() -> None:
        await bench.run("sum 2 and 2")
        with bench.store.engine.begin() as connection:  # one call made on an earlier day
            connection.execute(
                text("UPDATE costs SET day = '2024-02-29' WHERE id = (SELECT min(id) FROM costs)")
            )
        pane.costs_changed()
        await show_grouping(pane, "day")
        assert [
            pane.table.item(row, 0).text()  # type: ignore[union-attr]
            for row in range(pane.table.rowCount())
        ][-1] == "2024-02-29"
        assert shown_totals(pane) == stored_totals(bench.store, "day")
        before = pane.report
        pane.period.setCurrentText("Last 7 days")
        await wait_until(lambda: pane.report is not before, 20)
        assert "2024-02-29" not in {line.key for line in pane.report.lines}  # type: ignore[union-attr]
        assert pane.table.rowCount() == 1

    run_in_qt_loop(scenario())
    screenshot(pane, f"{SHOTS}-by-day-last-7-days")


def test_the_chart_shows_the_first_rows_and_says_how_many(
    bench: Bench,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
) -> None:
    pane = bench.pane
    pane.show()

    async def scenario() -> None:
        for number in range(17):
            await bench.run(f"sum {number} and 1")
        await show_grouping(pane, "run")

    run_in_qt_loop(scenario())
    assert pane.table.rowCount() == 17 and len(pane.chart.bars) == 15
    assert pane.chart_note.text() == "The chart shows the first 15 of 17 rows."
    report = pane.report
    assert report is not None
    first_bar = pane.chart.bar_rects()[0][1][0]
    assert pane.chart.tooltip_at(first_bar.center()) == report.lines[0].detail
    assert report.lines[0].detail.startswith(f"Run {report.lines[0].key} of Pair, started ")
    screenshot(pane, f"{SHOTS}-by-run-many")


def test_without_a_store_or_with_a_broken_one_the_pane_says_so(
    tmp_path: Path,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
) -> None:
    errors: list[BaseException] = []
    tasks = TaskKeeper(errors.append)
    unrecorded = CostsPane(tasks, None)
    qtbot.addWidget(unrecorded)

    def broken() -> Store:
        raise StoreError("The database x.sqlite3 is in use by another program.")

    failing = CostsPane(tasks, CostsService(StoreService(broken), tmp_path / "prices.json"))
    qtbot.addWidget(failing)

    async def scenario() -> None:
        unrecorded.show()
        failing.show()
        await wait_until(failing.notice.isVisible, 10)

    run_in_qt_loop(scenario())
    assert unrecorded.empty.text() == (
        "Runs are not being recorded, so there are no costs to show."
    )
    assert not unrecorded.prices_button.isEnabled()
    assert failing.notice.text() == (
        "The costs cannot be read: The database x.sqlite3 is in use by another program."
    )
    assert errors == []


def test_screenshot_in_each_theme(
    bench: Bench, run_in_qt_loop: RunInLoop, scheme: str, screenshot: Screenshot
) -> None:
    pane = bench.pane
    pane.show()

    async def scenario() -> None:
        for task in ("write a poem", "sum 2 and 2"):
            await bench.run(task)
        pane.costs_changed()
        await wait_until(lambda: pane.table.rowCount() == 2, 20)

    run_in_qt_loop(scenario())
    screenshot(pane, f"{SHOTS}-by-agent-{scheme}")
    assert len(pane.chart.bars) == 2 and pane.chart.segments == ("in", "out")
