"""The team pane: set up a team and keep it in its team file.

The editor (:mod:`purpose_desktop.ui.team.editor`) is built the first time a team is shown:
it needs pydantic and the tools' descriptions, which would slow the window's first
appearance. Files are written on the UI thread (see :mod:`purpose_desktop.ui.team.files`);
nothing here waits on a model.
"""

from __future__ import annotations

import asyncio
import functools
import html
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.errors import UserError
from purpose_desktop.ui.qt import QtGui, QtWidgets, Signal, set_by_name
from purpose_desktop.ui.team import questions
from purpose_desktop.ui.team.files import KeptTeam, file_stem

if TYPE_CHECKING:
    from purpose_desktop.config import Paths
    from purpose_desktop.engine.review import RememberedApproval
    from purpose_desktop.engine.specs import LoadedTeam, TeamSpec
    from purpose_desktop.models.catalog import CatalogEntry
    from purpose_desktop.services.tool_permissions import ToolPermissionsService
    from purpose_desktop.services.tools import ToolListing
    from purpose_desktop.ui.operations import Operations
    from purpose_desktop.ui.team.draft import TeamDraft
    from purpose_desktop.ui.team.editor import TeamEditor

Proceed = Callable[[], object]
ListTools = Callable[[bool], Awaitable["ToolListing"]]
"""Lists every tool an agent can be given (``ToolsService.tools``); given ``True``, anew
rather than as last kept."""


def tools_of(paths: Paths) -> ListTools:
    """:data:`ListTools` for the home folder ``paths``: its built-in, user and MCP tools.
    The tools service is imported with the first listing, not with the window."""

    async def listing(again: bool) -> ToolListing:
        from purpose_desktop.services.tools import ToolsService

        return await ToolsService(paths).tools(kept=not again)

    return listing


def preload_editor() -> None:
    """Import what the editor needs that is slow to import and free of Qt (pydantic, the
    tools and their schemas): about a third of a second. Safe on a worker thread, so the
    main window can do it while it reads the first team file."""
    import purpose_desktop.engine.tools.builtin
    import purpose_desktop.ui.team.draft  # noqa: F401


class TeamPane(QtWidgets.QWidget):
    """Create, edit, save, duplicate and delete teams.

    ``open_button`` is for the main window to connect to its open dialog; the team it opens
    comes back through :meth:`show_team`.
    """

    team_ready = Signal(object)
    """A :class:`LoadedTeam` just saved, valid and in its file: runs should use it now."""
    dirty_changed = Signal(bool)
    """Whether the team in the editor has changes not yet saved."""
    status = Signal(str)
    """A message for the status bar."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QtWidgets.QLabel("")
        self.title.setObjectName("paneTitle")
        self.source = QtWidgets.QLabel("")
        set_by_name(self.source, "textInteractionFlags", "TextSelectableByMouse")
        self.problems = QtWidgets.QLabel("")
        self.problems.setObjectName("teamProblems")
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #c62828")
        self.new_button = self._button("New team", "Start a new team", self.new_team)
        self.open_button = QtWidgets.QPushButton("Open team…")
        self.open_button.setToolTip("Open a team file (Ctrl+O)")
        self.save_button = self._button("Save", "Save the team to its file", self.save)
        self.save_as_button = self._button(
            "Save as…", "Save the team to another file", self.save_as
        )
        self.duplicate_button = self._button(
            "Duplicate",
            "Save a copy of the team in the teams folder and edit the copy",
            self.duplicate,
        )
        self.delete_button = self._button("Delete…", "Delete the team's file", self.delete)
        self.placeholder = QtWidgets.QLabel("Opening the team…")
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.asker = questions.Asker(self)
        self._editor: TeamEditor | None = None
        self._kept = KeptTeam()
        self._catalog: tuple[Sequence[CatalogEntry], int] | None = None
        self._teams_dir: Path | None = None
        self._dirty = False
        self._operations: Operations | None = None
        self._list_tools: ListTools | None = None
        self._tools_changed: Callable[[], object] | None = None
        self._listed_stamp: object = None
        self._permissions: ToolPermissionsService | None = None
        self._listing: ToolListing | None = None
        self._build_layout()
        self._refresh()

    def _button(self, text: str, tip: str, slot: Proceed) -> QtWidgets.QPushButton:
        button = QtWidgets.QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(lambda _=False: slot())
        return button

    def _build_layout(self) -> None:
        header = QtWidgets.QHBoxLayout()
        header.addWidget(self.title, 1)
        for button in (
            self.new_button,
            self.open_button,
            self.save_button,
            self.save_as_button,
            self.duplicate_button,
            self.delete_button,
        ):
            header.addWidget(button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.source)
        layout.addWidget(self.problems)
        layout.addWidget(self.stack, 1)

    # --- what the main window uses -----------------------------------------------------

    @property
    def editor(self) -> TeamEditor:
        """The editor, built on first use."""
        if self._editor is None:
            from purpose_desktop.ui.team.editor import TeamEditor

            self._editor = TeamEditor()
            self._editor.edited.connect(self._refresh)
            if self._catalog is not None:
                self._editor.set_catalog(*self._catalog)
            self._editor.form.tools.reload_requested.connect(lambda: self.list_tools(again=True))
            self._editor.approvals.revoke_requested.connect(self.revoke)
            self._editor.approvals.setVisible(self._permissions is not None)
            self.stack.addWidget(self._editor)
            self.list_tools()
        return self._editor

    @property
    def agents(self) -> QtWidgets.QTableWidget:
        """The table of the team's agents (name, model, review policy)."""
        return self.editor.agents

    @property
    def is_dirty(self) -> bool:
        """Whether the team in the editor has changes not saved to its file."""
        return self._dirty

    @property
    def editing(self) -> bool:
        """Whether a team is in the editor."""
        return self._editor is not None and self.stack.currentWidget() is self._editor

    def set_catalog(self, entries: Sequence[CatalogEntry], budget_bytes: int) -> None:
        """The models to choose from, and the memory they may use (for "fits in memory")."""
        self._catalog = (tuple(entries), budget_bytes)
        if self._editor is not None:
            self._editor.set_catalog(*self._catalog)

    def use_services(
        self,
        operations: Operations,
        *,
        list_tools: ListTools | None = None,
        tools_changed: Callable[[], object] | None = None,
        permissions: ToolPermissionsService | None = None,
    ) -> None:
        """Offer every tool ``list_tools`` lists (the built-in ones only without it) and
        show the team's remembered approvals from ``permissions``; both are read in the
        background through ``operations``. ``tools_changed`` gives a value that changes when
        the tools may have (see :func:`~purpose_desktop.services.tools_cache.tools_stamp`):
        the tools are listed again when the pane is shown after it changed."""
        self._operations = operations
        self._list_tools = list_tools
        self._tools_changed = tools_changed
        self._permissions = permissions
        if self._editor is not None:
            self._editor.approvals.setVisible(permissions is not None)
            self.list_tools()
            self.read_approvals()

    def list_tools(self, *, again: bool = False) -> None:
        """Ask for every tool an agent can be given, unless they were listed already (or
        ``again``); the built-in ones are offered meanwhile."""
        if self._editor is None or self._operations is None or self._list_tools is None:
            return
        checklist = self._editor.form.tools
        stamp = self._tools_changed() if self._tools_changed is not None else None
        if self._listing is not None and not again and stamp == self._listed_stamp:
            return
        if not _loop_running():
            return  # asked again when the pane is shown with the loop running
        if self._operations.busy("list tools"):
            return
        checklist.show_loading()
        self._listed_stamp = stamp
        self._operations.run(
            "list tools",
            functools.partial(self._list_tools, again),
            done=self._tools_listed,
            failed=lambda exc: checklist.show_problems(str(exc)),
            latest=True,
        )

    def read_approvals(self) -> None:
        """Read the remembered approvals of the team shown (in the background)."""
        if self._editor is None or self._permissions is None or self._operations is None:
            return
        box = self._editor.approvals
        team = self._kept.team
        if team is None or not self.editing:
            box.show_unsaved()
            return
        if not _loop_running():
            return
        name = team.spec.name
        permissions = self._permissions
        box.show_loading()
        self._operations.run(
            "read approvals",
            lambda: permissions.list_for(name),
            done=lambda approvals: self._approvals_read(name, approvals),
            failed=lambda exc: box.show_problem(str(exc)),
            latest=True,
        )

    def revoke(self, approval: RememberedApproval) -> None:
        """Revoke ``approval``: the team's runs ask about that tool or server again."""
        if self._permissions is None or self._operations is None or self._editor is None:
            return
        permissions, box = self._permissions, self._editor.approvals
        button = box.revoke_buttons.get((approval.kind, approval.name))
        if button is not None:
            button.setEnabled(False)
        self._operations.run(
            f"revoke {approval.kind} {approval.name}",
            lambda: permissions.revoke(approval.team, approval.kind, approval.name),
            done=lambda _: self._revoked(approval),
            failed=lambda exc: self._not_revoked(exc, button),
        )

    def set_teams_dir(self, path: Path) -> None:
        """The folder where new and duplicated teams are saved."""
        self._teams_dir = path

    def show_team(self, team: LoadedTeam) -> None:
        """Edit ``team``, after asking what to do with unsaved changes to the one shown."""
        if self.editing and team == self._kept.team and not self._dirty:
            return  # shown already: typically the echo of this pane's own save
        self.ask_before_leaving(lambda: self._load(team))

    def ask_before_leaving(self, proceed: Proceed) -> None:
        """Call ``proceed`` now when nothing is unsaved; otherwise ask (without blocking)
        whether to save or discard the changes first, then call it, or never if the person
        cancels. The main window asks this before opening another team or closing."""
        if not self._dirty:
            proceed()
            return
        problems = self._problem_line() if self.editor.check.problems else None
        box = self.asker.ask(questions.unsaved_changes(self, self._name(), problems))
        box.buttonClicked.connect(
            lambda button: self._answered(box.standardButton(button), proceed)
        )

    def new_team(self) -> None:
        """Start a new team of one agent (after asking about unsaved changes)."""
        self.ask_before_leaving(self._start_new)

    def save(self) -> None:
        """Save to the team's file; ask for a file when it has none (or is a sample)."""
        self._save_then(None)

    def save_as(self) -> None:
        """Ask for a file (without blocking) and save the team there."""
        self._save_then(None, choose_file=True)

    def duplicate(self) -> None:
        """Save a copy of the saved team, named "… copy", in the teams folder, and edit it
        (after asking about unsaved changes)."""
        self.ask_before_leaving(self._write_copy)

    def delete(self) -> None:
        """Delete the team's file after the person confirms (without blocking)."""
        if not self.delete_button.isEnabled():
            return
        box, confirm = questions.confirm_delete(self, self._name(), self._kept.own_file)
        self.asker.ask(box).buttonClicked.connect(lambda button: self._delete(button is confirm))

    def add_agent(self) -> None:
        """Add an agent to the team and put the cursor on its name."""
        if self.editing:
            self.editor.add_agent()

    def remove_agent(self) -> None:
        """Remove the agent chosen in the list."""
        if self.editing:
            self.editor.remove_agent()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        # Approvals may have been added by a review since the pane was last shown.
        self.list_tools()
        self.read_approvals()

    # --- what came back from the background ---------------------------------------------

    def _tools_listed(self, listing: ToolListing) -> None:
        from purpose_desktop.ui.team.agent_form import OfferedTool

        self._listing = listing
        if self._editor is None:
            return
        self._editor.form.tools.set_listing(
            [OfferedTool(t.name, t.description, t.source, t.risky) for t in listing.tools],
            listing.problems,
        )

    def _approvals_read(self, team: str, approvals: Sequence[RememberedApproval]) -> None:
        kept = self._kept.team
        if self._editor is not None and kept is not None and kept.spec.name == team:
            self._editor.approvals.show_approvals(approvals)

    def _revoked(self, approval: RememberedApproval) -> None:
        what = "every tool of " if approval.kind == "server" else ""
        self.status.emit(f"Revoked: {approval.team}'s runs ask about {what}{approval.name} again")
        self.read_approvals()

    def _not_revoked(self, exc: UserError, button: QtWidgets.QPushButton | None) -> None:
        if button is not None:
            button.setEnabled(True)
        if self._editor is not None:
            self._editor.approvals.show_problem(f"Could not revoke: {exc}")

    # --- loading, saving, deleting ------------------------------------------------------

    def _load(self, team: LoadedTeam) -> None:
        from purpose_desktop.ui.team.draft import draft_of

        self._kept.keep(team, draft_of(team.spec))
        self._show(draft_of(team.spec))

    def _start_new(self) -> None:
        from purpose_desktop.ui.team.draft import new_team_draft
        from purpose_desktop.ui.team.model_choice import suggested_model

        self._kept.keep(None, None)
        self._show(new_team_draft(suggested_model(*(self._catalog or ((), 0)))))
        self.editor.name_edit.setFocus()
        self.editor.name_edit.selectAll()

    def _show(self, draft: TeamDraft) -> None:
        self.editor.show_draft(draft)
        self.stack.setCurrentWidget(self.editor)
        self._refresh()
        self.read_approvals()

    def _close_team(self) -> None:
        self._kept.keep(None, None)
        self.placeholder.setText("No team open. Start a new team or open a team file.")
        self.stack.setCurrentWidget(self.placeholder)
        self._refresh()

    def _answered(self, button: QtWidgets.QMessageBox.StandardButton, proceed: Proceed) -> None:
        if button == questions.Box.StandardButton.Save:
            self._save_then(proceed)
        elif button == questions.Box.StandardButton.Discard:
            # Back to the team as saved (or to no team, if it never was).
            if self._kept.baseline is None:
                self._close_team()
            else:
                self._show(self._kept.baseline)
            proceed()

    def _save_then(self, then: Proceed | None, choose_file: bool = False) -> None:
        if self._valid_spec() is None:
            # Reached by a shortcut while Save is disabled: say why nothing happens.
            if self.editing:
                self.status.emit(f"Cannot save: {self._problem_line()}")
            return
        own = self._kept.own_file
        if own is None or choose_file:
            suggested = self._kept.folder(self._teams_dir) / f"{file_stem(self._name())}.yaml"
            self.asker.ask_for_file(suggested, lambda chosen: self._write(chosen, then))
        else:
            self._write(own, then)

    def _write(self, path: Path, then: Proceed | None = None) -> None:
        spec, draft = self._valid_spec(), self.editor.draft()
        if spec is None or not self._attempt(
            f"save {path}", lambda: self._kept.save(spec, path, draft)
        ):
            return
        self._refresh()
        self.read_approvals()  # the name may have changed
        self.status.emit(f"Saved team {spec.name} to {path}")
        self.team_ready.emit(self._kept.team)
        if then is not None:
            then()

    def _write_copy(self) -> None:
        folder = self._kept.folder(self._teams_dir)
        original = self._kept.team
        if original is None or not self._attempt(
            f"save a copy in {folder}", lambda: self._kept.copy(folder)
        ):
            return
        copy = self._kept.team
        assert copy is not None and self._kept.baseline is not None
        self._show(self._kept.baseline)
        self.status.emit(
            f"Saved a copy of {original.spec.name} as {copy.spec.name} in {copy.source}"
        )
        self.team_ready.emit(copy)

    def _delete(self, confirmed: bool) -> None:
        name, path = self._name(), self._kept.own_file
        if confirmed and self._attempt(f"delete {path}", self._kept.delete):
            self._close_team()
            self.status.emit(f"Deleted team {name}")

    def _attempt(self, what: str, action: Proceed) -> bool:
        """Do ``action``; if it fails, tell the person what failed and why, and say so."""
        try:
            action()
        except (OSError, UserError) as exc:
            self.asker.warn("Something could not be done", f"Could not {what}: {exc}")
            self.status.emit(f"Could not {what}: {exc}")
            return False
        return True

    # --- small helpers ------------------------------------------------------------------

    def _valid_spec(self) -> TeamSpec | None:
        return self.editor.check.spec if self.editing else None

    def _name(self) -> str:
        return self.editor.draft().name.strip() or "Untitled team"

    def _problem_line(self) -> str:
        from purpose_desktop.ui.team.draft import describe_problems

        return describe_problems(self.editor.draft(), self.editor.check)

    def _refresh(self) -> None:
        """Bring the title, the problem line, the buttons and the dirty mark up to date."""
        editing = self.editing
        dirty = editing and self._kept.unsaved(self.editor.draft())
        title = html.escape(self._name()) + (" •" if dirty else "") if editing else "No team open"
        self.title.setText(f"<h2>{title}</h2>")
        self.source.setText(self._kept.where if editing else "")
        invalid = editing and bool(self.editor.check.problems)
        self.problems.setText(f"Cannot save: {self._problem_line()}" if invalid else "")
        self.problems.setVisible(invalid)
        self.save_button.setEnabled(editing and not invalid)
        self.save_as_button.setEnabled(editing and not invalid)
        self.duplicate_button.setEnabled(editing and self._kept.team is not None)
        # A sample team is never deleted; a team never saved can be (it is discarded).
        self.delete_button.setEnabled(
            editing and (self._kept.team is None or self._kept.own_file is not None)
        )
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)


def _loop_running() -> bool:
    """Whether the event loop runs (the window's, under qasync): background work needs it."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
