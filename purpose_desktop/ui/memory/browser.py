"""The memory browser: a team's heuristics and experiences a page at a time, searched, filtered
and sorted by the database; heuristics edited, pinned, deleted and written by hand; and the
memories each step of a recorded run was given.

Every database call runs off the event loop (the store's methods run their SQL on a worker
thread) in one short transaction, through the window's :class:`TaskKeeper`. Nothing here is
modal: the edit form and the delete confirmation open with ``open()`` and answer through
signals. A write that fails (a full disk, a database locked by another program) is reported
where it was asked for, and the edit form keeps what was typed.

The store's modules are imported only once the store is open: they load SQLAlchemy, which the
worker thread that opened the store has imported by then, so the event loop never waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.events import MemoryRetrieved
from purpose_desktop.engine.learning.memory import Experience, Heuristic, Tier
from purpose_desktop.errors import UserError
from purpose_desktop.ui.memory.details import experience_detail, heuristic_detail
from purpose_desktop.ui.memory.forms import HeuristicDraft, HeuristicForm
from purpose_desktop.ui.memory.retrieved import RetrievedView
from purpose_desktop.ui.memory.table import (
    EXPERIENCE_COLUMNS,
    HEURISTIC_COLUMNS,
    PagedListing,
    PageModel,
    Pager,
    counted,
    memory_table,
    select_ids,
    selected_rows,
)
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets
from purpose_desktop.ui.tasks import TaskKeeper
from purpose_desktop.ui.theme import meaning_colour

if TYPE_CHECKING:
    from purpose_desktop.engine.learning.memory_queries import ExperienceQuery, HeuristicQuery
    from purpose_desktop.store.memory_store import (
        DatabaseMemoryStore,
        ExperienceOrder,
        HeuristicOrder,
    )
    from purpose_desktop.store.opening import Store

OpenStore = Callable[[], "Store"]
#: How long typing must pause before the search runs.
SEARCH_DELAY_MS = 250
#: Recorded runs offered to choose a step from.
RECENT_RUNS = 100
HEURISTIC_ORDERS: tuple[tuple[str, HeuristicOrder], ...] = (
    ("Q-value", "q_value"),
    ("Uses", "uses"),
    ("Newest", "newest"),
)
EXPERIENCE_ORDERS: tuple[tuple[str, ExperienceOrder], ...] = (
    ("Q-value", "q_value"),
    ("Newest", "newest"),
)
NOTHING_LEARNED = (
    "Nothing learned yet. Heuristics and past experiences the team gathers from "
    "its runs will be listed here."
)


class MemoryBrowser(QtWidgets.QWidget):
    """Call :meth:`refresh` whenever it is shown (the first call opens the store) and when
    the memory may have changed, and :meth:`set_team` with the app's current team."""

    def __init__(
        self,
        tasks: TaskKeeper,
        open_store: OpenStore | None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._open_store = open_store
        self._store: Store | None = None
        self._opening = False
        self._app_team: str | None = None
        self._latest: dict[str, asyncio.Task[Any]] = {}
        self._trajectory_of: int | None = None  # the experience whose detail is shown
        self.form: HeuristicForm | None = None
        """The edit or inject form while it is open."""
        self.confirmation: QtWidgets.QMessageBox | None = None
        """The question before deleting, while it is asked."""
        self._build_top()
        self._build_heuristics()
        self._build_experiences()
        self.retrieved = RetrievedView()
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.heuristics_page, "&Heuristics")
        self.tabs.addTab(self.experiences_page, "E&xperiences")
        self.tabs.addTab(self.retrieved, "Retrieved for a &step")
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(self.top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status_line)
        self._connect()
        self._update_buttons()

    # --- building -------------------------------------------------------------------------

    def _build_top(self) -> None:
        self.team_box = QtWidgets.QComboBox()
        self.team_box.setMinimumContentsLength(16)
        self.search_box = QtWidgets.QLineEdit()
        self.search_box.setObjectName("memorySearch")
        self.search_box.setPlaceholderText(
            "Search patterns, strategies, tasks and summaries (Ctrl+F)"
        )
        self.search_box.setClearButtonEnabled(True)
        self.search_timer = QtCore.QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DELAY_MS)
        self.status_line = QtWidgets.QLabel("")
        self.status_line.setObjectName("memoryStatus")
        self.status_line.setWordWrap(True)
        self.refresh_button = _button(
            "Re&fresh",
            "Read the memory again: runs, and other programs sharing the database, change it",
        )
        team_label = QtWidgets.QLabel("Te&am")
        team_label.setBuddy(self.team_box)
        self.top = QtWidgets.QHBoxLayout()
        self.top.addWidget(team_label)
        self.top.addWidget(self.team_box)
        self.top.addWidget(self.search_box, 1)
        self.top.addWidget(self.refresh_button)

    def _build_heuristics(self) -> None:
        self.tier_box = _choices([("All tiers", None)] + [(t.value.capitalize(), t) for t in Tier])
        self.source_box = _choices(
            [("Any source", None), ("Distilled", "distilled"), ("Human", "human")]
        )
        self.min_q, self.max_q = _q_box("Q from ", 0.0), _q_box("to ", 1.0)
        self.heuristic_order = _choices(HEURISTIC_ORDERS)
        self.heuristic_model: PageModel[Heuristic] = PageModel(HEURISTIC_COLUMNS, self)
        self.heuristic_view = memory_table(self.heuristic_model)
        self.heuristic_view.setObjectName("heuristicTable")
        self.heuristic_pager = Pager("heuristic")
        self.heuristics = PagedListing(
            self._tasks, self.heuristic_model, self.heuristic_pager, self
        )
        self.heuristic_detail = _detail_view()
        self.inject_button = _button(
            "Inject heuristic…", "Write a heuristic for the team by hand (source: human)"
        )
        self.edit_button = _button("Edit…", "Edit the selected heuristic (Enter)")
        self.pin_button = _button("Pin", "Pinned heuristics come first whenever they fit a step")
        self.delete_heuristics_button = _button(
            "Delete…", "Delete the selected heuristics (Delete)"
        )
        filters = _row(
            _labelled("&Tier", self.tier_box),
            _labelled("S&ource", self.source_box),
            self.min_q,
            self.max_q,
            1,
            _labelled("Sort &by", self.heuristic_order),
        )
        actions = _row(
            self.inject_button,
            self.edit_button,
            self.pin_button,
            self.delete_heuristics_button,
            1,
            self.heuristic_pager,
        )
        self.heuristics_page = _page(
            filters, self.heuristic_view, self.heuristic_detail, actions, detail_share=1
        )

    def _build_experiences(self) -> None:
        self.outcome_box = _choices(
            [
                ("Any outcome", None),
                ("Completed", "completed"),
                ("Failed", "failed"),
                ("Cancelled", "cancelled"),
            ]
        )
        self.experience_min_q = _q_box("Q from ", 0.0)
        self.experience_order = _choices(EXPERIENCE_ORDERS)
        self.experience_model: PageModel[Experience] = PageModel(EXPERIENCE_COLUMNS, self)
        self.experience_view = memory_table(self.experience_model)
        self.experience_view.setObjectName("experienceTable")
        self.experience_pager = Pager("experience")
        self.experiences = PagedListing(
            self._tasks, self.experience_model, self.experience_pager, self
        )
        self.experience_detail = _detail_view()
        self.delete_experiences_button = _button(
            "Delete…", "Delete the selected experiences (Delete)"
        )
        filters = _row(
            _labelled("&Outcome", self.outcome_box),
            self.experience_min_q,
            1,
            _labelled("Sort &by", self.experience_order),
        )
        actions = _row(self.delete_experiences_button, 1, self.experience_pager)
        # More room for the detail: it holds the run's trajectory.
        self.experiences_page = _page(
            filters, self.experience_view, self.experience_detail, actions, detail_share=2
        )

    def _connect(self) -> None:
        self.search_box.textChanged.connect(lambda _text: self.search_timer.start())
        self.search_box.returnPressed.connect(self._search)
        self.search_timer.timeout.connect(self._search)
        self.refresh_button.clicked.connect(self.refresh)
        self.team_box.currentIndexChanged.connect(lambda _i: self._search())
        for box in (self.tier_box, self.source_box, self.heuristic_order):
            box.currentIndexChanged.connect(lambda _i: self._show_heuristics())
        for spin in (self.min_q, self.max_q):
            spin.valueChanged.connect(lambda _v: self._show_heuristics())
        for box in (self.outcome_box, self.experience_order):
            box.currentIndexChanged.connect(lambda _i: self._show_experiences())
        self.experience_min_q.valueChanged.connect(lambda _v: self._show_experiences())
        for listing in (self.heuristics, self.experiences):
            listing.failed.connect(lambda message: self._say(message, "error"))
        self.heuristics.loaded.connect(lambda: self._loaded(self.heuristic_view, self.heuristics))
        self.experiences.loaded.connect(
            lambda: self._loaded(self.experience_view, self.experiences)
        )
        for view in (self.heuristic_view, self.experience_view):
            view.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
            delete = QtGui.QShortcut(
                QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Delete), view, self.ask_to_delete
            )
            delete.setContext(QtCore.Qt.ShortcutContext.WidgetShortcut)
        self.heuristic_view.activated.connect(lambda _index: self.edit_selected())
        self.inject_button.clicked.connect(self.inject)
        self.edit_button.clicked.connect(self.edit_selected)
        self.pin_button.clicked.connect(self.toggle_pin)
        self.delete_heuristics_button.clicked.connect(self.ask_to_delete)
        self.delete_experiences_button.clicked.connect(self.ask_to_delete)
        find = QtGui.QShortcut(
            QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Find), self, self.focus_search
        )
        find.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.tabs.currentChanged.connect(lambda _i: self._tab_changed())
        self.retrieved.refresh_requested.connect(self._list_runs)
        self.retrieved.run_chosen.connect(self._read_steps)
        self.retrieved.step_chosen.connect(self._read_step_memories)

    # --- opening and showing -----------------------------------------------------------

    def refresh(self) -> None:
        """Read the teams and the pages shown again, since runs change the memory; the first
        call opens the store (so does the next one, after an opening that failed)."""
        if self._store is not None:
            self._start_latest("refresh", self._refresh(self._store.memory))
        elif self._open_store is None:
            self._say("No database is open, so there is no memory to show.", "hint")
        elif not self._opening:  # an opening under way shows what it finds
            self._opening = True
            self._say("Opening the database…", "hint")
            self._start_latest("refresh", self._open(self._open_store))

    def set_team(self, team: str) -> None:
        """The app's current team: shown now, and whenever it changes."""
        self._app_team = team
        if self._store is not None and self._choose_team(self._teams_listed(), team):
            self._search()

    @property
    def team(self) -> str | None:
        data = self.team_box.currentData()
        return data if isinstance(data, str) else None

    def focus_search(self) -> None:
        self.search_box.setFocus(QtCore.Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    async def _open(self, open_store: OpenStore) -> None:
        try:
            store = await asyncio.to_thread(open_store)
        except UserError as exc:
            self._say(f"The memory cannot be read: {exc}", "error")
            return
        finally:
            self._opening = False
        self._store = store
        memory = store.memory
        self.heuristics.set_source(memory.count_heuristics, _heuristic_pages(memory))
        self.experiences.set_source(memory.count_experiences, _experience_pages(memory))
        self._say("", "hint")
        await self._refresh(memory)

    async def _refresh(self, memory: DatabaseMemoryStore) -> None:
        try:
            teams = await memory.memory_teams()
        except UserError as exc:
            self._say(f"The memory cannot be read: {exc}", "error")
            return
        changed = self._choose_team(teams, self.team or self._app_team)
        if self.team not in teams:
            self._say(NOTHING_LEARNED, "hint")
        elif self.status_line.text() == NOTHING_LEARNED:
            self._say("", "hint")  # it has learned since
        if changed or self.heuristics.query is None:
            self._search()
        else:
            self.heuristics.reload([h.id or 0 for h in self.selected_heuristics()])
            self.experiences.reload([e.id or 0 for e in self.selected_experiences()])
        if self.tabs.currentWidget() is self.retrieved:
            self._list_runs()

    def _teams_listed(self) -> list[str]:
        return [str(self.team_box.itemData(i)) for i in range(self.team_box.count())]

    def _choose_team(self, teams: Sequence[str], chosen: str | None) -> bool:
        """List ``teams`` (and the app's team, which may have no memory yet), choosing
        ``chosen``; whether the team shown changed."""
        shown = self.team
        names = sorted({*teams, *([self._app_team] if self._app_team else [])})
        self.team_box.blockSignals(True)
        self.team_box.clear()
        for name in names:
            self.team_box.addItem(name, name)
        index = self.team_box.findData(chosen) if chosen is not None else -1
        self.team_box.setCurrentIndex(index if index >= 0 else 0 if names else -1)
        self.team_box.blockSignals(False)
        return self.team != shown

    def _search(self) -> None:
        self.search_timer.stop()
        self._show_heuristics()
        self._show_experiences()

    def _show_heuristics(self) -> None:
        from purpose_desktop.engine.learning.memory_queries import HeuristicQuery

        team = self.team
        if team is None or self._store is None:
            return
        low, high = sorted((self.min_q.value(), self.max_q.value()))
        query = HeuristicQuery(
            team,
            self.search_box.text(),
            tiers=() if self.tier_box.currentData() is None else (self.tier_box.currentData(),),
            min_q=low if low > 0 else None,
            max_q=high if high < 1 else None,
            source=self.source_box.currentData(),
        )
        self.heuristics.show(query, self.heuristic_order.currentData())

    def _show_experiences(self) -> None:
        from purpose_desktop.engine.learning.memory_queries import ExperienceQuery

        team = self.team
        if team is None or self._store is None:
            return
        low = self.experience_min_q.value()
        query = ExperienceQuery(
            team,
            self.search_box.text(),
            outcome=self.outcome_box.currentData(),
            min_q=low if low > 0 else None,
        )
        self.experiences.show(query, self.experience_order.currentData())

    def _loaded(self, view: QtWidgets.QTableView, listing: PagedListing) -> None:
        select_ids(view, listing.model, listing.selected_ids)
        self._selection_changed()

    def _tab_changed(self) -> None:
        if self.tabs.currentWidget() is self.retrieved and not self.retrieved.runs:
            self._list_runs()
        self._update_buttons()

    # --- selection and detail ----------------------------------------------------------

    def selected_heuristics(self) -> list[Heuristic]:
        return selected_rows(self.heuristic_view, self.heuristic_model)

    def selected_experiences(self) -> list[Experience]:
        return selected_rows(self.experience_view, self.experience_model)

    def _selection_changed(self) -> None:
        self._update_buttons()
        heuristics = self.selected_heuristics()
        self.heuristic_detail.setHtml(heuristic_detail(heuristics[0]) if heuristics else "")
        experiences = self.selected_experiences()
        if not experiences:
            self._trajectory_of = None
            self.experience_detail.setHtml("")
        elif self._trajectory_of != experiences[0].id:
            self._trajectory_of = experiences[0].id
            self.experience_detail.setHtml(experience_detail(experiences[0], None))
            self._start_latest("trajectory", self._read_trajectory(experiences[0]))

    def _update_buttons(self) -> None:
        heuristics = self.selected_heuristics()
        writable = self._store is not None
        self.inject_button.setEnabled(writable and self.team is not None)
        self.edit_button.setEnabled(writable and len(heuristics) >= 1)
        self.delete_heuristics_button.setEnabled(writable and bool(heuristics))
        self.pin_button.setEnabled(writable and bool(heuristics))
        self.pin_button.setText(
            "Unpin" if heuristics and all(h.pinned for h in heuristics) else "Pin"
        )
        self.delete_experiences_button.setEnabled(writable and bool(self.selected_experiences()))

    async def _read_trajectory(self, experience: Experience) -> None:
        assert self._store is not None
        try:
            detail = await self._store.runs.run(experience.run_id)
        except UserError:
            shown = experience_detail(
                experience,
                (),
                "The run this experience came from is "
                "not recorded in this database (its memory was imported, "
                "or the run was deleted).",
            )
        else:
            shown = experience_detail(experience, detail.steps)
        if self._trajectory_of == experience.id:
            self.experience_detail.setHtml(shown)

    # --- editing ---------------------------------------------------------------------------

    def edit_selected(self) -> None:
        """Open the form on the current heuristic (Enter)."""
        chosen = self.selected_heuristics()
        if self._store is None or not chosen:
            return
        current = self.heuristic_view.currentIndex()
        under_cursor = self.heuristic_model.row(current.row()) if current.isValid() else None
        heuristic = under_cursor if under_cursor in chosen else chosen[0]
        rate = heuristic.success_rate
        intro = (
            f"Heuristic #{heuristic.id} of {heuristic.team}: Q {heuristic.q_value:.2f}, "
            f"used {counted(heuristic.uses, 'time')}"
            + (f" ({rate:.0%} successful)" if rate is not None else "")
            + f", source {heuristic.source}. Its Q-value, counts and runs stay as they are."
        )
        self._open_form(
            "Edit heuristic",
            intro,
            HeuristicDraft.of(heuristic),
            lambda form, draft: self._save_edit(form, heuristic, draft),
        )

    def inject(self) -> None:
        """Open the form for a new heuristic written by hand."""
        team = self.team
        if self._store is None or team is None:
            return
        intro = (
            f"A heuristic for {team}, written by you (source: human). It starts at Q 0.50 "
            "and moves with the runs that use it, like any other."
        )
        self._open_form(
            "Inject heuristic",
            intro,
            None,
            lambda form, draft: self._save_injection(form, team, draft),
        )

    def _open_form(
        self,
        title: str,
        intro: str,
        draft: HeuristicDraft | None,
        save: Callable[[HeuristicForm, HeuristicDraft], Coroutine[Any, Any, None]],
    ) -> None:
        form = HeuristicForm(self, title=title, intro=intro, draft=draft)
        form.submitted.connect(lambda chosen: self._tasks.start(save(form, chosen), title))
        form.finished.connect(lambda _result: self._form_closed(form))
        self.form = form
        form.open()

    def _form_closed(self, form: HeuristicForm) -> None:
        if self.form is form:
            self.form = None
        form.deleteLater()

    async def _save_edit(
        self, form: HeuristicForm, heuristic: Heuristic, draft: HeuristicDraft
    ) -> None:
        assert self._store is not None and heuristic.id is not None
        try:
            edited = await self._store.memory.edit_heuristic(
                heuristic.id,
                tier=draft.tier,
                pattern=draft.pattern,
                strategy=draft.strategy,
                pinned=draft.pinned,
            )
        except UserError as exc:
            self._form_failed(form, str(exc))
            return
        if edited is None:
            self._form_failed(
                form,
                "This heuristic is no longer stored: it was deleted "
                "meanwhile. Copy what you wrote and inject it as a new one.",
            )
            return
        self._form_saved(form, f"Saved heuristic #{edited.id}.", edited.id)

    async def _save_injection(self, form: HeuristicForm, team: str, draft: HeuristicDraft) -> None:
        assert self._store is not None
        written = Heuristic(
            team=team,
            tier=draft.tier,
            pattern=draft.pattern,
            strategy=draft.strategy,
            source="human",
            pinned=draft.pinned,
        )
        try:
            stored = await self._store.memory.add_heuristic(written)
        except UserError as exc:
            self._form_failed(form, str(exc))
            return
        new = stored.source == "human" and stored.uses == 0 and stored.run_ids == ()
        self._form_saved(
            form,
            f"Injected heuristic #{stored.id}."
            if new
            else f"The team already had this heuristic (#{stored.id}); it is kept as it was.",
            stored.id,
        )

    def _form_saved(self, form: HeuristicForm, message: str, memory_id: int | None) -> None:
        if self.form is form:
            form.saved()
        self._say(message, "success")
        self.heuristics.reload([memory_id] if memory_id is not None else [])

    def _form_failed(self, form: HeuristicForm, message: str) -> None:
        if self.form is form:
            form.show_error(message)
        else:  # closed while it was being saved: say so here instead
            self._say(f"Not saved: {message}", "error")

    def toggle_pin(self) -> None:
        chosen = self.selected_heuristics()
        if self._store is not None and chosen:
            pin = not all(h.pinned for h in chosen)
            self._tasks.start(self._pin(self._store.memory, chosen, pin), "pin heuristics")

    async def _pin(
        self, memory: DatabaseMemoryStore, chosen: Sequence[Heuristic], pin: bool
    ) -> None:
        ids = [h.id for h in chosen if h.id is not None]
        try:
            for memory_id in ids:
                await memory.set_pinned(memory_id, pin)
        except UserError as exc:
            self._say(str(exc), "error")
        else:
            self._say(
                f"{'Pinned' if pin else 'Unpinned'} {counted(len(ids), 'heuristic')}.", "success"
            )
        self.heuristics.reload(ids)

    # --- deleting --------------------------------------------------------------------------

    def ask_to_delete(self) -> None:
        """Ask, without blocking, whether to delete the selected memories of the tab shown."""
        on_heuristics = self.tabs.currentWidget() is self.heuristics_page
        chosen: Sequence[Heuristic | Experience] = (
            self.selected_heuristics() if on_heuristics else self.selected_experiences()
        )
        if self._store is None or not chosen or self.tabs.currentWidget() is self.retrieved:
            return
        noun = "heuristic" if on_heuristics else "experience"
        what = f"{noun} #{chosen[0].id}" if len(chosen) == 1 else counted(len(chosen), noun)
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Question,
            f"Delete {noun}s",
            f"Delete {what}? The team forgets {'it' if len(chosen) == 1 else 'them'} for good.",
            QtWidgets.QMessageBox.StandardButton.NoButton,
            self,
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
        if delete and self._store is not None:
            self._tasks.start(self._delete(self._store.memory, heuristics, ids), "delete memories")

    async def _delete(self, memory: DatabaseMemoryStore, heuristics: bool, ids: list[int]) -> None:
        listing = self.heuristics if heuristics else self.experiences
        try:
            if heuristics:
                deleted = await memory.delete_heuristics(ids)
            else:
                deleted = await memory.delete_experiences(ids)
        except UserError as exc:
            self._say(str(exc), "error")
            return
        self._say(
            f"Deleted {counted(deleted, 'heuristic' if heuristics else 'experience')}.", "success"
        )
        listing.reload()

    # --- retrieved for a step ------------------------------------------------------------

    def _list_runs(self) -> None:
        if self._store is not None:
            self._start_latest("runs", self._read_runs(self._store))

    async def _read_runs(self, store: Store) -> None:
        try:
            runs = await store.runs.list_runs(limit=RECENT_RUNS)
        except UserError as exc:
            self.retrieved.show_error(f"The runs cannot be listed: {exc}")
            return
        self.retrieved.show_runs(runs)

    def _read_steps(self, run_id: str) -> None:
        if self._store is not None:
            self._start_latest("steps", self._read_retrievals(self._store, run_id))

    async def _read_retrievals(self, store: Store, run_id: str) -> None:
        try:
            steps = await store.runs.memory_retrievals(run_id)
        except UserError as exc:
            self.retrieved.show_error(f"The run cannot be read: {exc}")
            return
        if self.retrieved.chosen_run() == run_id:
            self.retrieved.show_steps(steps)

    def _read_step_memories(self, event: MemoryRetrieved) -> None:
        if self._store is not None:
            self._start_latest("step memories", self._read_memories(self._store.memory, event))

    async def _read_memories(self, memory: DatabaseMemoryStore, event: MemoryRetrieved) -> None:
        try:
            heuristics = await memory.heuristics_by_ids([h[0] for h in event.heuristics])
            experiences = await memory.experiences_by_ids([e[0] for e in event.experiences])
        except UserError as exc:
            self.retrieved.show_error(f"The memories cannot be read: {exc}")
            return
        self.retrieved.show_memories(
            event, {h.id or 0: h for h in heuristics}, {e.id or 0: e for e in experiences}
        )

    # --- helpers -----------------------------------------------------------------------

    def _start_latest(self, what: str, coroutine: Coroutine[Any, Any, None]) -> None:
        """Start ``coroutine``, cancelling the one started for ``what`` before it: only the
        newest answer matters."""
        previous = self._latest.get(what)
        if previous is not None:
            previous.cancel()
        self._latest[what] = self._tasks.start(coroutine, what)

    def _say(self, text: str, meaning: str) -> None:
        self.status_line.setText(text)
        colours = self.status_line.palette()
        colours.setColor(QtGui.QPalette.ColorRole.WindowText, meaning_colour(meaning))
        self.status_line.setPalette(colours)


def _heuristic_pages(memory: DatabaseMemoryStore) -> Callable[..., Any]:
    async def fetch(
        query: HeuristicQuery, order: HeuristicOrder, offset: int, limit: int
    ) -> list[Heuristic]:
        return await memory.search_heuristics(query, order=order, offset=offset, limit=limit)

    return fetch


def _experience_pages(memory: DatabaseMemoryStore) -> Callable[..., Any]:
    async def fetch(
        query: ExperienceQuery, order: ExperienceOrder, offset: int, limit: int
    ) -> list[Experience]:
        return await memory.search_experiences(query, order=order, offset=offset, limit=limit)

    return fetch


def _button(text: str, tip: str) -> QtWidgets.QPushButton:
    button = QtWidgets.QPushButton(text)
    button.setToolTip(tip)
    return button


def _choices(items: Sequence[tuple[str, object]]) -> QtWidgets.QComboBox:
    box = QtWidgets.QComboBox()
    for text, data in items:
        box.addItem(text, data)
    return box


def _q_box(prefix: str, value: float) -> QtWidgets.QDoubleSpinBox:
    box = QtWidgets.QDoubleSpinBox()
    box.setRange(0.0, 1.0)
    box.setSingleStep(0.05)
    box.setDecimals(2)
    box.setValue(value)
    box.setPrefix(prefix)
    box.setKeyboardTracking(False)  # filter once the number is typed, not at each digit
    return box


def _labelled(text: str, widget: QtWidgets.QWidget) -> QtWidgets.QWidget:
    holder = QtWidgets.QWidget()
    label = QtWidgets.QLabel(text)
    label.setBuddy(widget)
    layout = QtWidgets.QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(label)
    layout.addWidget(widget)
    return holder


def _row(*items: QtWidgets.QWidget | int) -> QtWidgets.QHBoxLayout:
    """Widgets side by side; a number is a stretch of that factor."""
    row = QtWidgets.QHBoxLayout()
    for item in items:
        if isinstance(item, int):
            row.addStretch(item)
        else:
            row.addWidget(item)
    return row


def _page(
    filters: QtWidgets.QLayout,
    table: QtWidgets.QTableView,
    detail: QtWidgets.QTextBrowser,
    actions: QtWidgets.QLayout,
    detail_share: int,
) -> QtWidgets.QWidget:
    """Filters above the table, the selected memory's detail below it (``detail_share``
    thirds of the height), actions at the foot."""
    page = QtWidgets.QWidget()
    split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
    split.addWidget(table)
    split.addWidget(detail)
    split.setStretchFactor(0, 3 - detail_share)
    split.setStretchFactor(1, detail_share)
    layout = QtWidgets.QVBoxLayout(page)
    layout.addLayout(filters)
    layout.addWidget(split, 1)
    layout.addLayout(actions)
    return page


def _detail_view() -> QtWidgets.QTextBrowser:
    view = QtWidgets.QTextBrowser()
    view.setOpenLinks(False)
    view.setPlaceholderText("Select a row to see all of it here.")
    return view
