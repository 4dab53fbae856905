"""What the Benchmarks pane does, apart from showing it: listing and reading results through
the benchmark service, opening result files, the form that sets up a benchmark and the
benchmark it starts, and the question before a result is deleted.

The pane (:class:`~purpose_desktop.ui.benchmarks.pane.BenchmarkPane`) shows what this
controller's signals say and asks it for the rest. Every call to the service goes through
:class:`~purpose_desktop.ui.operations.Operations`, so nothing here waits on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.engine.learning.improvement import ImprovementResult, ResultFile
from purpose_desktop.errors import UserError
from purpose_desktop.services.benchmark_listing import ListedResult, ResultListing
from purpose_desktop.ui.operations import Operations
from purpose_desktop.ui.qt import QtCore, QtWidgets, Signal
from purpose_desktop.ui.tasks import TaskKeeper
from purpose_desktop.ui.team.questions import message_box

if TYPE_CHECKING:
    # The form and the engine are imported when first needed: the pane may be made as the
    # window starts, which does not wait for them.
    from purpose_desktop.engine.evaluation.runner import Progress
    from purpose_desktop.engine.learning.kept_results import SavedImprovement
    from purpose_desktop.services.benchmarks import (
        BenchmarkDone,
        BenchmarkRequest,
        BenchmarkService,
    )
    from purpose_desktop.ui.benchmarks.form import BenchmarkForm

log = logging.getLogger(__name__)

LISTING = "list benchmark results"


class BenchmarkStopped(UserError):
    """A benchmark ended by a failure that is not the person's to fix; the log has it."""


class BenchmarkController(QtCore.QObject):
    """The Benchmarks pane's work: what it lists (:attr:`entries`), the results it reads, the
    benchmark under way and the dialogs it opens."""

    listed = Signal(int)
    """:attr:`entries` changed; the row to show."""
    listing_problem = Signal(str)
    """Why the database's results are not listed (empty: they are)."""
    result_read = Signal(object, object)
    """A :class:`ListedResult` and its :class:`ImprovementResult`, or why it cannot be read."""
    said = Signal(str, str)
    """A notice for the person and its meaning (``error``, ``warning``, ``success``); an
    empty text takes the last one away."""
    run_started = Signal(object)
    """The :class:`BenchmarkRequest` now running."""
    progressed = Signal(object)
    """The :class:`Progress` after a task run."""
    cancelling = Signal()
    run_over = Signal()
    """The benchmark under way ended, however it did; nothing is left to cancel."""

    def __init__(
        self,
        tasks: TaskKeeper,
        service: BenchmarkService,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self._operations = Operations(tasks)
        self.entries: list[ListedResult] = []
        """What the list shows: files opened with Open… first, then the rest, newest first."""
        self._opened: list[ListedResult] = []
        # The database's results read so far: the result, or why it cannot be read. Keyed by
        # the whole listing, not the id alone, which SQLite gives again after a deletion.
        self._read: dict[SavedImprovement, ImprovementResult | str] = {}
        self.form: BenchmarkForm | None = None
        self.confirmation: QtWidgets.QMessageBox | None = None
        self.listing: asyncio.Task[None] | None = None
        """The latest reading of the list, once one has started."""
        self.reading: asyncio.Task[None] | None = None
        """The latest reading of a result from the database."""
        self.running: asyncio.Task[None] | None = None
        """The benchmark under way."""
        self._request: BenchmarkRequest | None = None
        self._progress: Progress | None = None

    # --- listing ----------------------------------------------------------------------------

    def refresh(self) -> asyncio.Task[None]:
        """Read the database's results and the results folder again."""
        self.listing = self._operations.run(
            LISTING,
            self.service.list_results,
            done=self._show_listing,
            failed=lambda exc: self.listing_problem.emit(str(exc)),
            latest=True,
        )
        return self.listing

    def _show_listing(self, listing: ResultListing, select: Path | None = None) -> None:
        self.listing_problem.emit(listing.problem or "")
        opened = {entry.path for entry in self._opened}
        entries = self._opened + [e for e in listing.entries if e.path not in opened]
        rows = [
            index
            for index, entry in enumerate(entries)
            if select is not None and entry.path == select
        ]
        self._list(entries, rows[0] if rows else 0)

    def _list(self, entries: list[ListedResult], current: int = 0) -> None:
        self.entries = entries
        self.listed.emit(current)

    def open_file(self, path: Path) -> asyncio.Task[None]:
        """Read ``path`` and list it first; say why if it cannot be read."""
        return self._operations.run(
            f"open {path.name}",
            lambda: self.service.read_file(path),
            done=lambda result: self._opened_file(path, result),
            failed=self._say,
        )

    def _opened_file(self, path: Path, result: ImprovementResult) -> None:
        now = datetime.now().timestamp()
        entry = ListedResult(now, file=ResultFile(path, now, result))
        self._opened = [entry, *(o for o in self._opened if o.path != path)]
        self._list([entry, *(e for e in self.entries if e.path != path)])

    # --- reading ----------------------------------------------------------------------------

    def read(self, entry: ListedResult) -> None:
        """Say :attr:`result_read` for ``entry``: at once for a file, or once its result is
        read from the database (once: it is kept)."""
        saved = entry.saved
        if saved is None:
            self.result_read.emit(entry, entry.result or entry.problem or "")
        elif (read := self._read.get(saved)) is not None:
            self.result_read.emit(entry, read)
        else:
            self.reading = self._operations.run(
                "read a benchmark result",
                lambda: self.service.read_saved(saved),
                done=lambda result: self._was_read(entry, saved, result),
                failed=lambda exc: self._was_read(entry, saved, str(exc)),
            )

    def _was_read(
        self, entry: ListedResult, saved: SavedImprovement, read: ImprovementResult | str
    ) -> None:
        self._read[saved] = read
        self.result_read.emit(entry, read)

    # --- running ----------------------------------------------------------------------------

    def open_form(self, parent: QtWidgets.QWidget) -> BenchmarkForm | None:
        """Open the form that sets up a benchmark, without blocking the event loop; ``None``
        when no benchmark can be run, or one is under way."""
        suites, teams = self.service.user_suites, self.service.user_teams
        if suites is None or teams is None or self.running is not None:
            return None
        if self.form is not None:
            self.form.raise_()
            self.form.activateWindow()
            return self.form
        from purpose_desktop.ui.benchmarks.form import BenchmarkForm

        form = BenchmarkForm(parent, suites, teams)
        form.submitted.connect(self.start)
        form.finished.connect(lambda _result: self._form_closed(form))
        self.form = form
        form.open()
        self._operations.run(
            "read suites and teams",
            self.service.choices,
            done=lambda choices: form.show_choices(choices) if self.form is form else None,
            failed=self._say,
        )
        return form

    def _form_closed(self, form: BenchmarkForm) -> None:
        if self.form is form:
            self.form = None
        form.deleteLater()

    def start(self, request: BenchmarkRequest) -> asyncio.Task[None] | None:
        """Run ``request``, with its progress shown; ``None`` if none can be run or one is
        under way already."""
        if not self.service.can_run or self.running is not None:
            return None
        if self.form is not None:
            self.form.accept()
        self._say_text("")
        self._request, self._progress = request, None
        self.run_started.emit(request)
        self.running = self._operations.run(
            "run a benchmark",
            lambda: self._run_and_list(request),
            done=self._finished,
            failed=self._failed,
        )
        self.running.add_done_callback(self._ended)
        return self.running

    def cancel(self) -> None:
        """Stop the benchmark under way; nothing of it is saved. Once its last task run is
        over, only saving is left, and it goes on."""
        if self.running is not None and not self._saving():
            self.cancelling.emit()
            self.running.cancel()

    def _saving(self) -> bool:
        progress = self._progress
        return progress is not None and progress.done >= progress.total

    def _advance(self, progress: Progress) -> None:
        self._progress = progress
        self.progressed.emit(progress)

    async def _run_and_list(self, request: BenchmarkRequest) -> tuple[BenchmarkDone, ResultListing]:
        try:
            done = await self.service.run(request, self._advance)
        except (UserError, asyncio.CancelledError):
            raise
        except Exception as exc:
            # A model that broke, say: the pane names it rather than the error dialog, and
            # the window goes on.
            log.exception("The benchmark stopped")
            raise BenchmarkStopped(
                f"The benchmark stopped with an error: {exc}. The log has the details."
            ) from exc
        return done, await self.service.list_results()

    def _finished(self, outcome: tuple[BenchmarkDone, ResultListing]) -> None:
        done, listing = outcome
        self._settle()  # over before the result is listed: there is nothing left to cancel
        kept = done.kept
        if kept.saved is not None:
            self._read[kept.saved] = done.result
        self._show_listing(listing, select=kept.file)
        if kept.problem is not None:
            self._say_text(kept.problem, "warning")
            return
        where = "in the database and " if kept.saved is not None else ""
        self._say_text(
            f"The benchmark finished. Its result is saved {where}as {kept.file.name}"
            " in the benchmarks folder.",
            "success",
        )

    def _failed(self, exc: UserError) -> None:
        self._settle()
        if isinstance(exc, BenchmarkStopped):
            self._say(exc)
        else:
            self._say_text(f"The benchmark could not run: {exc}")

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() and self.running is task:
            request, progress = self._request, self._progress
            assert request is not None
            done = 0 if progress is None else progress.done
            total = request.task_runs if progress is None else progress.total
            self._say_text(
                f"The benchmark was cancelled after {done} of {total} task runs; "
                "nothing was saved.",
                "warning",
            )
        self._settle()

    def _settle(self) -> None:
        if self.running is not None:
            self.running = None
            self.run_over.emit()

    # --- deleting ---------------------------------------------------------------------------

    def ask_to_delete(
        self, entry: ListedResult | None, parent: QtWidgets.QWidget
    ) -> QtWidgets.QMessageBox | None:
        """Ask, without blocking, whether to delete ``entry`` from the database; ``None`` if
        it is not saved there."""
        if entry is None or entry.saved is None:
            return None
        saved = entry.saved
        own = self.service.own_file(saved)
        file = "" if own is None else f" Its file {own} is removed too."
        box = message_box(
            parent,
            QtWidgets.QMessageBox.Icon.Question,
            "Delete benchmark result",
            f"Delete the result of {saved.suite} by {saved.team}, {when(saved.created)}?",
            f"It is forgotten for good.{file}",
        )
        delete = box.addButton("Delete", QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel))
        box.finished.connect(
            lambda _result: self._answered(box, box.clickedButton() is delete, saved)
        )
        self.confirmation = box
        box.open()
        return box

    def _answered(self, box: QtWidgets.QMessageBox, delete: bool, saved: SavedImprovement) -> None:
        if self.confirmation is box:
            self.confirmation = None
        box.deleteLater()
        if delete:
            self._operations.run(
                "delete a benchmark result",
                lambda: self._delete_and_list(saved),
                done=lambda listing: self._deleted(saved, listing),
                failed=self._say,
            )

    async def _delete_and_list(self, saved: SavedImprovement) -> ResultListing:
        await self.service.delete(saved)
        return await self.service.list_results()

    def _deleted(self, saved: SavedImprovement, listing: ResultListing) -> None:
        self._show_listing(listing)
        self._say_text(f"Deleted the result of {saved.suite} by {saved.team}.", "success")

    # --- helpers ----------------------------------------------------------------------------

    def _say(self, exc: UserError) -> None:
        self._say_text(str(exc))

    def _say_text(self, text: str, meaning: str = "error") -> None:
        self.said.emit(text, meaning)


def when(moment: datetime) -> str:
    """A result's time as the list and the questions write it."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")
