"""The Tools pane in the real window, offscreen, over a real ``mcp.json``: mcp-server-time and
the project's test server started for real, one server that fails its first start, a test
call made through the form built from a tool's schema, and servers imported from a
Claude-Desktop-style file."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.compat import properties
from purpose_desktop.app import AppParts, build_app_parts
from purpose_desktop.config import Paths
from purpose_desktop.engine.specs import AgentSpec, TeamSpec
from purpose_desktop.engine.tools.base import ToolContext
from purpose_desktop.services.tools import HIDDEN, ToolsService
from purpose_desktop.ui.application import build_main_window
from purpose_desktop.ui.error_dialog import ErrorReporter
from purpose_desktop.ui.main_window import MainWindow
from purpose_desktop.ui.qt import QtWidgets
from purpose_desktop.ui.tools.call_dialog import ToolCallDialog, check_arguments, needs_json
from purpose_desktop.ui.tools.pane import BUILT_IN_GROUP, ToolsPane
from tests.support.mcp_server import server_command

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]
Save = Callable[[QtWidgets.QWidget, str], None]


def time_server() -> dict[str, Any]:
    return {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone=UTC"]}


@pytest.fixture
def mcp_home(home: Paths) -> Paths:
    """A home whose mcp.json has the time server, the test server (with a secret in its
    environment) and a server that quits the first time it is started."""
    own = server_command()
    own["env"] = {**own["env"], "SERVICE_TOKEN": "hunter2", "GREETING": "hello"}
    servers = {
        "time": time_server(),
        "own": own,
        "flaky": server_command("--quit-first-time", str(home.home / "flaky-started")),
    }
    home.mcp_config_file.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return home


@pytest.fixture
def parts(mcp_home: Paths) -> AppParts:
    return build_app_parts(mcp_home)


@pytest.fixture
def window(parts: AppParts, run_in_qt_loop: RunInLoop) -> Iterator[MainWindow]:
    reporter = ErrorReporter(None, parts.paths.log_file)
    main = build_main_window(
        paths=parts.paths,
        settings=parts.settings,
        runner=lambda: parts.runner,
        reporter=reporter,
        services=parts.services,
    )
    main.resize(1200, 760)
    main.show()
    yield main
    main.close()

    async def shut_down() -> None:
        await main.stop_background_work()
        await parts.aclose()
        main.deleteLater()

    run_in_qt_loop(shut_down())
    assert reporter.open_dialogs == []  # no task raised


async def until(condition: Callable[[], bool], within: float = 90.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


@pytest.fixture
def save(screenshot: Callable[[Any, str], Path]) -> Save:
    """Save a picture of a widget as ``tools-pane-NAME.png`` (see the ``screenshot``
    fixture for where)."""

    def take(widget: QtWidgets.QWidget, name: str) -> None:
        screenshot(widget, f"tools-pane-{name}")

    return take


async def listed(pane: ToolsPane) -> None:
    await until(lambda: pane.overview is not None and not pane.progress_row.isVisible())


@pytest.mark.process
def test_the_pane_lists_servers_and_tools_and_shows_a_failed_servers_reason_and_log(
    window: MainWindow, run_in_qt_loop: RunInLoop, save: Save
) -> None:
    async def scenario() -> None:
        window.tabs.setCurrentWidget(window.tools_tab)
        pane = window.tools_pane
        await listed(pane)
        assert pane.server_state("time") == "works, 2 tools"
        assert pane.server_state("own").startswith("works, ")
        assert pane.server_state("flaky") == (
            "failed: stopped before it answered. It wrote: quitting as asked. Its log: "
            f"{mcp_log(window, 'flaky')}"
        )
        assert "time.get_current_time" in pane.tools_of("time")
        assert "own.echo" in pane.tools_of("own")
        assert "calculator" in pane.tools_of(BUILT_IN_GROUP)
        assert "flaky" in pane.notice_text  # the problem is said above the list
        assert "1 failed" in pane.summary.text()

        # A tool: its source, its review and its schema, pretty-printed.
        pane.select_tool("time.get_current_time")
        view = pane.tool_view
        assert pane.details.currentWidget() is view
        assert "MCP server 'time'" in view.source.text()
        assert "Not risky" in view.review.text()  # the server says it only reads
        schema = json.loads(view.schema.toPlainText())
        assert schema["required"] == ["timezone"]
        assert "\n  " in view.schema.toPlainText()  # indented, to be read
        pane.select_tool("own.wait")
        assert "Risky" in view.review.text()  # not annotated: asked about
        await asyncio.sleep(0.1)  # laid out: the review's line wraps
        save(pane, "tool")

        # A server that failed: why, and what it wrote to its log.
        pane.select_server("flaky")
        server = pane.server_view
        assert "did not start" in server.state.text()
        await until(lambda: "quitting as asked" in server.log.toPlainText())
        assert str(mcp_log(window, "flaky")) in server.log_label.text()
        save(pane, "failed-server")

        # Its settings, secrets masked.
        pane.select_server("own")
        environment = server.setting("Environment:")
        assert f"SERVICE_TOKEN = {HIDDEN}" in environment
        assert "GREETING = hello" in environment
        assert "hunter2" not in environment
        assert server.setting("Command:") == sys.executable

        # The pane's keys (each a button's, so only while the pane is shown).
        assert pane.refresh_button.shortcut().toString() == "F5"
        assert pane.import_button.shortcut().toString() == "Ctrl+I"
        assert server.restart_button.shortcut().toString() == "Ctrl+Shift+R"
        assert view.call_button.shortcut().toString() == "Ctrl+T"
        views = [a.text() for a in window.menuBar().actions()[2].menu().actions()]
        assert views[6] == "Tools"  # the last of the panes, above the text sizes

    run_in_qt_loop(scenario())


def mcp_log(window: MainWindow, name: str) -> Path:
    return window.tools_controller.service.server_log_file(name)


@pytest.mark.process
def test_restart_starts_a_failed_server_again_and_stops_the_servers_runs_use(
    window: MainWindow, parts: AppParts, run_in_qt_loop: RunInLoop, save: Save
) -> None:
    async def scenario() -> None:
        window.tabs.setCurrentWidget(window.tools_tab)
        pane = window.tools_pane
        await listed(pane)
        assert pane.server_state("flaky").startswith("failed: ")
        # A run's servers: the runs' tool source started the test server.
        team = TeamSpec(
            name="t",
            agents=[
                AgentSpec(name="a", role="r", model="bundled:smollm2-135m", tools=("own.pid",))
            ],
        )
        source = parts.runner._tools
        context = ToolContext(parts.paths.workspaces_dir)
        first = await source.agent_tools(team)
        first_pid = await first["a"][0].function({}, context)

        pane.select_server("flaky")
        pane.server_view.restart_button.click()
        assert pane.progress_row.isVisible()
        await listed(pane)
        assert pane.server_state("flaky").startswith("works, ")
        assert "flaky started again" in pane.notice_text
        assert "stopped too" in pane.notice_text
        # The run's server was stopped: the next run starts a new one.
        again = await source.agent_tools(team)
        assert await again["a"][0].function({}, context) != first_pid
        save(pane, "restarted")

        # A listing can be cancelled: it says so once the servers it started have stopped.
        pane.refresh_button.click()
        await asyncio.sleep(0.3)
        pane.cancel_button.click()
        assert not pane.cancel_button.isEnabled()  # stopping them
        await until(lambda: not pane.progress_row.isVisible(), within=30)
        assert pane.notice_text.startswith("Cancelled")
        assert pane.refresh_button.isEnabled()

    run_in_qt_loop(scenario())


@pytest.mark.process
def test_a_test_call_through_the_form_shows_the_tools_real_answer(
    window: MainWindow, run_in_qt_loop: RunInLoop, save: Save
) -> None:
    async def scenario() -> None:
        window.tabs.setCurrentWidget(window.tools_tab)
        pane = window.tools_pane
        await listed(pane)
        pane.select_tool("time.get_current_time")
        pane.tool_view.call_button.click()
        dialog = window.tools_controller.dialog
        assert isinstance(dialog, ToolCallDialog) and dialog.isVisible()
        assert dialog.form is not None and dialog.form.names == ["timezone"]
        assert not dialog.call_button.isEnabled()  # the timezone is required
        editor = dialog.form.editor("timezone")
        assert isinstance(editor, QtWidgets.QLineEdit)
        editor.setText("UTC")
        assert dialog.call_button.isEnabled()
        dialog.call_button.click()
        assert dialog.calling and dialog.cancel_button.isVisible()
        await until(lambda: not dialog.calling)
        answer = json.loads(dialog.answer.toPlainText())
        assert answer["timezone"] == "UTC"
        assert dialog.status_text == "The tool answered."
        save(dialog, "call-answer")

        # A tool's own error is shown as the answer, and said to be a failure.
        editor.setText("Not/A_Zone")
        dialog.call_button.click()
        await until(lambda: not dialog.calling)
        assert dialog.status_text == "The call failed."
        assert "Not/A_Zone" in dialog.answer.toPlainText()

        # The same call written as JSON, checked before it is sent.
        dialog.as_json.setChecked(True)
        assert json.loads(dialog.json_box.toPlainText()) == {"timezone": "Not/A_Zone"}
        dialog.json_box.setPlainText('{"timezone": 3}')
        assert not dialog.call_button.isEnabled()
        assert "timezone" in dialog.json_problem.text()
        dialog.json_box.setPlainText('{"timezone": "Europe/Paris"}')
        dialog.call_button.click()
        await until(lambda: not dialog.calling)
        assert json.loads(dialog.answer.toPlainText())["timezone"] == "Europe/Paris"
        dialog.reject()

        # A parameter that is a list: written as JSON in its line, checked as it is typed.
        pane.select_tool("own.total")
        total = window.tools_controller.open_call("own.total")
        assert total.form is not None and not total.editing_json
        numbers = total.form.editor("numbers")
        assert isinstance(numbers, QtWidgets.QLineEdit)
        numbers.setText("1, 2")
        assert not total.call_button.isEnabled()
        assert total.form.shown_problem("numbers") == "Should be array."
        numbers.setText("[1, 2.5]")
        total.call_button.click()
        await until(lambda: not total.calling)
        assert total.answer.toPlainText() == "3.5"
        total.reject()

    run_in_qt_loop(scenario())


@pytest.mark.process
def test_a_slow_call_can_be_cancelled(window: MainWindow, run_in_qt_loop: RunInLoop) -> None:
    async def scenario() -> None:
        window.tabs.setCurrentWidget(window.tools_tab)
        pane = window.tools_pane
        await listed(pane)
        pane.select_tool("own.wait")
        dialog = window.tools_controller.open_call("own.wait")
        editor = dialog.form.editor("seconds") if dialog.form else None
        assert isinstance(editor, QtWidgets.QLineEdit)
        editor.setText("30")
        dialog.call_button.click()
        await asyncio.sleep(1.0)
        assert dialog.calling
        dialog.cancel_button.click()
        assert dialog.status_text == "Cancelling the call…"
        await until(lambda: not dialog.calling, within=20)  # the server it started stopped
        assert dialog.status_text == "The call was cancelled."
        assert dialog.call_button.isEnabled()
        dialog.reject()

    run_in_qt_loop(scenario())


class DictKeyring(KeyringBackend):
    """The system keyring of one test: passwords in a dict."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("only used when a test sets it")  # never picked on its own

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.passwords[(service, username)]


@pytest.fixture
def dict_keyring() -> Iterator[DictKeyring]:
    previous = keyring.get_keyring()
    backend = DictKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.mark.process
def test_importing_a_claude_desktop_file_adds_its_server_and_its_tools(
    window: MainWindow,
    mcp_home: Paths,
    dict_keyring: DictKeyring,
    run_in_qt_loop: RunInLoop,
    save: Save,
) -> None:
    claude = mcp_home.home.parent / "claude_desktop_config.json"
    imported = server_command()
    imported["env"] = {**imported["env"], "GITHUB_TOKEN": "ghp_secret"}
    claude.write_text(json.dumps({"mcpServers": {"imported": imported}}), encoding="utf-8")

    async def scenario() -> None:
        window.tabs.setCurrentWidget(window.tools_tab)
        pane = window.tools_pane
        await listed(pane)
        pane.import_button.click()
        dialog = pane.file_dialog
        assert dialog is not None and dialog.isVisible()
        dialog.fileSelected.emit(str(claude))  # the person chose the file
        dialog.reject()
        await until(lambda: "Imported" in pane.notice_text)
        await listed(pane)
        assert "added imported" in pane.notice_text
        assert pane.server_state("imported").startswith("works, ")
        assert "imported.echo" in pane.tools_of("imported")
        pane.select_server("imported")
        assert "in the system keyring" in pane.server_view.setting("Environment:")
        assert "ghp_secret" not in mcp_home.mcp_config_file.read_text(encoding="utf-8")
        assert "ghp_secret" in dict_keyring.passwords.values()
        # The server is given its secret from the keyring when it starts.
        service = window.tools_controller.service
        assert await service.call("imported.env", '{"name": "GITHUB_TOKEN"}') == "ghp_secret"
        save(window, "imported")

    run_in_qt_loop(scenario())


@pytest.mark.process
def test_an_invalid_mcp_json_is_said_and_open_makes_a_missing_one(
    home: Paths, run_in_qt_loop: RunInLoop, qapp: QtWidgets.QApplication
) -> None:
    from purpose_desktop.ui.tasks import TaskKeeper
    from purpose_desktop.ui.tools.controller import ToolsController

    home.mcp_config_file.write_text('{"mcpServers": {"bad": {}}}', encoding="utf-8")
    reporter = ErrorReporter(None, home.log_file)
    opened: list[Path] = []
    controller = ToolsController(ToolsService(home), TaskKeeper(reporter), open_file=opened.append)
    pane = ToolsPane(home.mcp_config_file)
    controller.attach(pane)

    async def scenario() -> None:
        controller.refresh()
        await until(lambda: not pane.progress_row.isVisible())
        assert "could not be listed" in pane.summary.text()
        assert "needs either a 'command'" in pane.notice_text
        home.mcp_config_file.unlink()
        pane.open_button.click()
        await until(lambda: bool(opened))
        assert opened == [home.mcp_config_file]
        assert json.loads(home.mcp_config_file.read_text(encoding="utf-8")) == {"mcpServers": {}}
        controller.refresh()
        await until(lambda: pane.overview is not None and not pane.progress_row.isVisible())
        assert pane.tools_of("MCP servers") == ["None yet"]

    pane.show()
    run_in_qt_loop(scenario())
    assert reporter.open_dialogs == []


def test_which_schemas_are_edited_as_json_and_how_json_arguments_are_checked() -> None:
    flat = {
        "type": "object",
        "properties": {"text": {"type": "string"}, "numbers": {"type": "array"}},
        "required": ["text"],
    }
    nested = {"type": "object", "properties": {"where": {"type": "object"}}}
    listed_objects = {
        "type": "object",
        "properties": {"edits": {"type": "array", "items": {"type": "object"}}},
    }
    assert not needs_json(flat)
    assert needs_json(nested) and needs_json(listed_objects)
    assert check_arguments(flat, '{"text": "a", "numbers": [1]}') == (
        {"text": "a", "numbers": [1]},
        "",
    )
    assert check_arguments(flat, "[1]")[1].startswith("The arguments must be a JSON object")
    assert check_arguments(flat, "{")[1].startswith("Not valid JSON")
    assert check_arguments(flat, "{}")[1] == "'text' is a required property."
    assert check_arguments(flat, '{"text": 1}')[1] == "text: Should be text."


def test_a_schema_with_an_object_parameter_is_called_with_checked_json(
    qapp: QtWidgets.QApplication, save: Save
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "where": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "line": {"type": "integer"}},
                "required": ["path"],
            }
        },
        "required": ["where"],
    }
    dialog = ToolCallDialog("files.open", "Open a file at a line.", schema)
    asked: list[str] = []
    dialog.call_requested.connect(asked.append)
    dialog.show()
    assert dialog.editing_json and not dialog.as_json.isEnabled()
    assert dialog.form is None and dialog.json_box.isVisible()
    # Filled in with what is required, to be completed.
    assert json.loads(dialog.json_box.toPlainText()) == {"where": {"path": ""}}
    assert not dialog.json_problem.isVisible()
    dialog.json_box.setPlainText('{"where": {"line": 3}}')
    assert dialog.json_problem.text() == "where: 'path' is a required property."
    assert not dialog.call_button.isEnabled()
    dialog.json_box.setPlainText('{"where": {"path": "notes.txt", "line": 3}}')
    assert not dialog.json_problem.isVisible() and dialog.call_button.isEnabled()
    save(dialog, "call-json")
    dialog.call_button.click()
    assert [json.loads(call) for call in asked] == [{"where": {"path": "notes.txt", "line": 3}}]
    dialog.show_calling()
    dialog.show_failure("files.open: no such file")
    assert dialog.status_text == "The call failed."
    dialog.deleteLater()
