"""What ``purpose-desktop run`` prints as a run's events arrive."""

from __future__ import annotations

import io

import pytest
from purpose_desktop.cli_run import RunPrinter
from purpose_desktop.cli_store import print_events
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


class Terminal(io.StringIO):
    """Text written to what stands for a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [False, True])
def test_reasoning_goes_to_stderr_under_a_heading_dimmed_on_a_terminal(terminal: bool) -> None:
    out, err = io.StringIO(), Terminal() if terminal else io.StringIO()
    printer = RunPrinter(out, err, quiet=False)
    for event in [
        ev.StepStarted(agent="solver", step=1),
        ev.ThinkingStreamed(agent="solver", text="2 and 3"),
        ev.ThinkingStreamed(agent="solver", text=" make 5"),
        ev.TokenStreamed(agent="solver", text='{"tool": "finish"}'),
        ev.ActionProposed(agent="solver", step=1, tool="finish", arguments={"answer": "5"}),
    ]:
        printer(event)

    dim, plain = ("\x1b[2m", "\x1b[0m") if terminal else ("", "")
    # Only the answer's tokens on stdout: the reasoning is not what the agent answered.
    assert out.getvalue() == '{"tool": "finish"}\n'
    assert err.getvalue() == (
        f"{dim}[solver is thinking]\n2 and 3 make 5\n{plain}"
        '[Step 1: solver proposes finish {"answer": "5"}]\n'
    )


def test_reasoning_is_left_out_of_quiet_output() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = RunPrinter(out, err, quiet=True)
    printer(ev.ThinkingStreamed(agent="solver", text="2 and 3 make 5"))
    printer(
        ev.RunFinished(
            status="completed", answer="5", prompt_tokens=1, completion_tokens=1, seconds=0.1
        )
    )
    assert (out.getvalue(), err.getvalue()) == ("", "")


def test_a_recorded_runs_reasoning_is_listed_apart_from_its_tokens() -> None:
    out = io.StringIO()
    print_events(
        [
            ev.ThinkingStreamed(seq=1, agent="solver", text="2 and 3"),
            ev.ThinkingStreamed(seq=2, agent="solver", text=" make 5"),
            ev.TokenStreamed(seq=3, agent="solver", text='{"tool": "finish"}'),
        ],
        out,
    )
    assert out.getvalue() == (
        "\nEvents:\n"
        "      1-2  solver thought: 2 and 3 make 5\n"
        '      3-3  solver wrote: {"tool": "finish"}\n'
    )
