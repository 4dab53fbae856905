"""Plans: the calls that solved a task, replayed with another task's numbers."""

from __future__ import annotations

from purpose_desktop.engine.learning.memory import Heuristic, Tier
from purpose_desktop.engine.learning.plans import (
    PLAN_THOUGHT,
    plan_calls,
    plan_strategy,
    read_plan,
    task_numbers,
)
from purpose_desktop.engine.trajectory import Action, Exchange, Observation, Step

ANSWERING = ("calculator",)
PENCILS = "14 boxes hold 36 pencils each. 50 pencils are given away. How many are left?"
CRAYONS = "12 boxes hold 1,250 crayons each. 75 crayons are given away. How many are left?"


def plan_heuristic(strategy: str) -> Heuristic:
    return Heuristic("T", Tier.PROCEDURAL, "# boxes hold # pencils…", strategy, q_value=0.6)


def test_a_plan_is_written_with_the_tasks_numbers_and_read_back() -> None:
    calls = [
        Action("calculator", {"expression": "14*36"}),
        Action("calculator", {"expression": "504-50"}),
    ]
    assert plan_strategy(PENCILS, calls) is None  # 504 came from an observation
    strategy = plan_strategy(PENCILS, [Action("calculator", {"expression": "14 * 36 - 50"})])
    assert strategy == (
        'Steps that worked: {"tool": "calculator", "expression": "#1 * #2 - #3"} → '
        "finish with its result"
    )
    plan = read_plan(plan_heuristic(strategy))
    assert plan is not None
    assert plan.calls == (Action("calculator", {"expression": "#1 * #2 - #3"}, PLAN_THOUGHT),)
    assert task_numbers(CRAYONS) == ["12", "1250", "75"]
    assert (
        read_plan(plan_heuristic("Steps that worked: calculator(expression=#*#) → finish")) is None
    )
    assert read_plan(plan_heuristic(strategy.replace('"tool"', '"tol"'))) is None
    assert read_plan(Heuristic("T", Tier.TOOL, "p", strategy)) is None


def test_a_plan_is_followed_step_by_step_on_a_task_of_its_kind() -> None:
    strategy = plan_strategy(PENCILS, [Action("calculator", {"expression": "14*36-50"})])
    assert strategy is not None
    plan = read_plan(plan_heuristic(strategy))
    assert plan is not None
    first = plan.next_action(CRAYONS, [], ANSWERING)
    assert first == Action("calculator", {"expression": "12*1250-75"}, PLAN_THOUGHT)
    done = [Exchange(first, Observation("14925"), "solver")]
    assert plan.next_action(CRAYONS, done, ANSWERING) == Action(
        "finish", {"answer": "14925"}, PLAN_THOUGHT
    )
    # After a tool whose output is not an answer as it stands, finishing is the model's.
    assert plan.next_action(CRAYONS, done, ()) is None
    # The turn went another way, the call failed, or the task has too few numbers: no plan.
    other = [Exchange(Action("calculator", {"expression": "12*75"}), Observation("900"), "solver")]
    assert plan.next_action(CRAYONS, other, ANSWERING) is None
    failed = [Exchange(first, Observation("error", ok=False), "solver")]
    assert plan.next_action(CRAYONS, failed, ANSWERING) is None
    assert plan.next_action("How many boxes hold 12 crayons?", [], ANSWERING) is None


def test_a_plan_keeps_the_calls_that_gave_the_answer_without_claimed_results() -> None:
    task = "A crate holds 24 apples. How many apples are in 17 crates?"
    steps = [
        Step(
            1,
            "s",
            Action("calculator", {"expression": "17 * x"}),
            Observation("bad", ok=False),
            0,
            0,
        ),
        Step(
            2,
            "s",
            Action("calculator", {"expression": "17 * 24 = 400"}),
            Observation("408 (17 * 24 is 408, not 400)"),
            0,
            5,
        ),
        Step(
            3, "s", Action("calculator", {"expression": "17 * 24 = 408"}), Observation("408"), 5, 5
        ),
        Step(4, "s", Action("calculator", {"expression": "408 + 1"}), Observation("409"), 5, 5),
    ]
    calls = plan_calls(steps, "408")
    assert calls == [Action("calculator", {"expression": "17 * 24"}, steps[1].action.thought)]
    assert plan_strategy(task, calls) == (
        'Steps that worked: {"tool": "calculator", "expression": "#2 * #1"} → '
        "finish with its result"
    )
