"""Dead ends: what a team learns not to do again on a task, and how the loop keeps to it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.learning import dead_ends
from purpose_desktop.engine.learning import lessons as learning
from purpose_desktop.engine.learning.dead_ends import DeadEnds
from purpose_desktop.engine.learning.memory import Heuristic, Tier
from purpose_desktop.engine.loop import agent_loop
from purpose_desktop.engine.review import AutoApprove, ScoreDecision, ScoreReviewRequest
from purpose_desktop.engine.trajectory import Action, Observation, Step, person_evidence
from purpose_desktop.models.messages import ChatMessage
from purpose_desktop.models.scripted import ScriptedProvider
from tests.support.scripted_team import act, memory_at, one_agent_team, runner, team_model

TASK = "A crate holds 24 apples. How many apples are in 17 crates?"


def step(
    index: int,
    action: Action,
    phi_after: float,
    output: str = "",
    *,
    ok: bool = True,
    evidence: str = "",
) -> Step:
    return Step(index, "solver", action, Observation(output, ok=ok), 0.0, phi_after, evidence)


def lessons(*steps: Step, status: str = "completed", answer: str = "") -> list[str]:
    run = learning.RunResult("T", "run-1", TASK, status, answer, steps)  # type: ignore[arg-type]
    return [
        h.strategy
        for h in learning.distil(run)
        if h.tier is Tier.TOOL and h.strategy.startswith(dead_ends.PREFIX)
    ]


def test_a_failed_call_and_an_answer_a_person_scored_low_are_learned_as_dead_ends() -> None:
    bad_call = Action("calculator", {"expression": "17, 24"})
    assert lessons(
        step(1, bad_call, 0.0, "cannot read the commas", ok=False),
        step(2, Action("finish", {"answer": "17"}), 1.0, evidence=person_evidence("wrong")),
        answer="17",
    ) == [
        "Do not call calculator(expression=17, 24): it failed: cannot read the commas",
        "Do not call finish(answer=17): a person scored the answer Φ 1 of 10",
    ]


def test_an_answer_the_critic_alone_scored_low_is_no_dead_end() -> None:
    # The critic scores right answers low too: its score is no evidence against an answer,
    # right or wrong.
    for answer in ("408", "17"):
        assert (
            lessons(
                step(1, Action("calculator", {"expression": "17*24"}), 1.0, "408"),
                step(2, Action("finish", {"answer": answer}), 1.0, evidence="(none cited)"),
                answer=answer,
            )
            == []
        ), answer


def test_an_answer_scored_middling_or_at_once_or_a_call_that_worked_is_no_dead_end() -> None:
    worked = step(1, Action("calculator", {"expression": "17*24"}), 3.0, "408")
    assert lessons(worked, step(2, Action("finish", {"answer": "408"}), 4.0), answer="408") == []
    # Nothing observed backs or refutes an answer given at once.
    assert lessons(step(1, Action("finish", {"answer": "red"}), 1.0), answer="red") == []


def heuristic(pattern: str, strategy: str, tier: Tier = Tier.TOOL) -> Heuristic:
    return Heuristic(team="T", tier=tier, pattern=pattern, strategy=strategy, id=7)


def test_only_lessons_of_a_near_identical_task_rule_out_exactly_their_call() -> None:
    finish_17 = Action("finish", {"answer": "17"})
    same = heuristic(TASK, dead_ends.lesson(finish_17, "the answer scored Φ 1 of 10"))
    other_task = heuristic(
        "A book costs 12 dollars. How many dollars do 35 books cost?",
        dead_ends.lesson(Action("finish", {"answer": "12"}), "wrong"),
    )
    advice = heuristic(TASK, "Do not call anything before reading the task.", Tier.STRATEGIC)
    found = DeadEnds.for_task([same, other_task, advice], TASK)
    assert found.heuristics == (same,)
    assert found.lesson_for(finish_17) == same
    assert found.lesson_for(Action("finish", {"answer": "408"})) is None
    assert found.lesson_for(Action("finish", {"answer": "17", "extra": "x"})) is None
    # A task that differs in a word or two still counts; a different task does not.
    assert DeadEnds.for_task([same], TASK.replace("17 crates", "17 crates now")).heuristics
    assert not DeadEnds.for_task([same], "How many apples are in a crate?").heuristics


def offers_finish(messages: Sequence[ChatMessage]) -> bool:
    return '"tool": "finish"' in messages[0].content


def answers_17_unless_it_cannot(messages: Sequence[ChatMessage]) -> str:
    """Calls the calculator with 17 and answers 17; asked without finish, it works 17*24
    out and answers with what that gave."""
    if not offers_finish(messages):
        return act("calculator", expression="17*24")
    if not any(message.role == "assistant" for message in messages):
        return act("calculator", expression="17")
    return act("finish", answer="408" if "408" in messages[-1].content else "17")


class ScoresSeventeenLow(AutoApprove):
    """A person who scores the answer 17 at 1 and keeps every other score."""

    async def review_score(self, request: ScoreReviewRequest) -> ScoreDecision:
        if request.action.tool == "finish" and request.action.arguments.get("answer") == "17":
            return ScoreDecision(1.0, "wrong")
        return ScoreDecision()


def test_the_next_run_of_the_task_is_asked_again_without_the_dead_end(tmp_path: Path) -> None:
    # The critic scores everything well; a person scores the answer 17 low.
    model = team_model(answers_17_unless_it_cannot, score=lambda m: 8)
    memory = memory_at(tmp_path / "m.sqlite3")
    team_runner = runner(tmp_path, ScriptedProvider({"m": model}), memory)
    team = one_agent_team(tmp_path, review="always")

    first = asyncio.run(team_runner.run(team, TASK, (), ScoresSeventeenLow()))
    assert (first.answer, first.phi_curve[-1]) == ("17", 1.0)

    events: list[ev.Event] = []
    second = asyncio.run(team_runner.run(team, TASK, [events.append], ScoresSeventeenLow()))
    assert second.answer == "408"
    assert [s.action.tool for s in second.steps] == ["calculator", "calculator", "finish"]
    (warning,) = [e for e in events if isinstance(e, ev.WarningRaised)]
    assert "asked again without finish: Do not call finish(answer=17)" in warning.message
    # Only the action taken is proposed; the lesson counts as used and its Q-value moved.
    assert [e.tool for e in events if isinstance(e, ev.ActionProposed)] == [
        "calculator",
        "calculator",
        "finish",
    ]
    (used,) = [
        h
        for h in asyncio.run(memory.find_heuristics("T", TASK, tiers=[dead_ends.TIER], limit=50))
        if "finish(answer=17)" in h.strategy
    ]
    assert used.uses == 1 and used.id in second.steps[1].heuristic_ids


def test_with_nothing_else_to_choose_the_dead_end_is_taken_after_other_samples(
    tmp_path: Path,
) -> None:
    memory = memory_at(tmp_path / "m.sqlite3")
    finish_17 = Action("finish", {"answer": "17"})
    asyncio.run(
        memory.add_heuristic(
            Heuristic(
                team="T",
                tier=dead_ends.TIER,
                pattern=TASK,
                strategy=dead_ends.lesson(finish_17, "the answer scored Φ 1 of 10"),
            )
        )
    )
    model = team_model(lambda messages: act("finish", answer="17"))
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model}), memory).run(
            one_agent_team(tmp_path, tools="[]"), TASK, [events.append]
        )
    )
    assert (outcome.status, outcome.answer) == ("completed", "17")
    # Finishing is the only choice, so nothing can be taken out: other samples are asked for.
    asked = [e.message for e in events if isinstance(e, ev.WarningRaised)]
    assert len(asked) == agent_loop.RESAMPLES
    assert all("asked for another answer: Do not call finish(answer=17)" in m for m in asked)
