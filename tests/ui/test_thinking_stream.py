"""A model's reasoning in the run pane: under a "Thinking…" disclosure of the agent's own,
closed until the person opens it (with the keyboard too), never among the answer's tokens;
as it streams, and again when a recorded run is reopened.

The recorded run's model is the Ollama stand-in of tests/ollama (no Ollama daemon can be
installed where the tests run): it generates with the real bundled SmolLM2 and sends the first
tokens as reasoning in Ollama's ``thinking`` field, as a reasoning model's server does.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.loop.run import TeamRunner
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.services.runs import RunsService
from purpose_desktop.services.store import StoreService
from purpose_desktop.store.opening import open_store
from purpose_desktop.store.run_journal import SqlRunJournal
from purpose_desktop.ui.qt import QtCore, QtWidgets
from purpose_desktop.ui.run.agent_streams import SCROLL_BAR_MS, AgentStreams, thinking_label
from purpose_desktop.ui.run.controller import RunController
from purpose_desktop.ui.run.event_bridge import EventBridge
from purpose_desktop.ui.run.pane import RunPane
from purpose_desktop.ui.tasks import TaskKeeper
from pytestqt.qtbot import QtBot
from tests.ollama.conftest import running_fake_ollama
from tests.support.reasoning_runs import AGENT, run_reasoning_team, thinking_in
from tests.support.waiting import wait_until

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]
Screenshot = Callable[[Any, str], Path]

REASONING = ["The primary colours ", "are red, yellow\nand blue."]
ANSWER = '{"tool": "finish", "answer": "Red, yellow and blue.", "thought": "known"}'
THINK_TOKENS = 10


def settle(qtbot: QtBot) -> None:
    """Let the layouts and the paced scroll bars catch up, as they do between frames."""
    qtbot.wait(SCROLL_BAR_MS + 50)


def make_streams(qtbot: QtBot) -> AgentStreams:
    streams = AgentStreams()
    qtbot.addWidget(streams)
    streams.resize(600, 420)
    streams.show()
    qtbot.waitExposed(streams)
    return streams


def test_reasoning_shows_closed_under_its_own_disclosure_never_among_the_tokens(
    qtbot: QtBot, screenshot: Screenshot
) -> None:
    streams = make_streams(qtbot)
    streams.start_step("sage", 1)
    for piece in REASONING:
        streams.append_thinking("sage", piece)
    streams.append("sage", ANSWER)
    sage = streams.stream("sage")
    thinking = sage.thinking

    assert thinking.isVisible() and not thinking.expanded
    assert not thinking.view.isVisible()  # closed until the person opens it
    assert thinking.toggle.text() == "Thinking… step 1"
    assert sage.view.toPlainText() == f"── step 1 ──\n{ANSWER}"
    streams.tabs.setCurrentWidget(streams.interleaved)
    assert "primary colours" not in streams.interleaved.toPlainText()
    streams.tabs.setCurrentIndex(0)

    streams.show_action("sage", 1, "Final answer: Red, yellow and blue.", "known")
    reasoning = "".join(REASONING)
    assert thinking.toggle.text() == f"Thinking step 1: {len(reasoning)} characters"
    assert thinking.toggle.text() == thinking_label(1, len(reasoning), done=True)
    settle(qtbot)
    screenshot(streams, "thinking-closed")

    thinking.toggle.click()
    assert thinking.expanded and thinking.view.isVisible()
    assert thinking.view.toPlainText() == f"── step 1 ──\n{reasoning}"
    assert sage.view.toPlainText() == (
        "── step 1 ──\nFinal answer: Red, yellow and blue.\nthought: known"
    )
    settle(qtbot)
    screenshot(streams, "thinking-open")

    # A later step's reasoning goes on in a section of its own, and the button says so.
    streams.start_step("sage", 2)
    streams.append_thinking("sage", "Check once more.")
    assert thinking.toggle.text() == "Thinking… step 2"
    assert thinking.view.toPlainText() == (
        f"── step 1 ──\n{reasoning}\n\n── step 2 ──\nCheck once more."
    )
    # An agent whose model writes no reasoning has no disclosure.
    streams.start_step("scribe", 3)
    streams.append("scribe", ANSWER)
    assert not streams.stream("scribe").thinking.isVisible()


def test_the_disclosure_is_reached_with_tab_and_opened_with_space(qtbot: QtBot) -> None:
    streams = make_streams(qtbot)
    streams.start_step("sage", 1)
    streams.append_thinking("sage", "".join(REASONING))
    thinking = streams.stream("sage").thinking
    window = streams.window()
    window.activateWindow()
    streams.tabs.tabBar().setFocus()
    qtbot.waitUntil(lambda: streams.tabs.tabBar().hasFocus())
    for _ in range(6):  # the tabs, the box for raw tokens, then the agent's stream
        if thinking.toggle.hasFocus():
            break
        focused = QtWidgets.QApplication.focusWidget()
        assert focused is not None
        qtbot.keyClick(focused, QtCore.Qt.Key.Key_Tab)
    assert thinking.toggle.hasFocus()
    assert thinking.toggle.accessibleName() == "sage's thinking"
    assert "collapsed" in thinking.toggle.accessibleDescription()
    qtbot.keyClick(thinking.toggle, QtCore.Qt.Key.Key_Space)
    assert thinking.expanded and thinking.view.isVisible()
    assert "expanded" in thinking.toggle.accessibleDescription()
    qtbot.keyClick(thinking.toggle, QtCore.Qt.Key.Key_Space)
    assert not thinking.expanded and not thinking.view.isVisible()


def test_the_bridge_keeps_reasoning_apart_from_tokens_and_in_order(qtbot: QtBot) -> None:
    bridge = EventBridge()
    received: list[tuple[str, str, str]] = []
    bridge.thinking.connect(lambda agent, text: received.append(("thinking", agent, text)))
    bridge.tokens.connect(lambda agent, text: received.append(("tokens", agent, text)))
    bridge.occurred.connect(lambda event: received.append(("event", "", type(event).__name__)))

    bridge(ev.StepStarted(agent="sage", step=1))
    for piece in REASONING:
        bridge(ev.ThinkingStreamed(agent="sage", text=piece))
    bridge(ev.TokenStreamed(agent="sage", text=ANSWER))
    # Another event flushes what gathered first, so views see everything in order.
    bridge(ev.ActionProposed(agent="sage", step=1, tool="finish"))
    assert received == [
        ("event", "", "StepStarted"),
        ("thinking", "sage", "".join(REASONING)),
        ("tokens", "sage", ANSWER),
        ("event", "", "ActionProposed"),
    ]
    # Left alone, the frame timer releases it.
    bridge(ev.ThinkingStreamed(agent="sage", text="more"))
    qtbot.waitUntil(lambda: received[-1] == ("thinking", "sage", "more"), timeout=1000)


# --- the pane, with a model that reasons --------------------------------------------------


@pytest.fixture(autouse=True)
def collect_qt_garbage() -> Iterator[None]:
    """Each qasync loop leaves Qt objects in reference cycles: collected here, on the main
    thread, rather than by chance on a model's pipe reader (where Qt would crash)."""
    yield
    gc.collect()


@pytest.mark.model
def test_a_recorded_run_with_reasoning_reopens_with_it_closed_under_thinking(
    tmp_path: Path, qtbot: QtBot, run_in_qt_loop: RunInLoop, screenshot: Screenshot
) -> None:
    store = open_store(tmp_path / "store.sqlite3")
    # Run without the window: the Ollama client's HTTP streams need asyncio's own loop to
    # close (qasync does not finalise abandoned async generators).
    (tmp_path / "ollama").mkdir()
    with running_fake_ollama(tmp_path / "ollama") as ollama:
        ollama.set_faults(think_tokens=THINK_TOKENS, think_style="field")
        outcome, seen = run_reasoning_team(ollama, store, tmp_path)
    assert outcome.status == "completed", outcome.error
    reasoning = thinking_in(seen)
    assert reasoning.strip() and outcome.steps[0].thinking == reasoning

    errors: list[BaseException] = []
    tasks = TaskKeeper(errors.append)
    journal = SqlRunJournal(lambda: store.engine)
    # Nothing is run from the pane: its runner's models are never asked for.
    runner = TeamRunner(
        ScriptedProvider({}), store.memory, workspaces_dir=tmp_path / "w", journal=journal
    )
    controller = RunController(runner, tasks, history=RunsService(StoreService(lambda: store)))
    pane = RunPane(controller)
    qtbot.addWidget(pane)
    pane.resize(1200, 760)
    pane.show()

    async def reopen() -> None:
        pane.details_tabs.setCurrentWidget(pane.runs_list)
        await wait_until(lambda: pane.runs_list.table.rowCount() == 1, 10)
        pane.runs_list.table.selectRow(0)
        pane.runs_list.open_button.click()
        assert controller.replaying
        await wait_until(lambda: not controller.running, 10)

    try:
        run_in_qt_loop(reopen())
        sage = pane.streams.streams[AGENT]
        thinking = sage.thinking
        assert thinking.isVisible() and not thinking.expanded
        assert not thinking.view.isVisible()
        assert thinking.toggle.text() == thinking_label(1, len(reasoning), done=True)
        assert reasoning.strip() not in sage.view.toPlainText()
        assert sage.view.toPlainText().startswith("── step 1 ──\nFinal answer: ")
        assert reasoning.strip() not in pane.stream_view.toPlainText()
        settle(qtbot)
        screenshot(pane, "thinking-run-pane-replayed")
        thinking.toggle.click()
        assert thinking.view.isVisible()
        assert thinking.view.toPlainText() == f"── step 1 ──\n{reasoning}"
        settle(qtbot)
        screenshot(pane, "thinking-run-pane-replayed-open")
    finally:
        run_in_qt_loop(tasks.cancel_all())
        journal.close()
        store.engine.dispose()
    assert errors == []
