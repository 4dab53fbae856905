"""The agents' streams: each step reads as its action once known, its raw tokens one tick
away; hidden views catch up in order; the history stays bounded either way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from purpose_desktop.ui.run.agent_streams import MAX_STREAM_CHARS, AgentStreams
from pytestqt.qtbot import QtBot

Screenshot = Callable[[Any, str], Path]

CALC = '{"tool": "calculator", "expression": "17*23", "thought": "multiply"}'
FINISH = '{"tool": "finish", "answer": "391", "thought": "done"}'


def make_streams(qtbot: QtBot) -> AgentStreams:
    streams = AgentStreams()
    qtbot.addWidget(streams)
    streams.resize(600, 400)
    streams.show()
    return streams


def step(streams: AgentStreams, agent: str, number: int, *tokens: str) -> None:
    streams.start_step(agent, number)
    for token in tokens:
        streams.append(agent, token)


def test_a_step_reads_as_its_action_once_known_and_raw_tokens_come_back(
    qtbot: QtBot, screenshot: Screenshot
) -> None:
    streams = make_streams(qtbot)
    view = streams.stream("solver").view
    step(streams, "solver", 1, CALC[:20], CALC[20:])
    assert view.toPlainText() == f"── step 1 ──\n{CALC}"  # tokens as they come
    streams.show_action("solver", 1, 'calculator(expression="17*23")', "multiply")
    step(streams, "solver", 2, FINISH)
    assert view.toPlainText() == (
        f'── step 1 ──\ncalculator(expression="17*23")\nthought: multiply\n\n── step 2 ──\n{FINISH}'
    )
    streams.show_action("solver", 2, "Final answer: 391", "done")
    readable = view.toPlainText()
    assert readable.endswith("── step 2 ──\nFinal answer: 391\nthought: done")
    # The thought is quieter than the action: lighter and in italics.
    thought = view.document().findBlockByNumber(2)
    assert thought.text() == "thought: multiply"
    action_format = view.document().findBlockByNumber(1).begin().fragment().charFormat()
    thought_format = thought.begin().fragment().charFormat()
    assert thought_format.fontItalic() and not action_format.fontItalic()
    assert thought_format.foreground().color() != action_format.foreground().color()
    screenshot(streams, "agent-streams-readable")

    streams.raw_tokens.setChecked(True)
    assert view.toPlainText() == f"── step 1 ──\n{CALC}\n\n── step 2 ──\n{FINISH}"
    streams.tabs.setCurrentWidget(streams.interleaved)
    assert streams.interleaved.toPlainText() == f"[solver]\n{CALC}\n{FINISH}"
    # Tokens keep coming in raw; a step's action arrives, and shows when raw is unticked.
    step(streams, "solver", 3, FINISH)
    streams.show_action("solver", 3, "Final answer: 391", "")
    assert view.toPlainText().endswith(f"── step 3 ──\n{FINISH}")
    screenshot(streams, "agent-streams-raw")
    streams.raw_tokens.setChecked(False)
    assert view.toPlainText() == readable + "\n\n── step 3 ──\nFinal answer: 391"
    assert streams.interleaved.toPlainText() == (
        '[solver]\ncalculator(expression="17*23")\nthought: multiply\n'
        "Final answer: 391\nthought: done\n"
        "Final answer: 391"
    )


def test_a_step_without_an_action_keeps_its_tokens(qtbot: QtBot) -> None:
    streams = make_streams(qtbot)
    view = streams.stream("solver").view
    step(streams, "solver", 1, "I am not sure what to do.")  # the model wrote no action
    step(streams, "solver", 2, FINISH)
    streams.show_action("solver", 1, "Final answer: 391", "")  # not the step shown last
    assert view.toPlainText() == (
        f"── step 1 ──\nI am not sure what to do.\n\n── step 2 ──\n{FINISH}"
    )
    streams.show_action("solver", 2, "Final answer: 391", "done")
    streams.set_show_raw(True)
    streams.set_show_raw(False)  # written again from what was kept, the same way
    assert view.toPlainText() == (
        "── step 1 ──\nI am not sure what to do.\n\n── step 2 ──\nFinal answer: 391\nthought: done"
    )
    # A view made later follows the choice.
    streams.set_show_raw(True)
    assert streams.raw_tokens.isChecked()
    step(streams, "helper", 3, CALC)
    streams.show_action("helper", 3, "calculator()", "")
    assert streams.stream("helper").view.toPlainText() == f"── step 3 ──\n{CALC}"


def test_the_hidden_interleaved_view_catches_up_in_order(qtbot: QtBot) -> None:
    streams = make_streams(qtbot)
    step(streams, "lead", 1, '{"tool": "delegate", ', '"agent": "helper"}')
    streams.show_action("lead", 1, 'Hand over to helper: "sum"', "")
    step(streams, "helper", 2, CALC)
    streams.show_action("helper", 2, 'calculator(expression="17*23")', "multiply")
    step(streams, "helper", 3, FINISH[:10])
    assert streams.interleaved.toPlainText() == ""  # hidden: written a few times a second
    qtbot.waitUntil(lambda: bool(streams.interleaved.toPlainText()), timeout=2000)
    assert streams.interleaved.toPlainText() == (
        '[lead]\nHand over to helper: "sum"\n\n[helper]\n'
        f'calculator(expression="17*23")\nthought: multiply\n{FINISH[:10]}'
    )
    streams.append("helper", FINISH[10:])
    streams.show_action("helper", 3, "Final answer: 391", "done")
    streams.tabs.setCurrentWidget(streams.interleaved)  # shown: at once
    assert streams.interleaved.toPlainText().endswith(
        "thought: multiply\nFinal answer: 391\nthought: done"
    )


def test_many_long_steps_stay_bounded_in_both_ways_of_showing(qtbot: QtBot) -> None:
    streams = make_streams(qtbot)
    view = streams.stream("writer").view
    chunk = "x" * 20_000
    for number in range(1, 81):  # 1.6 million characters of tokens
        step(streams, "writer", number, chunk)
        if number % 2:
            streams.show_action("writer", number, f"write(step={number})", "")
    for raw in (True, False, True):
        streams.set_show_raw(raw)
        text = view.toPlainText()
        assert len(text) <= MAX_STREAM_CHARS
        # The newest is what is kept (its long lines broken for display).
        assert text.replace("\n", "").endswith(f"── step 80 ──{chunk}")
    streams.set_show_raw(False)
    assert "write(step=79)" in view.toPlainText()
