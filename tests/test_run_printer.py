"""What ``purpose-desktop run`` prints as a run's events arrive."""

from __future__ import annotations

import io

import pytest
from purpose_desktop.cli_run import RunPrinter
from purpose_desktop.engine import events as ev

EVENTS: list[ev.Event] = [
    ev.RunStarted(team="Lab", task="What is 2+3?"),
    ev.AgentSelected(agent="solver", model="m", reason="the default"),
    ev.TokenStreamed(agent="solver", text='{"tool": '),
    ev.TokenStreamed(agent="solver", text='"finish"}'),
    ev.ErrorRaised(message="the model stopped"),
    ev.ActionProposed(agent="solver", step=1, tool="finish", arguments={"answer": "5"}),
    ev.MemoryRetrieved(agent="solver", step=2, heuristics=(), experiences=()),
    ev.TokenStreamed(agent="solver", text="5"),
    ev.RunFinished(
        status="completed", answer=" 5\n", prompt_tokens=9, completion_tokens=4, seconds=1.0
    ),
]


@pytest.mark.parametrize("quiet", [False, True])
def test_tokens_go_to_stdout_and_progress_and_errors_to_stderr(quiet: bool) -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = RunPrinter(out, err, quiet=quiet)
    for event in EVENTS:
        printer(event)

    assert printer.reported == {"the model stopped"}
    if quiet:
        assert (out.getvalue(), err.getvalue()) == ("", "error: the model stopped\n")
        return
    assert out.getvalue() == '{"tool": "finish"}\n5\n\nAnswer:\n5\n'
    assert err.getvalue() == (
        "[Agent solver selected (the default), model m]\n"
        "error: the model stopped\n"
        '[Step 1: solver proposes finish {"answer": "5"}]\n'
        "[Run completed after 0 step(s): 4 tokens in 1.0 s]\n"
    )
