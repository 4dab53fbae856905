"""The Benchmarks pane: how a team improved over the iterations of a benchmark suite, as
curves of one measure (success rate, Φ, steps, reward, tokens, time), one per series run side
by side ("learning on", "learning off", "with overrides"...).

It lists the results saved in the database and the result files in the benchmarks folder of
the home folder (``ui/benchmark_results.py`` says how the two are merged), and opens others
with Open…. Run benchmark… runs a suite with a team, showing its progress, and saves the result
in both places; Delete… forgets a result saved in the database, with its file. Everything that
reads or writes runs on a worker thread, first when the pane is shown.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.engine.learning.improvement import (
    METRICS,
    ImprovementFileError,
    ImprovementResult,
    ResultFile,
    load_improvement,
)
from purpose_desktop.errors import UserError
from purpose_desktop.ui.benchmarks.job import read_choices, run_benchmark
from purpose_desktop.ui.benchmarks.progress import BenchmarkProgress
from purpose_desktop.ui.benchmarks.results import (
    ListedResult,
    OpenStore,
    ResultListing,
    read_results,
)
from purpose_desktop.ui.costs.report import seconds_text
from purpose_desktop.ui.on_loop import call_on_loop
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, set_by_name
from purpose_desktop.ui.tasks import TaskKeeper
from purpose_desktop.ui.team.questions import message_box
from purpose_desktop.ui.theme import meaning_colour
from purpose_desktop.ui.widgets.builders import read_only_table
from purpose_desktop.ui.widgets.chart_parts import compact
from purpose_desktop.ui.widgets.curve_chart import Curve, CurveChart
from purpose_desktop.ui.widgets.notice import notice_label, say

if TYPE_CHECKING:
    # The form and the database layer are imported when first needed:
    # the pane may be made as the window starts, which does not wait for them.
    from purpose_desktop.engine.learning.kept_results import SavedImprovement
    from purpose_desktop.ui.benchmarks.form import BenchmarkForm
    from purpose_desktop.ui.benchmarks.job import BenchmarkDone, BenchmarkRequest, BenchmarkSetup

log = logging.getLogger(__name__)

RESULT_FILTER = "Benchmark results (*.json);;All files (*)"
RUN_SHORTCUT = "Ctrl+B"
#: How each measure is written, on the axis and in the table.
VALUE_TEXT: dict[str, Callable[[float], str]] = {
    "success_rate": lambda v: f"{v:.0%}",
    "average_phi": lambda v: f"{v:.1f}",
    "average_steps": lambda v: f"{v:.1f}",
    "average_reward": lambda v: f"{v:+.2f}" if v else "0",
    "tokens": compact,
    "seconds": seconds_text,
}


def empty_text(folder: Path) -> str:
    return (
        "No benchmark results yet.\n\n"
        f"Run benchmark… ({RUN_SHORTCUT}) runs a suite of tasks for a few iterations, with "
        "learning on and off, and draws how the team improved, one curve per series. "
        "Benchmarks run at a terminal are listed here too:\n\n"
        "purpose-desktop bench improve --suite NAME --team TEAM_FILE\n\n"
        f"Results are kept in the database and as files in {folder}. Open… shows a result "
        "file kept elsewhere."
    )


class BenchmarkPane(QtWidgets.QWidget):
    """The results and their curves. ``open_store`` opens the database (on a worker thread)
    whose results are listed beside the folder's files; without it, the files alone.
    ``setup`` is what running a benchmark needs; without it there is no Run benchmark…."""

    def __init__(
        self,
        tasks: TaskKeeper,
        folder: Path,
        *,
        open_store: OpenStore | None = None,
        setup: BenchmarkSetup | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self.folder = folder
        self._open_store = open_store
        self._setup = setup
        self.entries: list[ListedResult] = []
        """What the list shows: files opened with Open… first, then the rest, newest first."""
        self._opened: list[ListedResult] = []
        # The database's results read so far: the result, or why it cannot be read. Keyed by
        # the whole listing, not the id alone, which SQLite gives again after a deletion.
        self._read: dict[SavedImprovement, ImprovementResult | str] = {}
        self.shown: ImprovementResult | None = None
        self.file_dialog: QtWidgets.QFileDialog | None = None
        self.form: BenchmarkForm | None = None
        self.confirmation: QtWidgets.QMessageBox | None = None
        self.listing: asyncio.Task[None] | None = None
        """The latest reading of the list, once one has started."""
        self.reading: asyncio.Task[None] | None = None
        """The latest reading of a result from the database."""
        self.running: asyncio.Task[None] | None = None
        """The benchmark under way."""

        self.results = QtWidgets.QListWidget()
        self.listing_notice = notice_label()
        self.open_button = QtWidgets.QPushButton("&Open…")
        self.refresh_button = QtWidgets.QPushButton("Re&fresh")
        self.delete_button = QtWidgets.QPushButton("&Delete…")
        self._allow_delete(None)
        self.run_button = QtWidgets.QPushButton("R&un benchmark…")
        self.run_button.setToolTip(
            f"Run a suite of tasks with a team and draw how it improves ({RUN_SHORTCUT})"
        )
        set_by_name(self.run_button, "shortcut", RUN_SHORTCUT)
        if setup is None:
            self.run_button.hide()
        self.progress = BenchmarkProgress()
        self.heading = QtWidgets.QLabel("")
        self.heading.setWordWrap(True)
        self.measure = QtWidgets.QComboBox()
        self.measure.addItems([metric.label for metric in METRICS])
        self.chart = CurveChart()
        self.table = read_only_table(("Iteration",))
        self.notice = notice_label()
        self.empty = QtWidgets.QLabel(empty_text(folder))
        self.empty.setWordWrap(True)
        set_by_name(self.empty, "alignment", "AlignCenter")
        set_by_name(self.empty, "textInteractionFlags", "TextSelectableByMouse")
        self.unreadable = QtWidgets.QLabel(
            "This result cannot be read (see above). Choose "
            "another, or mend the file and press Refresh."
        )
        self.unreadable.setWordWrap(True)
        set_by_name(self.unreadable, "alignment", "AlignCenter")
        self._lay_out()
        self._connect()

    def _connect(self) -> None:
        self.results.currentRowChanged.connect(self._show_row)
        self.measure.currentIndexChanged.connect(lambda _i: self._draw())
        self.open_button.clicked.connect(self.choose_file)
        self.refresh_button.clicked.connect(self.refresh)
        self.delete_button.clicked.connect(self.ask_to_delete)
        delete = QtGui.QShortcut(
            QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Delete),
            self.results,
            self.ask_to_delete,
        )
        delete.setContext(QtCore.Qt.ShortcutContext.WidgetShortcut)
        self.run_button.clicked.connect(self.open_form)
        self.progress.cancel_requested.connect(self.cancel)

    def _lay_out(self) -> None:
        side = QtWidgets.QWidget()
        side_layout = QtWidgets.QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        # The folder's path would widen the list to its length; it is in the tooltip and
        # in the empty state's text.
        title = QtWidgets.QLabel("Benchmark results:")
        title.setToolTip(f"Saved in the database, and the files in {self.folder}")
        side_layout.addWidget(title)
        side_layout.addWidget(self.listing_notice)
        side_layout.addWidget(self.results, 1)
        buttons = QtWidgets.QGridLayout()
        buttons.addWidget(self.run_button, 0, 0, 1, 3)
        for column, button in enumerate(
            (self.open_button, self.refresh_button, self.delete_button)
        ):
            buttons.addWidget(button, 1, column)
        side_layout.addLayout(buttons)
        chooser = QtWidgets.QHBoxLayout()
        label = QtWidgets.QLabel("&Show")
        label.setBuddy(self.measure)
        chooser.addWidget(label)
        chooser.addWidget(self.measure)
        chooser.addStretch(1)
        details = QtWidgets.QWidget()
        details_layout = QtWidgets.QVBoxLayout(details)
        details_layout.setContentsMargins(0, 0, 0, 0)
        details_layout.addWidget(self.heading)
        details_layout.addLayout(chooser)
        plots = QtWidgets.QSplitter()
        set_by_name(plots, "orientation", "Vertical")
        plots.addWidget(self.chart)
        plots.addWidget(self.table)
        plots.setStretchFactor(0, 3)
        plots.setStretchFactor(1, 1)
        details_layout.addWidget(plots, 1)
        self.pages = QtWidgets.QStackedWidget()
        for page in (self.empty, self.unreadable, details):
            self.pages.addWidget(page)
        self.details = details
        right = QtWidgets.QWidget()
        right_layout = QtWidgets.QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.notice)
        right_layout.addWidget(self.pages, 1)
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(side)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([280, 820])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.progress)
        layout.addWidget(splitter, 1)

    # --- listing --------------------------------------------------------------------------

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self.listing is None:
            call_on_loop(self, self.refresh)  # shown with the window, before the loop runs

    def refresh(self) -> asyncio.Task[None]:
        """Read the database's results and the results folder again."""
        self.listing = self._tasks.start(self._refresh(), "list benchmark results")
        return self.listing

    async def _refresh(self, select: Path | None = None) -> None:
        listing: ResultListing = await asyncio.to_thread(
            read_results, self.folder, self._open_store
        )
        say(self.listing_notice, listing.problem or "", "warning")
        opened = {entry.path for entry in self._opened}
        entries = self._opened + [e for e in listing.entries if e.path not in opened]
        rows = [
            index
            for index, entry in enumerate(entries)
            if select is not None and entry.path == select
        ]
        self._list(entries, rows[0] if rows else 0)

    def _list(self, entries: list[ListedResult], current: int = 0) -> None:
        """List ``entries`` and show the one at ``current``."""
        self.entries = entries
        self.results.blockSignals(True)  # the selection is set once, below
        self.results.clear()
        for entry in entries:
            item = QtWidgets.QListWidgetItem(_describe(entry))
            item.setToolTip(entry.problem or str(entry.path or "saved in the database"))
            if entry.problem is not None:
                item.setForeground(meaning_colour("error", self.palette()))
            self.results.addItem(item)
        self.results.blockSignals(False)
        if entries:
            self.results.setCurrentRow(current)
            self._show_row(current)
        else:
            self._show_nothing()

    def current_entry(self) -> ListedResult | None:
        row = self.results.currentRow()
        return self.entries[row] if 0 <= row < len(self.entries) else None

    # --- opening --------------------------------------------------------------------------

    def choose_file(self) -> QtWidgets.QFileDialog:
        """Ask for a result file, without blocking the event loop."""
        dialog = QtWidgets.QFileDialog(
            self, "Open benchmark results", str(self.folder), RESULT_FILTER
        )
        dialog.setFileMode(QtWidgets.QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda chosen: self.open_file(Path(chosen)))
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def open_file(self, path: Path) -> asyncio.Task[None]:
        """Read ``path`` and show it at the top of the list; say why if it cannot be read."""
        return self._tasks.start(self._open(path), f"open {path.name}")

    async def _open(self, path: Path) -> None:
        try:
            result = await asyncio.to_thread(load_improvement, path)
        except ImprovementFileError as exc:
            say(self.notice, str(exc))
            return
        now = datetime.now().timestamp()
        entry = ListedResult(now, file=ResultFile(path, now, result))
        self._opened = [entry, *(o for o in self._opened if o.path != path)]
        self._list([entry, *(e for e in self.entries if e.path != path)])

    # --- showing --------------------------------------------------------------------------

    def _show_row(self, row: int) -> None:
        if not 0 <= row < len(self.entries):
            return
        entry = self.entries[row]
        self._allow_delete(entry)
        say(self.notice, "")  # what was said of the result shown before
        if entry.saved is None:
            self._show_read(entry.result or entry.problem or "")
            return
        read = self._read.get(entry.saved)
        if read is None:
            self.reading = self._tasks.start(self._read_saved(entry), "read a benchmark result")
        else:
            self._show_read(read)

    async def _read_saved(self, entry: ListedResult) -> None:
        from purpose_desktop.store.improvement_store import ImprovementStore

        saved, open_store = entry.saved, self._open_store
        assert saved is not None and open_store is not None  # listed from that store
        try:
            read: ImprovementResult | str = await asyncio.to_thread(
                lambda: ImprovementStore(open_store().engine).load(saved.id)
            )
        except UserError as exc:
            read = str(exc)
        self._read[saved] = read
        if self.current_entry() is entry:  # not since replaced by another choice
            self._show_read(read)

    def _show_read(self, read: ImprovementResult | str) -> None:
        """A result, or why it cannot be read."""
        if isinstance(read, str):
            say(self.notice, read)
            self.shown = None
            self.pages.setCurrentWidget(self.unreadable)
        else:
            self._show(read)

    def _allow_delete(self, entry: ListedResult | None) -> None:
        saved = entry is not None and entry.saved is not None
        self.delete_button.setEnabled(saved)
        self.delete_button.setToolTip(
            "Forget this result, and remove its file"
            if saved
            else "Results saved in the database are deleted here; a file alone is yours to remove"
        )

    def _show_nothing(self) -> None:
        self.shown = None
        self._allow_delete(None)
        say(self.notice, "")
        self.pages.setCurrentWidget(self.empty)

    def _show(self, result: ImprovementResult) -> None:
        self.shown = result
        team = f" · team {result.team}" if result.team else ""
        model = f" · {result.model}" if result.model else ""
        self.heading.setText(
            f"<b>{html.escape(result.suite)}</b>{html.escape(team)}"
            f"{html.escape(model)} · {_when(result.created)}"
        )
        self.pages.setCurrentWidget(self.details)
        self._draw()

    def _draw(self) -> None:
        result = self.shown
        if result is None:
            return
        metric = METRICS[self.measure.currentIndex()]
        text = VALUE_TEXT[metric.name]
        # The table has room for every digit of a count, which the axis rounds to 3.46k.
        cell_text = (lambda value: f"{value:,.0f}") if metric.whole else text
        curves = [Curve(series.name, series.points(metric.name)) for series in result.series]
        self.chart.show_curves(curves, y_title=metric.label, bounds=metric.bounds, value_text=text)
        iterations = sorted({i for curve in curves for i, _ in curve.points})
        table = self.table
        table.setColumnCount(1 + len(curves))
        table.setHorizontalHeaderLabels(["Iteration", *(curve.name for curve in curves)])
        table.setRowCount(len(iterations))
        for row, iteration in enumerate(iterations):
            table.setItem(row, 0, QtWidgets.QTableWidgetItem(str(iteration)))
            for column, curve in enumerate(curves, start=1):
                value = dict(curve.points).get(iteration)
                table.setItem(
                    row,
                    column,
                    QtWidgets.QTableWidgetItem("" if value is None else cell_text(value)),
                )
        table.resizeColumnsToContents()

    # --- running --------------------------------------------------------------------------

    def open_form(self) -> BenchmarkForm | None:
        """Open the form that sets up a benchmark, without blocking the event loop; ``None``
        when the pane cannot run one, or one is under way."""
        setup = self._setup
        if setup is None or self.running is not None:
            return None
        if self.form is not None:
            self.form.raise_()
            self.form.activateWindow()
            return self.form
        from purpose_desktop.ui.benchmarks.form import BenchmarkForm

        form = BenchmarkForm(self, setup.user_suites)
        form.submitted.connect(self.start)
        form.finished.connect(lambda _result: self._form_closed(form))
        self.form = form
        form.open()
        self._tasks.start(self._fill(form, setup), "read suites and teams")
        return form

    async def _fill(self, form: BenchmarkForm, setup: BenchmarkSetup) -> None:
        choices = await asyncio.to_thread(read_choices, setup)
        if self.form is form:
            form.show_choices(choices)

    def _form_closed(self, form: BenchmarkForm) -> None:
        if self.form is form:
            self.form = None
        form.deleteLater()

    def start(self, request: BenchmarkRequest) -> asyncio.Task[None] | None:
        """Run ``request``, with its progress shown; ``None`` if one is under way already."""
        if self._setup is None or self.running is not None:
            return None
        if self.form is not None:
            self.form.accept()
        say(self.notice, "")
        self.run_button.setEnabled(False)
        self.progress.start(request)
        self.running = self._tasks.start(self._run(request, self._setup), "run a benchmark")
        return self.running

    def cancel(self) -> None:
        """Stop the benchmark under way; nothing of it is saved. Once its last task run is
        over, only saving is left, and it goes on (Cancel is disabled then)."""
        if self.running is not None and self.progress.cancel_button.isEnabled():
            self.progress.cancelling()
            self.running.cancel()

    async def _run(self, request: BenchmarkRequest, setup: BenchmarkSetup) -> None:
        try:
            done = await run_benchmark(
                request, setup, self.folder, self._open_store, self.progress.advance
            )
        except asyncio.CancelledError:
            say(
                self.notice,
                f"The benchmark was cancelled after {self.progress.done} of "
                f"{self.progress.bar.maximum()} task runs; nothing was saved.",
                "warning",
            )
            raise
        except UserError as exc:
            say(self.notice, f"The benchmark could not run: {exc}")
            return
        except Exception as exc:  # anything else still ends the run with a message
            log.exception("The benchmark stopped")
            say(
                self.notice, f"The benchmark stopped with an error: {exc}. The log has the details."
            )
            return
        finally:
            # Over before the result is listed: there is nothing left to cancel.
            self.running = None
            self.progress.hide()
            self.run_button.setEnabled(True)
        await self._finished(done)

    async def _finished(self, done: BenchmarkDone) -> None:
        kept = done.kept
        if kept.saved is not None:
            self._read[kept.saved] = done.result
        await self._refresh(select=kept.file)
        if kept.problem is not None:
            say(self.notice, kept.problem, "warning")
            return
        where = "in the database and " if kept.saved is not None else ""
        say(
            self.notice,
            f"The benchmark finished. Its result is saved {where}as {kept.file.name}"
            " in the benchmarks folder.",
            "success",
        )

    # --- deleting -------------------------------------------------------------------------

    def _own_file(self, saved: SavedImprovement) -> Path | None:
        """The JSON file saved with ``saved``, when it is in the benchmarks folder: one saved
        elsewhere (``--out``), or on another machine that shares the database, is left."""
        if saved.file is not None and saved.file.parent == self.folder:
            return saved.file
        return None

    def ask_to_delete(self) -> QtWidgets.QMessageBox | None:
        """Ask, without blocking, whether to delete the selected result from the database."""
        entry = self.current_entry()
        if entry is None or entry.saved is None:
            return None
        saved = entry.saved
        own = self._own_file(saved)
        file = "" if own is None else f" Its file {own} is removed too."
        box = message_box(
            self,
            QtWidgets.QMessageBox.Icon.Question,
            "Delete benchmark result",
            f"Delete the result of {saved.suite} by {saved.team}, {_when(saved.created)}?",
            f"It is forgotten for good.{file}",
        )
        delete = box.addButton("Delete", QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel))
        box.finished.connect(
            lambda _result: self._answered(box, box.clickedButton() is delete, entry)
        )
        self.confirmation = box
        box.open()
        return box

    def _answered(self, box: QtWidgets.QMessageBox, delete: bool, entry: ListedResult) -> None:
        if self.confirmation is box:
            self.confirmation = None
        box.deleteLater()
        if delete:
            self._tasks.start(self._delete(entry), "delete a benchmark result")

    async def _delete(self, entry: ListedResult) -> None:
        from purpose_desktop.store.improvement_store import ImprovementStore

        saved, open_store = entry.saved, self._open_store
        assert saved is not None and open_store is not None  # listed from that store

        own = self._own_file(saved)

        def delete() -> None:
            ImprovementStore(open_store().engine).delete(saved.id)
            if own is not None:
                own.unlink(missing_ok=True)

        try:
            await asyncio.to_thread(delete)
        except (UserError, OSError) as exc:
            say(self.notice, f"The result could not be deleted: {exc}")
            return
        await self._refresh()
        say(self.notice, f"Deleted the result of {saved.suite} by {saved.team}.", "success")


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _describe(entry: ListedResult) -> str:
    described = entry.saved or entry.result
    if described is None:
        name = "" if entry.path is None else entry.path.name
        return f"{name} (cannot be read)"
    team = f" · {described.team}" if described.team else ""
    return f"{described.suite}{team} · {_when(described.created)}"
