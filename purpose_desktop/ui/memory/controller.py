"""What the memory browser asks for, done: pages read, heuristics edited, written by hand,
pinned and deleted, experiences deleted, the run an experience came from, and what each step
of a recorded run was given, all through the memory service.

Every call runs off the event loop through the pane's :class:`Operations`; a read asked for
again replaces the one under way. Nothing here is modal: the edit form and the question before
deleting open with ``open()`` and answer through signals, so runs go on streaming. A write that
fails (a full disk, a database locked by another program) is reported where it was asked for,
and the edit form keeps what was typed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from purpose_desktop.ui.memory.browser import NOTHING_LEARNED, MemoryBrowser
from purpose_desktop.ui.memory.forms import HeuristicDraft, HeuristicForm
from purpose_desktop.ui.memory.table import PAGE_SIZE, PagedListing, counted, select_ids
from purpose_desktop.ui.operations import Operations
from purpose_desktop.ui.qt import QtCore, QtWidgets
from purpose_desktop.ui.tasks import TaskKeeper

if TYPE_CHECKING:
    from purpose_desktop.engine.events import MemoryRetrieved
    from purpose_desktop.engine.learning.memory import Experience, Heuristic
    from purpose_desktop.services.memory import MemoryPage, MemoryService, StepMemories

#: Recorded runs offered to choose a step from.
RECENT_RUNS = 100
NO_DATABASE = "No database is open, so there is no memory to show."
# The readings a newer one of the same name replaces.
_READINGS = (
    "refresh",
    "load heuristics",
    "load experiences",
    "trajectory",
    "runs",
    "steps",
    "step memories",
)

Save = Callable[[HeuristicDraft], Awaitable[tuple[str, int | None]]]
"""Writes a form's draft; what to say once it is saved, and the id of the heuristic to select."""


class MemoryController(QtCore.QObject):
    """Drives ``browser`` over ``memory`` (``None``: no database, nothing to show). Call
    :meth:`refresh` whenever the browser is shown (the first call opens the database) and when
    the memory may have changed, and :meth:`set_team` with the app's current team."""

    def __init__(
        self, browser: MemoryBrowser, memory: MemoryService | None, tasks: TaskKeeper
    ) -> None:
        super().__init__(browser)
        self.browser = browser
        self._memory = memory
        self._operations = Operations(tasks)
        self._opened = False  # a reading succeeded: the database is open
        self._app_team: str | None = None
        self.form: HeuristicForm | None = None
        """The edit or inject form while it is open."""
        self.confirmation: QtWidgets.QMessageBox | None = None
        """The question before deleting, while it is asked."""
        self.heuristics = PagedListing(
            self._operations,
            "load heuristics",
            self._heuristic_page,
            model=browser.heuristic_model,
            pager=browser.heuristic_pager,
            parent=self,
        )
        self.experiences = PagedListing(
            self._operations,
            "load experiences",
            self._experience_page,
            model=browser.experience_model,
            pager=browser.experience_pager,
            parent=self,
        )
        self._connect()

    def _connect(self) -> None:
        browser = self.browser
        browser.refresh_button.clicked.connect(self.refresh)
        browser.search_requested.connect(self.search)
        browser.heuristic_filters_changed.connect(self._show_heuristics)
        browser.experience_filters_changed.connect(self._show_experiences)
        browser.experience_chosen.connect(self._read_trajectory)
        browser.retrieved_shown.connect(self._retrieved_shown)
        browser.edit_requested.connect(self.edit_selected)
        browser.inject_requested.connect(self.inject)
        browser.pin_requested.connect(self.toggle_pin)
        browser.delete_requested.connect(self.ask_to_delete)
        for listing in (self.heuristics, self.experiences):
            listing.failed.connect(lambda message: browser.say(message, "error"))
        self.heuristics.loaded.connect(
            lambda: self._loaded(browser.heuristic_view, self.heuristics)
        )
        self.experiences.loaded.connect(
            lambda: self._loaded(browser.experience_view, self.experiences)
        )
        browser.retrieved.refresh_requested.connect(self._list_runs)
        browser.retrieved.run_chosen.connect(self._read_steps)
        browser.retrieved.step_chosen.connect(self._read_step_memories)

    @property
    def reading(self) -> bool:
        """Whether the memory is being read (a write may still be under way)."""
        return any(self._operations.busy(name) for name in _READINGS)

    def _open_memory(self) -> MemoryService | None:
        """The memory, once a reading found the database open (changes wait until then)."""
        return self._memory if self._opened else None

    # --- reading -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the teams and the pages shown again, since runs change the memory; the first
        call opens the database (so does the next one, after an opening that failed)."""
        memory = self._memory
        if memory is None:
            self.browser.say(NO_DATABASE, "hint")
            return
        if not self._opened:
            if self._operations.busy("refresh"):
                return  # the opening under way shows what it finds
            self.browser.say("Opening the database…", "hint")
        self._operations.run(
            "refresh",
            memory.teams,
            done=self._teams_read,
            failed=lambda exc: self.browser.say(f"The memory cannot be read: {exc}", "error"),
            latest=True,
        )

    def set_team(self, team: str) -> None:
        """The app's current team: shown now, and whenever it changes."""
        self._app_team = team
        if self._opened and self._choose_team(self.browser.teams_listed(), team):
            self.search()

    def search(self) -> None:
        """Show the first pages of what the search and filters choose."""
        self._show_heuristics()
        self._show_experiences()

    def _teams_read(self, teams: Sequence[str]) -> None:
        browser = self.browser
        if not self._opened:
            self._opened = True
            browser.say("", "hint")
            browser.set_writable(True)
        changed = self._choose_team(teams, browser.team or self._app_team)
        if browser.team not in teams:
            browser.say(NOTHING_LEARNED, "hint")
        elif browser.status_line.text() == NOTHING_LEARNED:
            browser.say("", "hint")  # it has learned since
        if changed or self.heuristics.query is None:
            self.search()
        else:
            self.heuristics.reload([h.id or 0 for h in browser.selected_heuristics()])
            self.experiences.reload([e.id or 0 for e in browser.selected_experiences()])
        if browser.on_retrieved():
            self._list_runs()

    def _choose_team(self, teams: Sequence[str], chosen: str | None) -> bool:
        """List ``teams`` (and the app's team, which may have no memory yet), choosing
        ``chosen``; whether the team shown changed."""
        names = sorted({*teams, *([self._app_team] if self._app_team else [])})
        changed = self.browser.list_teams(names, chosen)
        self.browser.update_buttons()
        return changed

    def _show_heuristics(self) -> None:
        query = self.browser.heuristic_query()
        if query is not None and self._opened:
            self.heuristics.show(query, self.browser.heuristic_order_chosen())

    def _show_experiences(self) -> None:
        query = self.browser.experience_query()
        if query is not None and self._opened:
            self.experiences.show(query, self.browser.experience_order_chosen())

    # The listings hand back the query and order they were given.
    async def _heuristic_page(
        self, query: Any, order: Any, page: int, total: int | None
    ) -> MemoryPage[Heuristic]:
        assert self._memory is not None  # pages are read once the database is open
        return await self._memory.heuristics(query, order, page, PAGE_SIZE, total)

    async def _experience_page(
        self, query: Any, order: Any, page: int, total: int | None
    ) -> MemoryPage[Experience]:
        assert self._memory is not None
        return await self._memory.experiences(query, order, page, PAGE_SIZE, total)

    def _loaded(self, view: QtWidgets.QTableView, listing: PagedListing) -> None:
        select_ids(view, listing.model, listing.selected_ids)
        self.browser.selection_changed()

    def _read_trajectory(self, experience: Experience) -> None:
        memory = self._open_memory()
        if memory is None:
            return
        self._operations.run(
            "trajectory",
            lambda: memory.source_run(experience),
            done=lambda run: self.browser.show_trajectory(experience, run),
            failed=lambda exc: self.browser.say(str(exc), "error"),
            latest=True,
        )

    # --- editing ---------------------------------------------------------------------------

    def edit_selected(self) -> None:
        """Open the form on the current heuristic (Enter)."""
        heuristic = self.browser.current_heuristic()
        memory = self._open_memory()
        if memory is None or heuristic is None or heuristic.id is None:
            return
        heuristic_id = heuristic.id
        rate = heuristic.success_rate
        intro = (
            f"Heuristic #{heuristic.id} of {heuristic.team}: Q {heuristic.q_value:.2f}, "
            f"used {counted(heuristic.uses, 'time')}"
            + (f" ({rate:.0%} successful)" if rate is not None else "")
            + f", source {heuristic.source}. Its Q-value, counts and runs stay as they are."
        )

        async def save(draft: HeuristicDraft) -> tuple[str, int | None]:
            edited = await memory.edit_heuristic(
                heuristic_id,
                tier=draft.tier,
                pattern=draft.pattern,
                strategy=draft.strategy,
                pinned=draft.pinned,
            )
            return f"Saved heuristic #{edited.id}.", edited.id

        self._open_form("Edit heuristic", intro, HeuristicDraft.of(heuristic), save)

    def inject(self) -> None:
        """Open the form for a new heuristic written by hand."""
        team = self.browser.team
        memory = self._open_memory()
        if memory is None or team is None:
            return
        intro = (
            f"A heuristic for {team}, written by you (source: human). It starts at Q 0.50 "
            "and moves with the runs that use it, like any other."
        )

        async def save(draft: HeuristicDraft) -> tuple[str, int | None]:
            injected = await memory.inject_heuristic(
                team,
                tier=draft.tier,
                pattern=draft.pattern,
                strategy=draft.strategy,
                pinned=draft.pinned,
            )
            stored = injected.heuristic
            if injected.as_written:
                return f"Injected heuristic #{stored.id}.", stored.id
            return (
                f"The team already had this heuristic (#{stored.id}); it is kept as it was.",
                stored.id,
            )

        self._open_form("Inject heuristic", intro, None, save)

    def _open_form(self, title: str, intro: str, draft: HeuristicDraft | None, save: Save) -> None:
        form = HeuristicForm(self.browser, title=title, intro=intro, draft=draft)
        form.submitted.connect(
            lambda chosen: self._operations.run(
                title,
                lambda: save(chosen),
                done=lambda saved: self._form_saved(form, *saved),
                failed=lambda exc: self._form_failed(form, str(exc)),
            )
        )
        form.finished.connect(lambda _result: self._form_closed(form))
        self.form = form
        form.open()

    def _form_closed(self, form: HeuristicForm) -> None:
        if self.form is form:
            self.form = None
        form.deleteLater()

    def _form_saved(self, form: HeuristicForm, message: str, memory_id: int | None) -> None:
        if self.form is form:
            form.saved()
        self.browser.say(message, "success")
        self.heuristics.reload([memory_id] if memory_id is not None else [])

    def _form_failed(self, form: HeuristicForm, message: str) -> None:
        if self.form is form:
            form.show_error(message)
        else:  # closed while it was being saved: say so here instead
            self.browser.say(f"Not saved: {message}", "error")

    def toggle_pin(self) -> None:
        """Pin the selected heuristics, or unpin them if all are pinned."""
        chosen = self.browser.selected_heuristics()
        memory = self._open_memory()
        if memory is None or not chosen:
            return
        pin = not all(h.pinned for h in chosen)
        ids = [h.id for h in chosen if h.id is not None]
        done = f"{'Pinned' if pin else 'Unpinned'} {counted(len(ids), 'heuristic')}."

        def pinned(ok: bool, message: str) -> None:
            self.browser.say(message, "success" if ok else "error")
            self.heuristics.reload(ids)

        self._operations.run(
            "pin heuristics",
            lambda: memory.set_pinned(ids, pin),
            done=lambda _: pinned(True, done),
            failed=lambda exc: pinned(False, str(exc)),
        )

    # --- deleting --------------------------------------------------------------------------

    def ask_to_delete(self) -> None:
        """Ask, without blocking, whether to delete the selected memories of the tab shown."""
        browser = self.browser
        on_heuristics = browser.on_heuristics()
        chosen: Sequence[Heuristic | Experience] = (
            browser.selected_heuristics() if on_heuristics else browser.selected_experiences()
        )
        if not self._opened or not chosen or browser.on_retrieved():
            return
        noun = "heuristic" if on_heuristics else "experience"
        what = f"{noun} #{chosen[0].id}" if len(chosen) == 1 else counted(len(chosen), noun)
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Question,
            f"Delete {noun}s",
            f"Delete {what}? The team forgets {'it' if len(chosen) == 1 else 'them'} for good.",
            QtWidgets.QMessageBox.StandardButton.NoButton,
            browser,
        )
        box.setObjectName("deleteMemories")
        delete = box.addButton("Delete", QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel))
        ids = [m.id for m in chosen if m.id is not None]
        box.finished.connect(
            lambda _result: self._answered(box, box.clickedButton() is delete, on_heuristics, ids)
        )
        self.confirmation = box
        box.open()

    def _answered(
        self, box: QtWidgets.QMessageBox, delete: bool, heuristics: bool, ids: list[int]
    ) -> None:
        if self.confirmation is box:
            self.confirmation = None
        box.deleteLater()
        memory = self._open_memory()
        if not delete or memory is None:
            return
        listing, noun = (
            (self.heuristics, "heuristic") if heuristics else (self.experiences, "experience")
        )
        forget = memory.delete_heuristics if heuristics else memory.delete_experiences

        def deleted(count: int) -> None:
            self.browser.say(f"Deleted {counted(count, noun)}.", "success")
            listing.reload()

        self._operations.run(
            "delete memories",
            lambda: forget(ids),
            done=deleted,
            failed=lambda exc: self.browser.say(str(exc), "error"),
        )

    # --- retrieved for a step ------------------------------------------------------------

    def _retrieved_shown(self) -> None:
        if not self.browser.retrieved.runs:
            self._list_runs()

    def _list_runs(self) -> None:
        memory, view = self._open_memory(), self.browser.retrieved
        if memory is None:
            return
        self._operations.run(
            "runs",
            lambda: memory.recent_runs(RECENT_RUNS),
            done=view.show_runs,
            failed=lambda exc: view.show_error(f"The runs cannot be listed: {exc}"),
            latest=True,
        )

    def _read_steps(self, run_id: str) -> None:
        memory, view = self._open_memory(), self.browser.retrieved
        if memory is None:
            return

        def show(steps: Sequence[MemoryRetrieved]) -> None:
            if view.chosen_run() == run_id:
                view.show_steps(steps)

        self._operations.run(
            "steps",
            lambda: memory.retrievals(run_id),
            done=show,
            failed=lambda exc: view.show_error(f"The run cannot be read: {exc}"),
            latest=True,
        )

    def _read_step_memories(self, event: MemoryRetrieved) -> None:
        memory, view = self._open_memory(), self.browser.retrieved
        if memory is None:
            return
        heuristic_ids = [h.id for h in event.heuristics]
        experience_ids = [e.id for e in event.experiences]

        def show(found: StepMemories) -> None:
            view.show_memories(event, found.heuristics, found.experiences)

        self._operations.run(
            "step memories",
            lambda: memory.step_memories(heuristic_ids, experience_ids),
            done=show,
            failed=lambda exc: view.show_error(f"The memories cannot be read: {exc}"),
            latest=True,
        )
