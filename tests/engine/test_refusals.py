"""Rules the agent loop keeps in code: what a person rejected or what failed is not proposed
again and never raises Φ, hand-overs go only where they fit, an agent that can only answer
answers in its own words, and a first step whose task clearly points at a tool calls it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.critic import FAILED_STEP_FLAG
from purpose_desktop.engine.learning import dead_ends
from purpose_desktop.engine.learning.memory import Heuristic
from purpose_desktop.engine.loop.choices import misfit_handover, repeated_success
from purpose_desktop.engine.loop.run import RunOutcome
from purpose_desktop.engine.loop.tool_source import ToolSource
from purpose_desktop.engine.review import ActionDecision, ScriptedReview
from purpose_desktop.engine.specs import LoadedTeam
from purpose_desktop.engine.trajectory import Action, Exchange, Observation
from purpose_desktop.models.messages import ChatMessage, GenerationOptions
from purpose_desktop.models.scripted import FunctionModel, ScriptedProvider
from tests.support.scripted_team import (
    act,
    make_team,
    memory_at,
    one_agent_team,
    runner,
    team_model,
)


def of_type(events: list[ev.Event], kind: type[ev.E]) -> list[ev.E]:
    return [e for e in events if isinstance(e, kind)]


def offers(messages: Sequence[ChatMessage], tool: str) -> bool:
    """Whether the prompt offers ``tool`` among the actions."""
    return f'"tool": "{tool}"' in messages[0].content


def test_a_rejected_call_is_not_proposed_again_and_does_not_raise_phi(tmp_path: Path) -> None:
    prompts: list[str] = []
    offered: list[bool] = []

    def agent(messages: Sequence[ChatMessage]) -> str:
        prompts.append("\n".join(m.content for m in messages))
        offered.append(offers(messages, "calculator"))
        if offers(messages, "calculator"):
            return act("calculator", expression="2**99999")
        return act("finish", answer="4")

    # A critic that takes the person's rejection as progress, as a small model did.
    model = team_model(agent, score=10)
    review = ScriptedReview(actions=[ActionDecision("reject", reason="too big, use 2+2")])
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path, review="always"), "Add two and two", [events.append], review
        )
    )

    proposed = [(e.tool, dict(e.arguments)) for e in of_type(events, ev.ActionProposed)]
    assert proposed == [("calculator", {"expression": "2**99999"}), ("finish", {"answer": "4"})]
    # Asked for another sample with the calculator still there (other arguments might do),
    # then, as the same call came back, without it.
    another, without = [e.message for e in of_type(events, ev.WarningRaised)]
    assert another.startswith(
        "solver is asked for another answer: "
        "calculator(expression=2**99999) gave before: Rejected by a person"
    )
    assert without.startswith("solver is asked again without calculator: ")
    # The person's reason is in front of the agent when it is asked again.
    assert "too big, use 2+2" in prompts[1]
    assert offered == [True, True, True, False]
    rejected = of_type(events, ev.Scored)[0]
    assert (rejected.phi_before, rejected.phi) == (0.0, 0.0)
    assert FAILED_STEP_FLAG in rejected.flag
    assert outcome.status == "completed" and outcome.answer == "4"


def test_a_step_whose_tool_failed_does_not_raise_phi(tmp_path: Path) -> None:
    model = team_model(
        [act("read_file", path="missing.txt"), act("finish", answer="missing.txt does not exist")],
        score=9,
    )
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path, tools="[read_file]"), "read missing.txt", [events.append]
        )
    )
    failed, answered = of_type(events, ev.Scored)
    assert (failed.phi_before, failed.phi) == (0.0, 0.0)
    assert answered.phi == 9.0
    assert outcome.phi_curve == (0.0, 0.0, 9.0)


def test_an_agent_left_only_with_a_rejected_answer_fails_its_step(tmp_path: Path) -> None:
    model = team_model(lambda messages: act("finish", answer="red"))
    review = ScriptedReview(actions=[ActionDecision("reject", reason="name three")])
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path, tools="[]", review="always", max_steps=3),
            "Name three primary colours.",
            [events.append],
            review,
        )
    )
    # Rejected once, then never proposed again: other samples are asked for, then the step
    # fails rather than repeat it.
    assert [e.arguments for e in of_type(events, ev.ActionProposed)] == [{"answer": "red"}]
    assert outcome.status == "failed"
    assert "has nothing to propose but finish(answer=red) gave before" in (outcome.error or "")


def two_agent_team(folder: Path, *, helper_expertise: str = "[colour]") -> LoadedTeam:
    return make_team(
        "name: T\nagents:\n"
        "  - name: counter\n    role: Count.\n    model: m\n    tools: [calculator]\n"
        "    expertise: [arithmetic]\n    max_steps: 3\n"
        f"  - name: helper\n    role: Help.\n    model: m\n    tools: []\n"
        f"    expertise: {helper_expertise}\n    max_steps: 2\n",
        folder,
    )


def test_work_the_agents_own_tools_fit_is_not_handed_over(tmp_path: Path) -> None:
    def counter(messages: Sequence[ChatMessage]) -> str:
        if offers(messages, "delegate"):
            return act("delegate", agent="helper", task="17 * 23 }\n\nThe answer is 443.")
        if "Observation" in messages[-1].content or "391" in messages[-1].content:
            return act("finish", answer="391")
        return act("calculator", expression="17*23")

    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": team_model(counter)})).run(
            two_agent_team(tmp_path), "Multiply 17 by 23 with arithmetic", [events.append]
        )
    )
    # At each step the hand-over is refused, its task read as one clean line before the rule
    # looked at it.
    warnings = {e.message for e in of_type(events, ev.WarningRaised)}
    assert warnings == {
        "counter is asked again without delegate: handing '17 * 23' to helper "
        "is not done: counter's own tools fit it, helper's do not"
    }
    assert [e.agent for e in of_type(events, ev.AgentSelected)] == ["counter"]
    assert [e.tool for e in of_type(events, ev.ActionProposed)] == ["calculator", "finish"]
    assert (outcome.status, outcome.answer) == ("completed", "391")


def test_a_rejected_call_may_come_back_with_other_arguments(tmp_path: Path) -> None:
    def agent(messages: Sequence[ChatMessage]) -> str:
        history = "\n".join(m.content for m in messages[1:])
        if "Rejected by a person" not in history:
            return act("calculator", expression="2**99999")
        if "calculator" not in history.split("Rejected by a person", 1)[1]:
            return act("calculator", expression="2+2")
        return act("finish", answer="4")

    review = ScriptedReview(actions=[ActionDecision("reject", reason="use 2+2")])
    events: list[ev.Event] = []
    asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": team_model(agent)})).run(
            one_agent_team(tmp_path, review="always"), "Add two and two", [events.append], review
        )
    )
    assert [dict(e.arguments) for e in of_type(events, ev.ToolStarted)] == [{"expression": "2+2"}]


def test_handing_over_work_that_needs_the_teammates_tools_is_sound(tmp_path: Path) -> None:
    team = make_team(
        "name: T\nagents:\n"
        "  - name: writer\n    role: Write.\n    model: m\n    tools: []\n"
        "    expertise: [report, arithmetic]\n    max_steps: 2\n"
        "  - name: counter\n    role: Count.\n    model: m\n    tools: [calculator]\n"
        "    expertise: [sums]\n    max_steps: 2\n",
        tmp_path,
    )
    writer, counter = team.spec.agents
    tools = asyncio.run(ToolSource().agent_tools(team.spec))
    assert (
        misfit_handover(writer, counter, "compute 17*23 arithmetic for the report", tools) is None
    )
    refused = misfit_handover(writer, counter, "write the arithmetic report", tools)
    assert refused is not None and "writer's expertise fits it better" in refused.why


def test_the_same_hand_over_twice_is_caught_like_a_repeated_call(tmp_path: Path) -> None:
    def agents(messages: Sequence[ChatMessage]) -> str:
        if "You are helper" in messages[0].content:
            return act("finish", answer="red")
        if offers(messages, "delegate"):
            return act("delegate", agent="helper", task="name a colour")
        return act("finish", answer="red")

    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": team_model(agents)})).run(
            two_agent_team(tmp_path), "name a colour for the arithmetic", [events.append]
        )
    )
    handed = [e for e in of_type(events, ev.ActionProposed) if e.tool == "delegate"]
    assert len(handed) == 2
    # The helper worked once; the second identical hand-over was not carried out.
    assert [e.agent for e in of_type(events, ev.AgentSelected)] == ["counter", "helper"]
    second = [s for s in outcome.steps if s.action.tool == "delegate"][1]
    assert not second.observation.ok
    assert second.observation.text.startswith(
        'Not handed over again: the same hand-over gave "helper answered: red"'
    )


def test_an_agent_that_can_only_answer_answers_in_its_own_words(tmp_path: Path) -> None:
    asked: list[bool] = []

    def helper(messages: Sequence[ChatMessage]) -> str:
        asked.append("JSON" in messages[0].content)
        return "The primary colours are red, yellow and blue."

    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": team_model(helper)})).run(
            one_agent_team(tmp_path, tools="[]"), "Name three primary colours.", [events.append]
        )
    )
    assert asked == [False]  # no action format in its prompt
    (proposed,) = of_type(events, ev.ActionProposed)
    assert (proposed.tool, proposed.parse_method) == ("finish", "text")
    assert outcome.answer == "The primary colours are red, yellow and blue."


def test_a_call_written_instead_of_an_answer_fails_the_step(tmp_path: Path) -> None:
    model = team_model(lambda messages: act("calculator", expression="1+1"))
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path, tools="[]", max_steps=2), "Name a colour."
        )
    )
    assert outcome.status == "failed"
    assert "wrote a call it cannot make instead of an answer" in (outcome.error or "")


def test_an_agent_narrowed_to_finishing_is_still_asked_in_its_action_format(
    tmp_path: Path,
) -> None:
    formats: list[bool] = []

    def agent(messages: Sequence[ChatMessage]) -> str:
        formats.append(messages[0].content.startswith("Reply with exactly one JSON object"))
        return (
            act("calculator", expression="1/0")
            if offers(messages, "calculator")
            else act("finish", answer="undefined")
        )

    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": team_model(agent)})).run(
            one_agent_team(tmp_path), "What is 1/0?"
        )
    )
    assert outcome.answer == "undefined"
    assert all(formats)


def test_an_answer_written_as_a_finish_action_anyway_is_read_as_one(tmp_path: Path) -> None:
    model = team_model([act("finish", answer="Paris")])
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path, tools="[]"), "What is the capital of France?"
        )
    )
    assert outcome.answer == "Paris"


def taking_notes(
    folder: Path,
    script: list[str],
    answer: str,
    tools: str,
    asked: list[Sequence[ChatMessage]] | None = None,
) -> tuple[RunOutcome, list[ev.Event]]:
    """A run of "Keep two colours." by an agent that acts from ``script`` (then reads its
    notes, again and again) and answers ``answer`` once its note tools are taken away;
    every ask's messages go to ``asked``."""

    def agent(messages: Sequence[ChatMessage]) -> str:
        if asked is not None:
            asked.append(messages)
        if not (offers(messages, "note") or offers(messages, "read_notes")):
            return act("finish", answer=answer)
        return script.pop(0) if script else act("read_notes")

    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(folder, ScriptedProvider({"m": team_model(agent)})).run(
            one_agent_team(folder, tools=tools, max_steps=6), "Keep two colours.", [events.append]
        )
    )
    return outcome, events


def test_the_latest_call_that_worked_is_the_one_not_made_again() -> None:
    read, note = Action("read_notes"), Action("note", {"text": "red"})
    worked = Exchange(read, Observation("1. red"))
    failed = Exchange(Action("calculator", {"expression": "1/0"}), Observation("no", ok=False))
    refused = repeated_success(read, [worked, failed])
    assert refused is not None and refused.answered == worked
    # Something that worked since may have changed what it gives: the call is made.
    assert repeated_success(read, [worked, Exchange(note, Observation("Noted."))]) is None
    assert repeated_success(read, [failed]) is None
    assert repeated_success(Action("finish", {"answer": "1. red"}), [worked]) is None


def test_a_call_proposed_again_after_it_worked_is_not_made_and_the_agent_answers_with_it(
    tmp_path: Path,
) -> None:
    asked: list[Sequence[ChatMessage]] = []
    script = [act("note", text="red"), act("note", text="blue"), act("read_notes")]
    outcome, events = taking_notes(tmp_path, script, "red and blue", "[note, read_notes]", asked)
    assert outcome.status == "completed", outcome.error
    assert [step.action.tool for step in outcome.steps] == ["note", "note", "read_notes", "finish"]
    assert outcome.answer == "red and blue"
    # The ask after the refused repeat offers finishing alone, in the same action format.
    last = asked[-1]
    assert last[0].content.startswith("Reply with exactly one JSON object")
    assert offers(last, "finish") and not offers(last, "note")
    # It is shown what the call gave as if it had been made again: the result twice.
    assert [message.content for message in last[-3:]] == [
        "Observation: 1. red\n2. blue",
        '{"tool": "read_notes", "thought": "use read_notes"}',
        "Observation: 1. red\n2. blue\nIf this answers the task, finish with it.",
    ]
    warnings = [w.message for w in of_type(events, ev.WarningRaised)]
    assert any(
        "solver is asked to answer: read_notes() gave already: 1. red" in w for w in warnings
    ), warnings


def test_an_agent_that_cannot_answer_after_repeating_a_call_finishes_with_its_result(
    tmp_path: Path,
) -> None:
    # A model that ignores the schema and writes the same call whatever it is offered.
    script = iter([act("note", text="red")])
    model = team_model(lambda messages: next(script, act("read_notes")))
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path, tools="[note, read_notes]", max_steps=6), "Keep a colour."
        )
    )
    assert outcome.status == "completed", outcome.error
    assert [step.action.tool for step in outcome.steps] == ["note", "read_notes", "finish"]
    assert outcome.answer == "1. red"
    assert outcome.steps[-1].action.thought.startswith("chosen by rule")


def test_a_call_that_worked_proposed_again_after_failed_calls_is_not_made_either(
    tmp_path: Path,
) -> None:
    script = [act("note", text="red"), act("read_notes"), act("calculator", expression="1/0")]
    # Its answer holds nothing of what it is asked to answer with.
    outcome, events = taking_notes(tmp_path, script, "All done", "[note, read_notes, calculator]")
    assert outcome.status == "completed", outcome.error
    steps = [(step.action.tool, step.observation.ok) for step in outcome.steps]
    assert steps == [("note", True), ("read_notes", True), ("calculator", False), ("finish", True)]
    # Its answer held nothing of the notes it was asked to answer with: the notes are.
    assert outcome.answer == "1. red"
    warnings = [w.message for w in of_type(events, ev.WarningRaised)]
    assert any("solver is asked to answer: read_notes() gave already" in w for w in warnings)
    assert any("holds nothing of what it was asked to answer with" in w for w in warnings)


def test_a_call_a_person_edits_into_the_one_just_made_is_told_what_it_gave_as_it_was(
    tmp_path: Path,
) -> None:
    script = iter(
        [
            act("note", text="red"),
            act("note", text="blue"),
            act("read_notes"),
            act("finish", answer="blue"),
            act("finish", answer="red and blue"),
        ]
    )
    model = team_model(lambda messages: next(script))
    approve = ActionDecision("approve")
    review = ScriptedReview(
        actions=[approve, approve, approve, ActionDecision("edit", Action("read_notes", {}))]
    )
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path, tools="[note, read_notes]", max_steps=6, review="always"),
            "Keep two colours.",
            review=review,
        )
    )
    assert outcome.status == "completed", outcome.error
    again = outcome.steps[3].observation
    assert not again.ok
    # The notes' two lines as they are, not escaped into one.
    assert again.text.startswith('Not run again: the same call gave "1. red\n2. blue".')


def schema_choices(options: GenerationOptions) -> list[str]:
    """The actions an ask's schema allows, by name."""
    schema = options.json_schema or {}
    return [branch["properties"]["tool"]["const"] for branch in schema.get("anyOf", ())]


def grammar_keeping(actions: list[str]) -> FunctionModel:
    model = team_model(actions)
    model.keeps_to_schemas = True
    return model


def act_calls(model: FunctionModel) -> list[GenerationOptions]:
    return [options for _, options in model.calls if "anyOf" in (options.json_schema or {})]


def test_a_first_step_whose_task_points_clearly_at_a_tool_is_held_to_calling_it(
    tmp_path: Path,
) -> None:
    model = grammar_keeping([act("calculator", expression="7*8"), act("finish", answer="56")])
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path, tools="[calculator, note, read_notes]"),
            "How many legs do 7 spiders have?",
        )
    )
    assert outcome.answer == "56"
    first, second = act_calls(model)
    assert schema_choices(first) == ["calculator"]
    assert '"tool": "finish"' not in model.calls[0][0][0].content
    # After the first observation the agent chooses again among everything.
    assert schema_choices(second) == ["calculator", "note", "read_notes", "finish"]


def test_once_the_calculator_worked_out_the_tasks_expression_its_result_is_the_answer(
    tmp_path: Path,
) -> None:
    model = team_model([act("calculator", expression="17*23")])
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path), "What is 17 * 23?", [events.append]
        )
    )
    assert (outcome.status, outcome.answer) == ("completed", "391")
    assert len(act_calls(model)) == 1  # the model was not asked for the finish
    finish = of_type(events, ev.ActionProposed)[-1]
    assert (finish.tool, finish.parse_method, finish.attempts) == ("finish", "rule", 0)

    # Another expression than the task's: the model is asked what comes next.
    other = team_model([act("calculator", expression="17*24"), act("finish", answer="408")])
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": other})).run(
            one_agent_team(tmp_path), "What is 17 * 23?"
        )
    )
    assert outcome.answer == "408"
    assert len(act_calls(other)) == 2


def test_a_first_step_whose_task_points_at_one_tool_more_than_the_rest_offers_it_after_finish(
    tmp_path: Path,
) -> None:
    model = team_model([act("read_notes"), act("finish", answer="Nothing yet.")])
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path, tools="[calculator, note, read_notes]"),
            "What did I read yesterday?",
        )
    )
    assert outcome.answer == "Nothing yet."
    (first, first_options), (second, second_options) = [
        (messages[0].content, options)
        for messages, options in model.calls
        if "anyOf" in (options.json_schema or {})
    ]
    # Not held to it: finishing stays a choice, listed before the tool.
    assert schema_choices(first_options) == ["read_notes", "finish"]
    assert first.index('"tool": "finish"') < first.index('"tool": "read_notes"')
    assert '"tool": "note"' not in first
    # After the first observation the agent chooses again among everything, finishing last.
    assert schema_choices(second_options) == ["read_notes", "note", "calculator", "finish"]
    assert second.index('"tool": "read_notes"') < second.index('"tool": "finish"')


def test_a_first_step_whose_task_needs_one_of_the_tools_it_points_at_calls_one_of_them(
    tmp_path: Path,
) -> None:
    task = "Read the file notes.txt and write it to copy.txt"
    tools = "[read_file, write_file, list_files]"
    held = grammar_keeping([act("read_file", path="notes.txt"), act("finish", answer="done")])
    asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": held})).run(
            one_agent_team(tmp_path, tools=tools), task
        )
    )
    # Both tools it points at most, and no finishing: the task needs one of them.
    assert schema_choices(act_calls(held)[0]) == ["read_file", "write_file"]
    assert '"tool": "finish"' not in held.calls[0][0][0].content

    # A model that does not keep to schemas is not held to it.
    free = team_model([act("read_file", path="notes.txt"), act("finish", answer="done")])
    asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": free})).run(
            one_agent_team(tmp_path, tools=tools), task
        )
    )
    assert schema_choices(act_calls(free)[0]) == ["read_file", "write_file", "finish"]


def test_no_rule_holds_a_first_step_when_no_tool_stands_out_or_the_model_ignores_schemas(
    tmp_path: Path,
) -> None:
    unclear = grammar_keeping([act("finish", answer="red, blue, yellow")])
    asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": unclear})).run(
            one_agent_team(tmp_path), "Name the three primary colours."
        )
    )
    assert schema_choices(act_calls(unclear)[0]) == ["calculator", "finish"]
    # At a first step finishing is listed first all the same.
    prompt = unclear.calls[0][0][0].content
    assert prompt.index('"tool": "finish"') < prompt.index('"tool": "calculator"')

    ignoring = team_model([act("finish", answer="391")])
    asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": ignoring})).run(
            one_agent_team(tmp_path), "What is 17*23?"
        )
    )
    assert schema_choices(act_calls(ignoring)[0]) == ["calculator", "finish"]


def test_when_the_clear_tools_call_is_refused_every_other_choice_is_offered(
    tmp_path: Path,
) -> None:
    memory = memory_at(tmp_path / "m.sqlite3")
    task = "What is 17*23?"
    wrong = Action("calculator", {"expression": "17+23"})
    asyncio.run(
        memory.add_heuristic(
            Heuristic("T", dead_ends.TIER, task, dead_ends.lesson(wrong, "it gave 40"))
        )
    )
    model = grammar_keeping([act("calculator", expression="17+23"), act("finish", answer="391")])
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model}), memory).run(
            one_agent_team(tmp_path), task, [events.append]
        )
    )
    assert outcome.answer == "391"
    first, second = act_calls(model)
    assert (schema_choices(first), schema_choices(second)) == (["calculator"], ["finish"])
    (warning,) = [e.message for e in events if isinstance(e, ev.WarningRaised)]
    assert "asked again without calculator" in warning
