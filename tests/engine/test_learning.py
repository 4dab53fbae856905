"""What a team distils from a finished run (no model involved: the rules are plain code)."""

from __future__ import annotations

from dataclasses import replace

from purpose_desktop.engine.learning import lessons
from purpose_desktop.engine.learning.memory import Tier
from purpose_desktop.engine.trajectory import (
    CRITIC_UNANSWERED,
    Action,
    Observation,
    Step,
    person_evidence,
)


def result(status: str, *steps: Step, answer: str = "") -> lessons.RunResult:
    return lessons.RunResult(
        "T", "run-1", "A crate holds 24 apples. How many in 17 crates?", status, answer, steps
    )  # type: ignore[arg-type]


def step(index: int, tool: str, phi_after: float, output: str = "", **arguments: str) -> Step:
    return Step(index, "counter", Action(tool, arguments), Observation(output), 0.0, phi_after)


def strategies(run: lessons.RunResult, tier: Tier) -> list[str]:
    return [h.strategy for h in lessons.distil(run) if h.tier is tier]


def test_an_answer_given_at_once_that_scored_low_teaches_to_work_it_out_first() -> None:
    run = result("completed", step(1, "finish", 1.0, answer="17"), answer="17")
    assert strategies(run, Tier.STRATEGIC) == [
        "The answer '17' scored Φ 1 of 10: work the answer out with a tool first, then "
        "finish with its result."
    ]


def test_a_team_without_tools_is_not_told_to_use_one() -> None:
    run = result("completed", step(1, "finish", 0.0, answer="red, blue and yellow"))
    assert strategies(replace(run, has_tools=False), Tier.STRATEGIC) == []


def test_a_low_scored_answer_after_a_tool_teaches_to_finish_with_what_it_gave() -> None:
    run = result(
        "completed",
        step(1, "calculator", 6.0, "408", expression="17*24"),
        step(2, "finish", 0.0, answer="17"),
        answer="17",
    )
    assert strategies(run, Tier.STRATEGIC) == [
        "The answer '17' scored Φ 0 of 10: finish with what the tools gave, not with another "
        "number."
    ]
    assert any("worked: it gave #" in s for s in strategies(run, Tier.TOOL))
    # An answer in words is told so in words.
    words = result("completed", step(1, "python", 1.0, "NameError"), step(2, "finish", 1.0))
    assert strategies(replace(words, answer="finish"), Tier.STRATEGIC) == [
        "The answer 'finish' scored Φ 1 of 10: finish with what the tools gave, not with "
        "another answer."
    ]


def test_a_call_that_worked_is_taught_without_the_result_it_claimed() -> None:
    # A claim shown is a claim copied: the model then writes "= #" and takes a detour.
    run = result(
        "completed",
        step(1, "calculator", 6.0, "408 (17*24 is 408, not 380)", expression="17*24 = 380"),
        step(2, "finish", 8.0, answer="408"),
        answer="408",
    )
    assert strategies(run, Tier.TOOL) == [
        '{"tool": "calculator", "expression": "#*#"} worked: it gave #'
    ]
    # Working the result out once more, however well scored, is not taught.
    again = step(2, "calculator", 9.0, "408", expression="408")
    detour = result("completed", run.steps[0], again, replace(run.steps[1], index=3), answer="408")
    assert strategies(detour, Tier.TOOL) == strategies(run, Tier.TOOL)


def test_an_answer_the_critic_scored_low_that_is_what_a_tool_gave_teaches_nothing() -> None:
    # Advice to finish with what the tools gave would only repeat what was done.
    run = result(
        "completed",
        step(1, "calculator", 3.0, "408", expression="17*24"),
        step(2, "finish", 3.0, answer="408"),
        answer="408",
    )
    assert strategies(run, Tier.STRATEGIC) == []


def test_nothing_is_learned_from_the_stand_in_of_a_critic_that_could_not_answer() -> None:
    steps = (
        step(1, "calculator", 5.0, "408", expression="17*24"),
        step(2, "finish", 5.0, answer="408"),
    )
    unanswered = [replace(s, evidence=CRITIC_UNANSWERED) for s in steps]
    stand_in = result("completed", *unanswered, answer="408")
    assert not stand_in.judged
    assert lessons.distil(stand_in) == []
    # The same run, judged by the critic, teaches its steps.
    judged = result("completed", *steps, answer="408")
    assert judged.judged and strategies(judged, Tier.PROCEDURAL)


def test_a_call_that_raised_phi_only_a_little_is_not_learned_as_working() -> None:
    run = result(
        "completed",
        step(1, "calculator", 1.0, "17", expression="17"),
        step(2, "finish", 1.0, answer="17"),
        answer="17",
    )
    assert not any("worked" in s for s in strategies(run, Tier.TOOL))


def test_a_well_scored_answer_teaches_its_steps_and_no_warning() -> None:
    run = result(
        "completed",
        step(1, "calculator", 6.0, "408", expression="17*24"),
        step(2, "finish", 9.0, answer="408"),
        answer="408",
    )
    assert strategies(run, Tier.STRATEGIC) == []
    (procedure,) = strategies(run, Tier.PROCEDURAL)
    # The task's second number times its first: a plan for tasks of this kind.
    assert procedure == (
        'Steps that worked: {"tool": "calculator", "expression": "#2*#1"} → finish with its result'
    )


def test_the_experience_keeps_the_final_score_the_prompt_shows() -> None:
    from purpose_desktop.engine.loop.prompts import system_prompt
    from purpose_desktop.engine.specs import AgentSpec

    run = result("completed", step(1, "finish", 1.0, answer="17"), answer="17")
    experience = lessons.experience(run)
    agent = AgentSpec(name="counter", role="Count.", model="m")
    prompt = system_prompt(agent, [], [], [], [experience])
    assert f'- "{run.task}" (completed, Φ 1 of 10): finish(answer=17)' in prompt


def test_a_call_that_worked_and_was_made_again_is_not_learned_as_a_dead_end() -> None:
    worked = step(1, "clock", 2.0, '{"time": "15:34"}', timezone="UTC")
    repeated = Step(
        2,
        "counter",
        Action("clock", {"timezone": "UTC"}),
        Observation('Not run again: the same call gave \'{"time": "15:34"}\'.', ok=False),
        0.0,
        2.0,
    )
    failed = Step(
        3,
        "counter",
        Action("clock", {"timezone": "Mars"}),
        Observation("No such zone", ok=False),
        0.0,
        2.0,
    )
    run = result("completed", worked, repeated, failed, step(4, "finish", 1.0, answer="x"))
    dead_ends = [s for s in strategies(run, Tier.TOOL) if s.startswith("Do not call clock")]
    assert dead_ends == ["Do not call clock(timezone=Mars): it failed: No such zone"]


def test_a_lesson_that_worked_names_the_kind_of_task_not_its_numbers() -> None:
    run = result(
        "completed",
        step(1, "calculator", 8.0, "408", expression="24*17"),
        step(2, "finish", 9.0, answer="408"),
        answer="408",
    )
    learned = {h.tier: h for h in lessons.distil(run)}
    procedural = learned[Tier.PROCEDURAL]
    assert procedural.pattern == "A crate holds # apples. How many in # crates?"
    assert procedural.strategy == (
        'Steps that worked: {"tool": "calculator", "expression": "#1*#2"} → finish with its result'
    )
    # A call with a number the task does not hold cannot be replayed: its shape is kept.
    copied = replace(
        run,
        steps=(
            replace(run.steps[0], action=Action("calculator", {"expression": "408-8"})),
            run.steps[1],
        ),
    )
    (shape,) = strategies(copied, Tier.PROCEDURAL)
    assert shape == "Steps that worked: calculator(expression=#-#) → finish with its result"
    assert learned[Tier.TOOL].strategy.startswith(
        '{"tool": "calculator", "expression": "#*#"} worked'
    )


def test_a_checked_outcome_decides_over_the_critic() -> None:
    """A right answer the critic scored 0 is a success when its check passes; a wrong answer
    it scored 9 is a dead end when its check fails, and so is the call that gave it."""
    right = result(
        "completed",
        step(1, "calculator", 0.0, "408", expression="24*17"),
        step(2, "finish", 0.0, answer="408"),
        answer="408",
    )
    checked = replace(right, verdict=lessons.Verdict(passed=True))
    assert (right.succeeded, checked.succeeded) == (False, True)
    assert (right.reward, checked.reward) == (0.0, 1.0)
    assert strategies(checked, Tier.PROCEDURAL) and not strategies(right, Tier.PROCEDURAL)
    assert not any(s.startswith("Do not call") for s in strategies(checked, Tier.TOOL))

    wrong = result(
        "completed",
        step(1, "calculator", 9.0, "41", expression="24+17"),
        step(2, "finish", 9.0, answer="41"),
        answer="41",
    )
    assert wrong.succeeded and not strategies(wrong, Tier.TOOL)[0].startswith("Do not")
    failed = replace(wrong, verdict=lessons.Verdict(passed=False))
    assert failed.reward == 0.0 and not failed.succeeded
    dead = [s for s in strategies(failed, Tier.TOOL) if s.startswith("Do not call")]
    assert dead == [
        "Do not call finish(answer=41): the task's check found the answer wrong",
        "Do not call calculator(expression=24+17): its result was the answer the task's check "
        "found wrong",
    ]


def test_the_critics_low_score_alone_makes_no_dead_end() -> None:
    run = result(
        "completed",
        step(1, "calculator", 1.0, "408", expression="24*17"),
        step(2, "finish", 0.0, answer="17"),
        answer="17",
    )
    assert not any(s.startswith("Do not call") for s in strategies(run, Tier.TOOL))
    by_person = replace(
        run, steps=(run.steps[0], replace(run.steps[1], evidence=person_evidence("wrong")))
    )
    assert by_person.steps[-1].scored_by_person
    assert any(s.startswith("Do not call finish") for s in strategies(by_person, Tier.TOOL))
