"""Which agent takes a task: expertise, tool use, complexity, the router model, delegation."""

from __future__ import annotations

import asyncio
from pathlib import Path

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.loop.routing import complexity
from purpose_desktop.models.scripted import ScriptedProvider
from tests.support.scripted_team import act, make_team, memory_at, runner, team_model

TWO = """name: Pair
default_model: small
agents:
  - name: counter
    role: Does arithmetic.
    model: small
    expertise: [arithmetic, numbers, sum]
    tools: [calculator]
  - name: writer
    role: Writes prose.
    model: big
    expertise: [poem, story, prose]
"""


def selected(
    tmp_path: Path,
    team_text: str,
    task: str,
    provider: ScriptedProvider,
) -> ev.AgentSelected:
    events: list[ev.Event] = []
    asyncio.run(
        runner(tmp_path, provider).run(make_team(team_text, tmp_path), task, [events.append])
    )
    return next(e for e in events if isinstance(e, ev.AgentSelected))


def finisher(name: str = "m", route: str = "") -> object:
    return team_model(lambda messages: act("finish", answer="done"), route=route, name=name)


def test_expertise_keywords_decide(tmp_path: Path) -> None:
    provider = ScriptedProvider({"small": finisher(), "big": finisher()})
    choice = selected(tmp_path, TWO, "Write a short poem about rain", provider)
    assert choice.agent == "writer"
    assert "poem" in choice.reason
    choice = selected(tmp_path, TWO, "What is the sum of 4 and 5?", provider)
    assert choice.agent == "counter"


def test_a_tie_goes_by_complexity_to_the_smallest_or_largest_model(tmp_path: Path) -> None:
    provider = ScriptedProvider(
        {"small": finisher(), "big": finisher()}, sizes={"small": 100, "big": 10_000}
    )
    simple = selected(tmp_path, TWO, "Say hello.", provider)
    assert simple.agent == "counter"
    assert "simple task stays on the smallest model (small)" in simple.reason
    long_task = (
        "Read the notes. Then compare them with the plan. Then describe what "
        "changed. Finally, suggest improvements and explain why."
    )
    assert complexity(long_task) == "complex"
    complex_choice = selected(tmp_path, TWO, long_task, provider)
    assert complex_choice.agent == "writer"
    assert "largest model" in complex_choice.reason


def test_a_task_needing_tools_avoids_models_that_cannot_use_them(tmp_path: Path) -> None:
    team = TWO.replace(
        "expertise: [poem, story, prose]", "expertise: []\n    tools: [calculator]"
    ).replace("[arithmetic, numbers, sum]", "[]")
    provider = ScriptedProvider(
        {"small": finisher(), "big": finisher()},
        sizes={"small": 10, "big": 10_000},
        base_models=frozenset({"big"}),
    )
    choice = selected(tmp_path, team, "Calculate 12345 * 6789 - 42 / 7 + 3 * 9 - 1", provider)
    assert choice.agent == "counter"
    assert "cannot use" in choice.reason


def test_the_router_model_breaks_a_tie_of_equal_models(tmp_path: Path) -> None:
    team = TWO.replace("model: big", "model: small")
    provider = ScriptedProvider({"small": finisher(route="writer")})
    choice = selected(tmp_path, team, "Say hello.", provider)
    assert choice.agent == "writer"
    assert "router model chose" in choice.reason


def test_an_agent_hands_a_subtask_to_a_teammate(tmp_path: Path) -> None:
    writer_model = team_model(
        lambda messages: act("finish", answer="Rain taps the roof."), name="big"
    )
    counter_model = team_model(
        [
            act("delegate", agent="writer", task="Write one line about rain"),
            act("finish", answer="Here it is: Rain taps the roof."),
        ],
        name="small",
    )
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"small": counter_model, "big": writer_model})).run(
            make_team(TWO, tmp_path), "Count the sum of words in a line about rain", [events.append]
        )
    )
    assert outcome.status == "completed"
    chosen = [e.agent for e in events if isinstance(e, ev.AgentSelected)]
    assert chosen == ["counter", "writer"]
    # The teammate's step is numbered within the run, after the step that delegated to it.
    assert [(s.index, s.agent, s.action.tool) for s in outcome.steps] == [
        (2, "writer", "finish"),
        (1, "counter", "delegate"),
        (3, "counter", "finish"),
    ]
    delegation = outcome.steps[1]
    assert delegation.observation.text == "writer answered: Rain taps the roof."


def test_what_one_agent_learns_another_uses(tmp_path: Path) -> None:
    memory = memory_at(tmp_path / "shared.sqlite3")
    counter_model = team_model(
        [act("calculator", expression="19+24"), act("finish", answer="43")], score=8, name="small"
    )
    writer_model = team_model(lambda messages: act("finish", answer="43"), name="big")
    provider = ScriptedProvider({"small": counter_model, "big": writer_model})
    team = make_team(TWO, tmp_path)
    asyncio.run(
        runner(tmp_path, provider, memory).run(team, "What is the total of 19 and 24 in numbers?")
    )
    events: list[ev.Event] = []
    asyncio.run(
        runner(tmp_path, provider, memory).run(
            team, "What is the total of 19 and 24 as a poem?", [events.append]
        )
    )  # a task of the same kind as the first: the total of two numbers
    assert next(e for e in events if isinstance(e, ev.AgentSelected)).agent == "writer"
    retrieved = next(e for e in events if isinstance(e, ev.MemoryRetrieved))
    assert any("calculator" in shown.strategy for shown in retrieved.heuristics)
    system = writer_model.calls[0][0][0].content
    assert '{"tool": "calculator", "expression": "#+#"} worked' in system
