"""The team pane driven through its widgets, offscreen, with the real model catalog."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.config import Paths, example_team_file, resources_dir
from purpose_desktop.engine.specs import AgentSpec, LoadedTeam, ReviewPolicy, TeamSpec
from purpose_desktop.engine.team_file import load_team
from purpose_desktop.models.catalog import CatalogEntry, list_local_models
from purpose_desktop.models.memory import PROMPT_CACHE_BYTES, half_of_memory
from purpose_desktop.services.store import StoreService
from purpose_desktop.services.tool_permissions import ToolPermissionsService
from purpose_desktop.services.tools_cache import tools_stamp
from purpose_desktop.ui.operations import Operations
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets
from purpose_desktop.ui.tasks import TaskKeeper
from purpose_desktop.ui.team.agent_form import AgentForm
from purpose_desktop.ui.team.approvals import UNSAVED_TEXT
from purpose_desktop.ui.team.model_choice import size_text
from purpose_desktop.ui.team.pane import TeamPane, tools_of
from pytestqt.qtbot import QtBot
from tests.support.mcp_server import server_command
from tests.support.stores import store_at
from tests.support.waiting import wait_until

SMOLLM = "bundled:smollm2-135m"
GEMMA = "bundled:gemma3-270m"
Screenshot = Callable[[Any, str], Path]
LEFT = QtCore.Qt.MouseButton.LeftButton
TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")


@pytest.fixture
def catalog(home: Paths) -> list[CatalogEntry]:
    return list_local_models(home.models_dir)


@pytest.fixture
def pane(qtbot: QtBot, home: Paths, catalog: list[CatalogEntry]) -> TeamPane:
    team_pane = TeamPane()
    qtbot.addWidget(team_pane)
    team_pane.set_catalog(catalog, half_of_memory())
    team_pane.set_teams_dir(home.teams_dir)
    team_pane.resize(1100, 720)
    team_pane.show()
    return team_pane


@pytest.fixture
def team_file(home: Paths) -> Path:
    """A user's copy of the two-agent sample team, in the teams folder."""
    path = home.teams_dir / "arithmetic.yaml"
    shutil.copy(resources_dir() / "teams" / "arithmetic.yaml", path)
    return path


# --- driving the widgets --------------------------------------------------------------


def replace_text(qtbot: QtBot, field: QtWidgets.QWidget, text: str) -> None:
    """Select what the field holds and type ``text`` over it, as a person would."""
    field.setFocus()
    qtbot.keyClick(field, QtCore.Qt.Key.Key_A, QtCore.Qt.KeyboardModifier.ControlModifier)
    if text:
        qtbot.keyClicks(field, text)
    else:
        qtbot.keyClick(field, QtCore.Qt.Key.Key_Backspace)


def choose_model(form: AgentForm, reference: str) -> None:
    combo = form.model_choice.combo
    index = combo.findData(reference)
    assert index >= 0, f"{reference} is not offered"
    combo.setFocus()
    combo.setCurrentIndex(index)


def tick(qtbot: QtBot, buttons: dict[str, Any], names: Sequence[str]) -> None:
    for name in names:
        qtbot.mouseClick(buttons[name], LEFT)


def fill_agent(qtbot: QtBot, pane: TeamPane, spec: AgentSpec) -> None:
    """Type ``spec`` into the form of the agent chosen in the pane."""
    form = pane.editor.form
    replace_text(qtbot, form.name_edit, spec.name)
    replace_text(qtbot, form.role_edit, spec.role)
    replace_text(qtbot, form.expertise_edit, ", ".join(spec.expertise))
    choose_model(form, spec.model)
    tick(
        qtbot,
        form.tools.boxes,
        [n for n, box in form.tools.boxes.items() if box.isChecked() != (n in spec.tools)],
    )
    tick(qtbot, form.review.buttons, [spec.review.value])
    replace_text(qtbot, form.steps_spin, str(spec.max_steps))


def save_through_dialog(pane: TeamPane, path: Path) -> None:
    dialog = pane.asker.file_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.selectFile(str(path))
    dialog.accept()


def answer(pane: TeamPane, text: str) -> None:
    """Click the button called ``text`` in the pane's open question."""
    box = pane.asker.question
    assert box is not None and box.isVisible()
    button = next(b for b in box.buttons() if b.text().replace("&", "") == text)
    button.click()


def plain_text(label: QtWidgets.QLabel) -> str:
    document = QtGui.QTextDocument()
    document.setHtml(label.text())
    return document.toPlainText()


def problem(pane: TeamPane, field: QtWidgets.QWidget) -> str | None:
    """What the field is marked with: its red border comes with the message under it."""
    marks = [*pane.editor.marks.values(), *pane.editor.form.marks.values()]
    mark = next(m for m in marks if m.field is field)
    assert mark.marked == (mark.problem is not None)
    assert mark.message.isVisible() == (mark.problem is not None)
    return mark.problem


# --- the tests ------------------------------------------------------------------------


def test_a_team_built_through_the_widgets_is_saved_and_loads_back(
    pane: TeamPane, qtbot: QtBot, home: Paths, screenshot: Screenshot
) -> None:
    ready: list[LoadedTeam] = []
    pane.team_ready.connect(ready.append)
    expected = TeamSpec(
        name="Research desk",
        description="Finds facts and writes them up.",
        default_model=SMOLLM,
        agents=(
            AgentSpec(
                name="finder",
                role="Find the facts the task needs.",
                model=SMOLLM,
                expertise=("search", "facts"),
                tools=("calculator", "note"),
                max_steps=5,
                review=ReviewPolicy.ALWAYS,
            ),
            AgentSpec(
                name="writer",
                role="Write the answer from the notes.",
                model=GEMMA,
                expertise=("write",),
                tools=("write_file", "read_notes"),
                max_steps=12,
                review=ReviewPolicy.RISKY,
            ),
        ),
    )
    qtbot.mouseClick(pane.new_button, LEFT)
    assert pane.is_dirty and "Not saved yet" in pane.source.text()
    editor = pane.editor
    replace_text(qtbot, editor.name_edit, expected.name)
    replace_text(qtbot, editor.description_edit, expected.description)
    fill_agent(qtbot, pane, expected.agents[0])
    qtbot.mouseClick(editor.add_button, LEFT)
    assert editor.selected_index() == 1
    fill_agent(qtbot, pane, expected.agents[1])
    assert [editor.agents.item(1, c).text() for c in range(3)] == ["writer", GEMMA, "risky"]
    assert "•" in pane.title.text()
    assert pane.save_button.isEnabled() and not pane.problems.isVisible()
    screenshot(pane, "team-pane-valid")

    qtbot.mouseClick(pane.save_button, LEFT)  # a new team has no file yet: Save asks for one
    assert pane.asker.file_dialog is not None
    assert Path(pane.asker.file_dialog.directory().absolutePath()) == home.teams_dir
    assert pane.asker.file_dialog.selectedFiles()[0].endswith("research-desk.yaml")
    save_through_dialog(pane, home.teams_dir / "research-desk.yaml")

    saved = load_team(home.teams_dir / "research-desk.yaml")
    assert saved.spec == expected
    assert ready == [saved]
    assert not pane.is_dirty and "•" not in pane.title.text()
    pane.show_team(saved)  # the main window hands the saved team back: nothing changes
    assert pane.asker.question is None and pane.editor.selected_index() == 1


def test_invalid_input_is_marked_at_the_field_as_it_is_typed(
    pane: TeamPane, qtbot: QtBot, team_file: Path, screenshot: Screenshot
) -> None:
    pane.show_team(load_team(team_file))
    editor, form = pane.editor, pane.editor.form
    assert pane.save_button.isEnabled()
    assert problem(pane, editor.name_edit) is None

    replace_text(qtbot, editor.name_edit, "")
    assert problem(pane, editor.name_edit) == "Required."
    assert not pane.save_button.isEnabled() and not pane.save_as_button.isEnabled()
    assert pane.problems.text() == "Cannot save: Team name: Required."
    with qtbot.waitSignal(pane.status) as said:  # Save by a shortcut says why it did nothing
        pane.save()
    assert said.args == ["Cannot save: Team name: Required."]
    assert pane.asker.file_dialog is None

    editor.agents.selectRow(1)
    replace_text(qtbot, form.name_edit, "counter")
    assert problem(pane, form.name_edit) == "Another agent is also called 'counter'."
    assert "Two agents are called 'counter'" in editor.agents_error.text()
    replace_text(qtbot, form.steps_spin, "0")
    assert problem(pane, form.steps_spin) == "Must be at least 1."
    choose_model(form, "")
    assert problem(pane, form.model_choice.combo) == "Required."
    replace_text(qtbot, form.role_edit, "")
    assert problem(pane, form.role_edit) == "Required."
    # The other agent's mistake shows in the list while this one is in the form.
    assert "Another agent is also called" in editor.agents.item(0, 0).toolTip()
    assert pane.problems.text() == (
        "Cannot save: Team name: Required.  ·  Agents: Two agents are called 'counter'; names "
        "must be unique.  ·  Agent 2 'counter' role: Required.  (and 2 more)"
    )
    screenshot(pane, "team-pane-invalid")

    editor.agents.selectRow(0)
    assert problem(pane, form.name_edit) == "Another agent is also called 'counter'."
    assert problem(pane, form.steps_spin) is None
    replace_text(qtbot, form.name_edit, "adder")
    editor.agents.selectRow(1)
    assert problem(pane, form.name_edit) is None
    replace_text(qtbot, form.steps_spin, "201")
    assert problem(pane, form.steps_spin) == "Must be at most 200."
    replace_text(qtbot, form.steps_spin, "3")
    choose_model(form, SMOLLM)
    replace_text(qtbot, form.role_edit, "Answer briefly.")
    replace_text(qtbot, editor.name_edit, "Sums")
    assert pane.save_button.isEnabled() and not pane.problems.isVisible()
    assert all(problem(pane, mark.field) is None for mark in form.marks.values())


def test_an_agent_is_removed_and_a_team_needs_one(
    pane: TeamPane, qtbot: QtBot, team_file: Path
) -> None:
    pane.show_team(load_team(team_file))
    editor = pane.editor
    editor.agents.selectRow(0)
    qtbot.mouseClick(editor.remove_button, LEFT)
    assert editor.agents.rowCount() == 1
    assert editor.form.name_edit.text() == "helper"
    qtbot.mouseClick(pane.save_button, LEFT)  # its own file: saved without asking
    assert [agent.name for agent in load_team(team_file).spec.agents] == ["helper"]

    pane.remove_agent()
    assert editor.agents.rowCount() == 0 and not editor.agent_box.isEnabled()
    assert editor.agents_error.text() == "A team needs at least one agent."
    assert not pane.save_button.isEnabled()


def test_unsaved_changes_are_never_dropped_without_asking(
    pane: TeamPane, qtbot: QtBot, team_file: Path
) -> None:
    dirty: list[bool] = []
    pane.dirty_changed.connect(dirty.append)
    pane.show_team(load_team(team_file))
    name = pane.editor.name_edit
    replace_text(qtbot, name, "Sums")
    assert dirty == [True] and pane.title.text() == "<h2>Sums •</h2>"
    replace_text(qtbot, name, "Arithmetic")  # undone by hand: nothing left to save
    assert dirty == [True, False] and pane.title.text() == "<h2>Arithmetic</h2>"

    replace_text(qtbot, name, "Arithmetic 2")
    sample = load_team(example_team_file())
    pane.show_team(sample)
    answer(pane, "Cancel")
    assert name.text() == "Arithmetic 2" and pane.is_dirty

    pane.show_team(sample)
    answer(pane, "Discard")
    assert name.text() == "Helper" and not pane.is_dirty
    assert load_team(team_file).spec.name == "Arithmetic"

    pane.show_team(load_team(team_file))
    replace_text(qtbot, name, "Sums")
    pane.new_team()
    answer(pane, "Save")
    assert load_team(team_file).spec.name == "Sums"
    assert name.text() == "New team" and pane.source.text() == "Not saved yet"

    replace_text(qtbot, pane.editor.form.steps_spin, "0")
    pane.show_team(sample)
    box = pane.asker.question
    assert box is not None
    assert not box.button(QtWidgets.QMessageBox.StandardButton.Save).isEnabled()
    assert "step limit: Must be at least 1." in box.informativeText()
    answer(pane, "Discard")
    assert name.text() == "Helper"


def test_the_sample_team_is_never_overwritten(pane: TeamPane, qtbot: QtBot, home: Paths) -> None:
    before = example_team_file().read_text(encoding="utf-8")
    pane.show_team(load_team(example_team_file()))
    assert "a sample team" in pane.source.text()
    assert not pane.delete_button.isEnabled()
    replace_text(qtbot, pane.editor.form.steps_spin, "6")
    pane.save()
    save_through_dialog(pane, home.teams_dir / "helper.yaml")
    assert load_team(home.teams_dir / "helper.yaml").spec.agents[0].max_steps == 6
    assert example_team_file().read_text(encoding="utf-8") == before
    assert pane.source.text() == str((home.teams_dir / "helper.yaml").resolve())
    assert pane.delete_button.isEnabled()

    qtbot.mouseClick(pane.save_as_button, LEFT)
    save_through_dialog(pane, home.teams_dir / "helper-2.yaml")
    assert pane.source.text() == str((home.teams_dir / "helper-2.yaml").resolve())
    assert load_team(home.teams_dir / "helper-2.yaml").spec.agents[0].max_steps == 6


def test_duplicate_saves_a_copy_and_delete_removes_the_file(
    pane: TeamPane, qtbot: QtBot, home: Paths, team_file: Path
) -> None:
    ready: list[LoadedTeam] = []
    pane.team_ready.connect(ready.append)
    original = load_team(team_file)
    pane.show_team(original)

    qtbot.mouseClick(pane.duplicate_button, LEFT)
    copy_file = home.teams_dir / "arithmetic-copy.yaml"
    copy = load_team(copy_file)
    assert copy.spec == original.spec.model_copy(update={"name": "Arithmetic copy"})
    assert ready == [copy] and pane.editor.name_edit.text() == "Arithmetic copy"
    pane.show_team(original)
    pane.duplicate()
    assert pane.editor.name_edit.text() == "Arithmetic copy 2"

    second = (home.teams_dir / "arithmetic-copy-2.yaml").resolve()
    qtbot.mouseClick(pane.delete_button, LEFT)
    assert pane.asker.question is not None and str(second) in pane.asker.question.informativeText()
    answer(pane, "Cancel")
    assert second.exists() and pane.editing
    pane.delete()
    answer(pane, "Delete")
    assert not second.exists() and team_file.exists() and copy_file.exists()
    assert not pane.editing and pane.title.text() == "<h2>No team open</h2>"
    assert not pane.save_button.isEnabled() and not pane.duplicate_button.isEnabled()


CACHE_MIB = PROMPT_CACHE_BYTES // 2**20
"""The worker's prompt cache, counted at its capacity beside weights, KV cache and buffers."""


def test_each_model_shows_its_size_context_and_whether_it_fits(
    pane: TeamPane, catalog: list[CatalogEntry], team_file: Path
) -> None:
    pane.show_team(load_team(team_file))
    details = pane.editor.form.model_choice.details
    assert plain_text(details) == (
        f"{SMOLLM} · 94 MiB file · context 8,192 tokens · needs {217 + CACHE_MIB} MiB: fits in "
        "memory "
        f"({size_text(half_of_memory())} for models)"
    )
    choose_model(pane.editor.form, GEMMA)
    assert "context 32,768 tokens" in plain_text(details)
    assert "a base model, not tuned to follow instructions" in plain_text(details)
    pane.set_catalog(catalog, 100 * 2**20)  # a budget of 100 MiB
    assert f"needs {409 + CACHE_MIB} MiB: more than the 100 MiB for models" in plain_text(details)
    combo = pane.editor.form.model_choice.combo
    assert combo.currentData() == GEMMA
    assert combo.itemText(combo.findData(SMOLLM)).endswith("(too large for memory)")


@pytest.mark.process
def test_the_pane_is_light_until_a_team_is_shown() -> None:
    code = (
        "import sys; from purpose_desktop.ui.qt import QtWidgets;"
        "app = QtWidgets.QApplication([]);"
        "from purpose_desktop.ui.team.pane import TeamPane; TeamPane();"
        "sys.exit(1 if 'pydantic' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- every tool offered, and the team's remembered approvals ------------------------------


def write_mcp_json(home: Paths, servers: dict[str, Any] | str) -> None:
    home.mcp_config_file.parent.mkdir(parents=True, exist_ok=True)
    text = servers if isinstance(servers, str) else json.dumps({"mcpServers": servers})
    home.mcp_config_file.write_text(text, encoding="utf-8")


def mcp_team(home: Paths, tools: str) -> LoadedTeam:
    path = home.teams_dir / "clock.yaml"
    path.write_text(
        f"name: Clock\nagents:\n  - name: teller\n    role: Tell the time.\n"
        f"    model: {SMOLLM}\n    tools: {tools}\n    review: risky\n",
        encoding="utf-8",
    )
    return load_team(path)


@pytest.fixture
def serviced_pane(
    pane: TeamPane, home: Paths, tmp_path: Path
) -> Iterator[tuple[TeamPane, ToolPermissionsService, list[BaseException]]]:
    """The pane with the tools of ``home`` and the approvals of a real database."""
    errors: list[BaseException] = []
    with store_at(tmp_path / "purpose-desktop.sqlite3") as store:
        permissions = ToolPermissionsService(StoreService(lambda: store))
        pane.use_services(
            Operations(TaskKeeper(errors.append)),
            list_tools=tools_of(home),
            permissions=permissions,
        )
        yield pane, permissions, errors


@pytest.mark.process
def test_the_agent_form_offers_mcp_tools_by_server_and_marks_those_not_available(
    serviced_pane: tuple[TeamPane, ToolPermissionsService, list[BaseException]],
    home: Paths,
    qtbot: QtBot,
    run_in_qt_loop: Callable[[Any], Any],
    screenshot: Screenshot,
) -> None:
    pane, permissions, errors = serviced_pane
    write_mcp_json(home, {"test": server_command(), "time": {"command": TIME_SERVER}})
    home.user_tools_dir.mkdir(parents=True, exist_ok=True)
    (home.user_tools_dir / "loud.py").write_text(
        'def shout(text: str) -> str:\n    """Say it loudly."""\n    return text.upper()\n',
        encoding="utf-8",
    )
    team = mcp_team(home, "[calculator, time.get_current_time, clock.now, time.get_time]")

    async def scenario() -> None:
        await permissions.allow("Clock", "server", "time")
        await permissions.allow("Clock", "tool", "calculator")
        pane.show_team(team)
        checklist = pane.editor.form.tools
        # The built-in tools at once, while the rest are looked for.
        assert checklist.boxes["calculator"].isChecked()
        assert checklist.status.isVisible()
        assert "Looking for" in checklist.status.text()
        await wait_until(lambda: "test.echo" in checklist.boxes, 60)
        await wait_until(lambda: len(pane.editor.approvals.revoke_buttons) == 2, 10)

    run_in_qt_loop(scenario())
    checklist = pane.editor.form.tools
    assert not checklist.status.isVisible()
    assert checklist.source_of("time.get_current_time") == "time"
    assert checklist.source_of("test.echo") == "test"
    assert checklist.source_of("calculator") == "built-in"
    assert checklist.source_of("shout") == "user"
    headings = [
        label.text()
        for label in checklist.findChildren(QtWidgets.QLabel)
        if label.text().startswith("<b>") and label.isVisible()
    ]
    assert headings == [
        "<b>Built-in</b>",
        "<b>Your tools</b>",
        "<b>MCP server “test”</b>",
        "<b>MCP server “time”</b>",
        "<b>Named by the agent</b>",
    ]
    ticked = [name for name, box in checklist.boxes.items() if box.isChecked()]
    assert ticked == ["calculator", "time.get_current_time", "clock.now", "time.get_time"]
    assert plain_text(checklist.warnings["clock.now"]).startswith(
        "⚠ Not available: there is no MCP server 'clock'"
    )
    assert "the MCP server 'time' offers no such tool" in plain_text(
        checklist.warnings["time.get_time"]
    )
    assert "time.get_current_time" not in checklist.warnings
    # Looking is not a change, and the team keeps its tools in their order.
    assert not pane.is_dirty
    assert pane.editor.form.agent().tools == team.spec.agents[0].tools
    approvals = pane.editor.approvals
    assert [(a.kind, a.name) for a in approvals.approvals] == [
        ("server", "time"),
        ("tool", "calculator"),
    ]
    screenshot(pane, "team-pane-mcp-tools")
    screenshot(checklist, "team-pane-mcp-tools-list")  # all of it, the part scrolled off too
    assert errors == []


def test_built_in_tools_stay_when_mcp_json_is_not_valid_and_an_approval_is_revoked(
    serviced_pane: tuple[TeamPane, ToolPermissionsService, list[BaseException]],
    home: Paths,
    qtbot: QtBot,
    run_in_qt_loop: Callable[[Any], Any],
    screenshot: Screenshot,
) -> None:
    pane, permissions, errors = serviced_pane
    write_mcp_json(home, "{ not json")
    team = mcp_team(home, "[calculator, time.get_current_time]")

    async def scenario() -> None:
        await permissions.allow("Clock", "server", "time")
        await permissions.allow("Clock", "tool", "calculator")
        await permissions.allow("Other team", "tool", "python")
        pane.show_team(team)
        checklist = pane.editor.form.tools
        await wait_until(checklist.problems.isVisible, 30)
        approvals = pane.editor.approvals
        await wait_until(lambda: len(approvals.revoke_buttons) == 2, 10)
        qtbot.mouseClick(approvals.revoke_buttons[("server", "time")], LEFT)
        await wait_until(lambda: len(approvals.revoke_buttons) == 1, 10)
        assert await permissions.allowed_keys("Clock") == {"calculator"}
        assert await permissions.allowed_keys("Other team") == {"python"}

    run_in_qt_loop(scenario())
    checklist = pane.editor.form.tools
    assert checklist.problems.text().startswith("Only the built-in tools can be offered: ")
    assert "mcp.json" in checklist.problems.text()
    assert list(checklist.boxes)[:2] == ["calculator", "python"]  # built-in, offered still
    assert plain_text(checklist.warnings["time.get_current_time"]) == (
        "⚠ Not available: the tools beyond the built-in ones could not be listed."
    )
    assert checklist.boxes["time.get_current_time"].isChecked()
    (kept,) = pane.editor.approvals.approvals
    assert (kept.kind, kept.name) == ("tool", "calculator")
    screenshot(pane, "team-pane-approvals-revoked")
    assert errors == []


def test_a_new_team_has_no_approvals_until_it_is_saved(
    serviced_pane: tuple[TeamPane, ToolPermissionsService, list[BaseException]],
    run_in_qt_loop: Callable[[Any], Any],
) -> None:
    pane, _permissions, errors = serviced_pane

    async def scenario() -> None:
        pane.new_team()
        await wait_until(lambda: not pane.editor.form.tools.status.isVisible(), 30)

    run_in_qt_loop(scenario())
    approvals = pane.editor.approvals
    assert approvals.isVisible()
    assert approvals.status.text() == UNSAVED_TEXT
    assert approvals.revoke_buttons == {}
    assert errors == []


@pytest.mark.process
def test_tools_added_while_the_pane_was_hidden_are_offered_when_it_is_shown_again(
    pane: TeamPane, home: Paths, qtbot: QtBot, run_in_qt_loop: Callable[[Any], Any]
) -> None:
    errors: list[BaseException] = []
    pane.use_services(
        Operations(TaskKeeper(errors.append)),
        list_tools=tools_of(home),
        tools_changed=lambda: tools_stamp(home),
    )
    home.user_tools_dir.mkdir(parents=True, exist_ok=True)
    (home.user_tools_dir / "loud.py").write_text(
        'def shout(text: str) -> str:\n    """Say it loudly."""\n    return text.upper()\n',
        encoding="utf-8",
    )
    team = mcp_team(home, "[calculator]")

    async def scenario() -> None:
        pane.show_team(team)
        checklist = pane.editor.form.tools
        await wait_until(lambda: "shout" in checklist.boxes, 60)
        pane.hide()
        # As the Tools pane's import does, or a person saving a file in the tools folder.
        write_mcp_json(home, {"time": {"command": TIME_SERVER}})
        pane.show()
        await wait_until(lambda: "time.get_current_time" in checklist.boxes, 60)
        shown_again = len(checklist.boxes)
        pane.hide()
        pane.show()  # nothing changed: the listing is kept
        assert not checklist.status.isVisible()
        assert len(checklist.boxes) == shown_again

    run_in_qt_loop(scenario())
    assert errors == []


@pytest.mark.process
def test_the_tools_are_offered_as_last_listed_until_a_person_reloads_them(
    pane: TeamPane,
    home: Paths,
    tmp_path: Path,
    *,
    qtbot: QtBot,
    catalog: list[CatalogEntry],
    run_in_qt_loop: Callable[[Any], Any],
) -> None:
    # The test server behind a script that can be taken away without touching mcp.json.
    script = tmp_path / "own-server.sh"
    own = server_command()
    script.write_text(
        "#!/bin/sh\nexport PYTHONPATH={}\nexec {} {}\n".format(
            *(shlex.quote(part) for part in (own["env"]["PYTHONPATH"], own["command"])),
            " ".join(shlex.quote(arg) for arg in own["args"]),
        ),
        encoding="utf-8",
    )
    script.chmod(0o755)
    write_mcp_json(home, {"own": {"command": str(script)}})
    errors: list[BaseException] = []

    def serve(pane: TeamPane) -> None:
        pane.use_services(
            Operations(TaskKeeper(errors.append)),
            list_tools=tools_of(home),
            tools_changed=lambda: tools_stamp(home),
        )

    serve(pane)

    async def listed(pane: TeamPane) -> None:
        pane.show_team(mcp_team(home, "[calculator]"))
        await wait_until(pane.editor.form.tools.status.isHidden, 60)

    run_in_qt_loop(listed(pane))
    assert "own.echo" in pane.editor.form.tools.boxes
    script.unlink()  # the server cannot start any more

    # As in the next window: the tools as last listed, without asking the server.
    again = TeamPane()
    qtbot.addWidget(again)
    again.set_catalog(catalog, half_of_memory())
    again.show()
    serve(again)
    run_in_qt_loop(listed(again))
    checklist = again.editor.form.tools
    assert "own.echo" in checklist.boxes
    assert checklist.problems.isHidden()

    async def reloaded() -> None:
        checklist.reload_button.click()
        await wait_until(lambda: "own.echo" not in checklist.boxes, 60)

    run_in_qt_loop(reloaded())
    assert not checklist.problems.isHidden()
    assert "own" in checklist.problems.text()
    assert errors == []
