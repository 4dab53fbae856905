"""Exact control flows of the agent loop, driven by scripted models and reviews."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from pathlib import Path

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.learning.memory import Tier
from purpose_desktop.engine.review import ActionDecision, ScoreDecision, ScriptedReview
from purpose_desktop.engine.trajectory import Action
from purpose_desktop.models.scripted import ScriptedProvider
from tests.support.scripted_team import act, memory_at, one_agent_team, runner, team_model


def of_type(events: list[ev.Event], kind: type[ev.E]) -> list[ev.E]:
    return [e for e in events if isinstance(e, kind)]


def test_a_calculator_step_then_finish_completes_the_run(tmp_path: Path) -> None:
    model = team_model(
        [act("calculator", expression="17*23"), act("finish", answer="391")],
        score=lambda messages: 5,
    )
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path), "Multiply 17 by 23.", [events.append]
        )
    )
    assert outcome.status == "completed"
    assert outcome.answer == "391"
    assert [s.action.tool for s in outcome.steps] == ["calculator", "finish"]
    assert outcome.steps[0].observation.text == "391"
    (finished,) = of_type(events, ev.ToolFinished)
    assert (finished.tool, finished.ok, finished.output) == ("calculator", True, "391")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert outcome.phi_curve == (0.0, 5.0, 5.0)
    assert of_type(events, ev.RunFinished)[0].phi == 5.0
    # Every call was costed: two actions and two scores.
    assert [e.purpose for e in of_type(events, ev.CostRecorded)] == ["act", "score", "act", "score"]
    assert outcome.costs.total.calls == 4
    assert outcome.costs.by_agent["solver"].calls == 4


def test_a_rejected_action_is_not_run_and_is_remembered(tmp_path: Path) -> None:
    model = team_model(
        [
            act("calculator", expression="2**99999"),
            act("calculator", expression="2+2"),
            act("finish", answer="4"),
        ]
    )
    review = ScriptedReview(actions=[ActionDecision("reject", reason="too big")])
    events: list[ev.Event] = []
    memory = memory_at(tmp_path / "m.sqlite3")
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model}), memory).run(
            one_agent_team(tmp_path, review="always"), "Add two and two", [events.append], review
        )
    )
    assert outcome.status == "completed"
    first = outcome.steps[0]
    assert not first.observation.ok
    assert first.observation.text == "Rejected by a person: too big"
    assert [e.arguments["expression"] for e in of_type(events, ev.ToolStarted)] == ["2+2"]
    verdicts = [(e.verdict, e.by) for e in of_type(events, ev.ActionReviewed)]
    assert verdicts == [("rejected", "person"), ("approved", "person"), ("approved", "person")]
    learned = asyncio.run(memory.find_heuristics("T", "Add two and two", tiers=[Tier.TOOL]))
    assert any(
        "Do not call calculator(expression=2**99999)" in h.strategy and "too big" in h.strategy
        for h in learned
    )


def test_an_edited_action_runs_as_edited_and_always_allow_stops_asking(tmp_path: Path) -> None:
    model = team_model(
        [
            act("calculator", expression="17*24"),
            act("calculator", expression="1+1"),
            act("finish", answer="391"),
        ]
    )
    review = ScriptedReview(
        actions=[
            ActionDecision(
                "edit", action=Action("calculator", {"expression": "17*23"}), always_allow=True
            )
        ]
    )
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path, review="risky", tools="[calculator, python]"),
            "17 times 23",
            [events.append],
            review,
        )
    )
    # "risky" asks only for... the calculator is not risky, so nothing was asked at all.
    assert review.action_requests == []
    assert outcome.status == "completed"

    model = team_model(
        [
            act("calculator", expression="17*24"),
            act("calculator", expression="1+1"),
            act("finish", answer="391"),
        ]
    )
    review = ScriptedReview(
        actions=[
            ActionDecision(
                "edit", action=Action("calculator", {"expression": "17*23"}), always_allow=True
            )
        ]
    )
    events.clear()
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path, review="always"),
            "seventeen times 23",
            [events.append],
            review,
        )
    )
    assert [e.output for e in of_type(events, ev.ToolFinished)] == ["391", "2"]
    assert outcome.steps[0].action.arguments == {"expression": "17*23"}
    # After "always allow", only the finish was put to the person, not the second calculation.
    assert [r.action.tool for r in review.action_requests] == ["calculator", "finish"]
    assert [e.verdict for e in of_type(events, ev.ActionReviewed)] == [
        "edited",
        "approved",
        "approved",
    ]


def test_a_human_score_override_is_kept_and_calibrates_similar_states(tmp_path: Path) -> None:
    memory = memory_at(tmp_path / "m.sqlite3")
    provider_model = team_model(
        lambda messages: (
            act("finish", answer="391")
            if "Observation" in messages[-1].content
            else act("calculator", expression="17*23")
        ),
        score=3,
    )
    team = one_agent_team(tmp_path, review="always")
    review = ScriptedReview(scores=[ScoreDecision(9, "the product is right")])
    events: list[ev.Event] = []
    run = runner(tmp_path, ScriptedProvider({"m": provider_model}), memory)
    first = asyncio.run(run.run(team, "What is 17 * 23?", [events.append], review))
    (override,) = of_type(events, ev.ScoreOverridden)
    assert (override.critic_phi, override.phi) == (3.0, 9.0)
    assert first.steps[0].phi_after == 9.0

    # A fresh runner (no cache) on a similar task: the critic still says 3, but the person's
    # correction of a similar state lifts it.
    events.clear()
    again = runner(tmp_path, ScriptedProvider({"m": provider_model}), memory)
    asyncio.run(again.run(team, "What is 17 * 23 exactly?", [events.append]))
    scored = of_type(events, ev.Scored)[0]
    assert scored.calibrated_by >= 1
    assert scored.phi > 3.0

    # Without the anchor, the same task scores what the critic says.
    events.clear()
    control = runner(
        tmp_path, ScriptedProvider({"m": provider_model}), memory_at(tmp_path / "other.sqlite3")
    )
    asyncio.run(control.run(team, "What is 17 * 23 exactly?", [events.append]))
    assert of_type(events, ev.Scored)[0].phi == 3.0


def test_unconstrained_answers_go_through_the_fallback_chain(tmp_path: Path) -> None:
    model = team_model(
        [
            "Thought: multiply.\nAction: calculator\nAction Input: 6*7",
            'Sure!\n```json\n{"tool": "finish", "answer": "42"}\n```',
        ]
    )
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path), "six times seven", [events.append]
        )
    )
    assert outcome.status == "completed"
    assert [e.parse_method for e in of_type(events, ev.ActionProposed)] == [
        "keywords",
        "code-block",
    ]


def test_an_unreadable_answer_is_retried_then_fails_the_step_then_the_run(
    tmp_path: Path,
) -> None:
    model = team_model(["I am not sure.", act("finish", answer="done")])
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path), "anything", [events.append]
        )
    )
    assert outcome.status == "completed"
    assert of_type(events, ev.ActionProposed)[0].attempts == 2
    assert "simpler prompt" in of_type(events, ev.WarningRaised)[0].message
    # The retry used the simpler prompt: format and task only, and what was wrong.
    retry_messages = model.calls[1][0]
    assert len(retry_messages) == 2
    task, correction = retry_messages[1].content.split("\n")
    assert task == "Task: anything"
    assert correction.startswith("Your last answer was not a valid action: Expected one action")
    assert '"I am not sure."' in correction

    model = team_model(["nonsense"] * 4)
    events.clear()
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path), "anything", [events.append]
        )
    )
    assert outcome.status == "failed"
    assert outcome.error is not None
    assert "could not produce an action" in outcome.error
    assert "nonsense" in outcome.error


def test_a_loop_that_never_finishes_stops_at_the_step_limit(tmp_path: Path) -> None:
    sums = itertools.count(1)
    model = team_model(lambda messages: act("calculator", expression=f"1+{next(sums)}"))
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path, max_steps=3), "count forever"
        )
    )
    assert outcome.status == "failed"
    assert outcome.error == "solver reached its limit of 3 steps without finishing."
    assert len(outcome.steps) == 3


def test_tool_failures_and_sandbox_escapes_become_observations(tmp_path: Path) -> None:
    model = team_model(
        [
            act("read_file", path="../../etc/passwd"),
            act("read_file", path="missing.txt"),
            act("finish", answer="no"),
        ]
    )
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path, tools="[read_file]"), "read a file", [events.append]
        )
    )
    assert outcome.status == "completed"
    escape, missing = of_type(events, ev.ToolFinished)
    assert not escape.ok and "outside" in escape.output
    assert not missing.ok
    assert not outcome.steps[0].observation.ok


def test_a_slow_subscriber_does_not_stall_the_run(tmp_path: Path) -> None:
    model = team_model([act("calculator", expression="1+2"), act("finish", answer="3")])
    fast: list[tuple[ev.Event, float]] = []
    slow: list[tuple[ev.Event, float]] = []

    async def lagging(event: ev.Event) -> None:
        await asyncio.sleep(0.05)
        slow.append((event, asyncio.get_running_loop().time()))

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        await runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path), "1+2", [lambda e: fast.append((e, loop.time())), lagging]
        )

    asyncio.run(scenario())
    assert [e for e, _ in slow] == [e for e, _ in fast]  # everything, in order
    finished_fast = fast[-1][1]
    # The run was over long before the slow subscriber saw even half of it.
    assert finished_fast < slow[len(slow) // 2][1]


@pytest.mark.process
def test_cancelling_during_a_tool_ends_the_run_and_its_process(tmp_path: Path) -> None:
    import psutil

    model = team_model([act("python", code="import time\ntime.sleep(60)")])
    events: list[ev.Event] = []

    async def scenario() -> None:
        tool_started = asyncio.Event()

        def watch(event: ev.Event) -> None:
            events.append(event)
            if isinstance(event, ev.ToolStarted):
                tool_started.set()

        task = asyncio.ensure_future(
            runner(tmp_path, ScriptedProvider({"m": model})).run(
                one_agent_team(tmp_path, tools="[python]"), "sleep", [watch]
            )
        )
        await tool_started.wait()
        await asyncio.sleep(0.5)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert of_type(events, ev.RunFinished)[0].status == "cancelled"
    assert not [
        p
        for p in psutil.Process().children(recursive=True)
        if "time.sleep(60)" in " ".join(p.cmdline())
    ]


def test_costs_use_the_price_table_for_priced_models(tmp_path: Path) -> None:
    from purpose_desktop.engine.costs import Price, PriceTable

    model = team_model([act("finish", answer="hi")])
    outcome = asyncio.run(
        runner(
            tmp_path,
            ScriptedProvider({"server:cloud/big": model}),
            prices=PriceTable({"server:cloud/*": Price(1_000_000.0, 2_000_000.0)}),
        ).run(one_agent_team(tmp_path, model="server:cloud/big"), "say hi")
    )
    total = outcome.costs.total
    assert total.cost == total.prompt_tokens * 1.0 + total.completion_tokens * 2.0
    assert outcome.costs.by_model["server:cloud/big"].cost == total.cost


def test_the_event_file_holds_every_event_as_json(tmp_path: Path) -> None:
    from purpose_desktop.cli_run import EventFileWriter

    path = tmp_path / "events.jsonl"
    writer = EventFileWriter.open(path)
    model = team_model([act("calculator", expression="2*3"), act("finish", answer="6")])
    events: list[ev.Event] = []
    asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path), "2*3", [events.append, writer]
        )
    )
    writer.close()
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["seq"] for line in lines] == [e.seq for e in events]
    assert [line["type"] for line in lines][:2] == ["RunStarted", "AgentSelected"]
    assert lines[-1]["type"] == "RunFinished" and lines[-1]["answer"] == "6"


def test_a_heuristic_injected_by_hand_reaches_the_agent(tmp_path: Path) -> None:
    from purpose_desktop.engine.learning.memory import Heuristic

    memory = memory_at(tmp_path / "m.sqlite3")
    injected = asyncio.run(
        memory.add_heuristic(
            Heuristic(
                "T",
                Tier.STRATEGIC,
                "multiply two numbers",
                "Always check the product twice.",
                q_value=0.9,
                source="human",
            )
        )
    )
    model = team_model([act("finish", answer="6")])
    events: list[ev.Event] = []
    asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model}), memory).run(
            one_agent_team(tmp_path), "Multiply two numbers: 2 and 3", [events.append]
        )
    )
    (retrieved,) = of_type(events, ev.MemoryRetrieved)
    shown = ev.RecalledHeuristic(injected.id or 0, "strategic", "Always check the product twice.")
    assert shown in retrieved.heuristics
    assert "Always check the product twice." in model.calls[0][0][0].content


def test_a_paused_run_waits_before_its_next_step_until_it_goes_on(tmp_path: Path) -> None:
    from purpose_desktop.engine.loop.run_context import RunControl

    model = team_model([act("calculator", expression="17*23"), act("finish", answer="391")])
    control = RunControl()
    control.pause()  # before it starts: it waits before step 1
    events: list[ev.Event] = []
    paused = asyncio.Event()

    def watch(event: ev.Event) -> None:
        events.append(event)
        if isinstance(event, ev.RunPaused):
            paused.set()

    async def scenario() -> None:
        running = asyncio.ensure_future(
            runner(tmp_path, ScriptedProvider({"m": model})).run(
                one_agent_team(tmp_path), "What is 17 * 23?", [watch], control=control
            )
        )
        await asyncio.wait_for(paused.wait(), 10)
        await asyncio.sleep(0.1)
        assert not of_type(events, ev.StepStarted)
        assert not running.done()
        control.go_on()
        outcome = await asyncio.wait_for(running, 10)
        assert outcome.answer == "391"

    asyncio.run(scenario())
    kinds = [type(e).__name__ for e in events]
    at = kinds.index("RunPaused")
    assert kinds[at + 1 : at + 3] == ["RunContinued", "StepStarted"]
    assert [e.before_step for e in of_type(events, ev.RunPaused)] == [1]
