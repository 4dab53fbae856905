"""Plans: the calls that solved a task, replayed with another task's numbers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.events import RunStatus
from purpose_desktop.engine.learning import dead_ends, plans
from purpose_desktop.engine.learning.lessons import Verdict
from purpose_desktop.engine.learning.memory import Heuristic, Tier
from purpose_desktop.engine.learning.plans import (
    BORROWED_THOUGHT,
    PLAN_THOUGHT,
    borrowable,
    plan_calls,
    plan_strategy,
    read_plan,
    task_numbers,
)
from purpose_desktop.engine.loop.run import RunOutcome
from purpose_desktop.engine.text import without_numbers
from purpose_desktop.engine.tools.calculator import calculate
from purpose_desktop.engine.trajectory import Action, Exchange, Observation, Step
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.store.memory_store import DatabaseMemoryStore
from tests.support.scripted_team import act, memory_at, one_agent_team, runner, team_model

ANSWERING = ("calculator",)
PENCILS = "14 boxes hold 36 pencils each. 50 pencils are given away. How many are left?"
CRAYONS = "12 boxes hold 1,250 crayons each. 75 crayons are given away. How many are left?"


def plan_heuristic(strategy: str) -> Heuristic:
    return Heuristic("T", Tier.PROCEDURAL, without_numbers(PENCILS), strategy, q_value=0.6)


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


def test_a_call_that_only_gives_again_what_an_earlier_one_gave_is_a_detour() -> None:
    # As SmolLM2 went on "A garden is 23 metres long…": it worked the product out with a
    # wrong claim, then worked out the result once more, and finished with that output.
    task = "A garden is 23 metres long and 17 metres wide. What is its area in square metres?"
    steps = [
        Step(
            1,
            "s",
            Action("calculator", {"expression": "23*17 = 381"}),
            Observation(calculate("23*17 = 381")),
            0,
            3,
        ),
        Step(
            2,
            "s",
            Action("calculator", {"expression": "391 = 381"}),
            Observation(calculate("391 = 381")),
            3,
            1,
        ),
    ]
    answer = "391 (391 is 391, not 381)"
    calls = plan_calls(steps, answer)
    assert calls == [Action("calculator", {"expression": "23*17"}, steps[0].action.thought)]
    strategy = plan_strategy(task, calls)
    assert strategy == (
        'Steps that worked: {"tool": "calculator", "expression": "#1*#2"} → finish with its result'
    )
    plan = read_plan(Heuristic("T", Tier.PROCEDURAL, without_numbers(task), strategy))
    assert plan is not None
    pool = "A pool is 25 metres long and 12 metres wide. What is its area in square metres?"
    assert plan.next_action(pool, [], ANSWERING) == Action(
        "calculator", {"expression": "25*12"}, PLAN_THOUGHT
    )
    # With a detour between them, the plan still ends with the call that gave the answer.
    wandered = [steps[0], replace(steps[1], index=3)]
    wandered.insert(
        1, Step(2, "s", Action("calculator", {"expression": "23+17"}), Observation("40"), 3, 1)
    )
    assert plan_calls(wandered, answer) == calls
    # A negative result worked out once more is a detour as well.
    negative = [
        Step(1, "s", Action("calculator", {"expression": "2-7"}), Observation("-5"), 0, 3),
        Step(2, "s", Action("calculator", {"expression": "-5"}), Observation("-5"), 3, 3),
    ]
    assert plan_calls(negative, "-5") == [negative[0].action]
    # Calls of other tools that give the same are all kept: each wrote its own file.
    written = [
        Step(i, "s", Action("write_file", {"path": path}), Observation("Written."), 0, 5)
        for i, path in ((1, "a.txt"), (2, "b.txt"))
    ]
    assert [call.arguments["path"] for call in plan_calls(written, None)] == ["a.txt", "b.txt"]


def test_numbers_are_read_as_a_person_writes_them_and_ambiguous_ones_make_no_plan() -> None:
    assert task_numbers("Add 5 and 7.") == ["5", "7"]
    assert task_numbers("It weighs 3.5 kg and costs 1,250 euros, 12.") == ["3.5", "1250", "12"]
    square = "A square tile is 5 by 5 metres. Add 3. What is the area?"
    assert plan_strategy(square, [Action("calculator", {"expression": "5*5+3"})]) is None
    written = plan_strategy(
        "Create hello.txt with the text hi.", [Action("write_file", {"path": "hello.txt"})]
    )
    assert written is not None
    plan = read_plan(plan_heuristic(written))
    assert plan is not None
    # Another file's task: the plan's words are not all this task's, so it is not followed.
    assert plan.next_action("Create greeting.txt with the text hi.", [], ANSWERING) is None
    # Too many numbers for the plan's pattern (it was learned on a task with three).
    pencils = plan_strategy(PENCILS, [Action("calculator", {"expression": "14*36-50"})])
    assert pencils is not None
    followed = read_plan(plan_heuristic(pencils))
    assert followed is not None
    assert followed.next_action(f"In 2024, {CRAYONS}", [], ANSWERING) is None


def run_with_plan(
    tmp_path: Path, *, q_value: float = 0.6, tools: str = "[calculator]", dead_end: bool = False
) -> tuple[RunOutcome, list[ev.Event]]:
    """A run on a crayon task whose model answers 0 at once, with a plan learned on the pencil
    task in the team's memory (and, with ``dead_end``, the plan's call learned as one)."""
    memory = memory_at(tmp_path / "memory.sqlite3")
    strategy = plan_strategy(PENCILS, [Action("calculator", {"expression": "14*36-50"})])
    assert strategy is not None
    plan = replace(plan_heuristic(strategy), q_value=q_value)
    asyncio.run(memory.add_heuristic(plan))
    if dead_end:
        lesson = dead_ends.lesson(Action("calculator", {"expression": "12*1250-75"}), "wrong")
        asyncio.run(memory.add_heuristic(Heuristic("T", dead_ends.TIER, CRAYONS, lesson)))
    model = team_model(lambda messages: act("finish", answer="0"), score=5)
    team = one_agent_team(tmp_path, tools=tools)
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model}), memory).run(
            team, CRAYONS, [events.append], learn=False
        )
    )
    return outcome, events


def proposals(events: Sequence[ev.Event]) -> list[tuple[str, str]]:
    return [(e.tool, e.parse_method) for e in events if isinstance(e, ev.ActionProposed)]


def test_the_loop_follows_a_trusted_plan_of_the_agents_own_tools(tmp_path: Path) -> None:
    outcome, events = run_with_plan(tmp_path / "trusted")
    assert outcome.answer == "14925"
    assert proposals(events) == [("calculator", "plan"), ("finish", "plan")]
    # A plan that led to a wrong answer (Q below 0.5) is not followed: the model answers.
    outcome, events = run_with_plan(tmp_path / "distrusted", q_value=0.4)
    assert (outcome.answer, proposals(events)) == ("0", [("finish", "json")])
    # Nor is one whose tool the agent does not have.
    outcome, _ = run_with_plan(tmp_path / "other", tools="[write_file]")
    assert outcome.answer == "0"
    # A dead end on this task refuses the plan's call: the model is asked instead.
    outcome, events = run_with_plan(tmp_path / "dead", dead_end=True)
    assert outcome.answer == "0" and ("calculator", "plan") not in proposals(events)


SHOP = "A shop has 12 shelves of 1,250 cans. 75 cans are sold. How many cans remain?"


def pencils_plan_in(tmp_path: Path) -> tuple[DatabaseMemoryStore, Heuristic]:
    """A memory that holds the plan learned on the pencil task, and that plan as stored."""
    memory = memory_at(tmp_path / "memory.sqlite3")
    strategy = plan_strategy(PENCILS, [Action("calculator", {"expression": "14*36-50"})])
    assert strategy is not None
    return memory, asyncio.run(memory.add_heuristic(plan_heuristic(strategy)))


def test_a_task_whose_own_way_was_wrong_borrows_the_plan_of_another_kind(tmp_path: Path) -> None:
    memory, pencils = pencils_plan_in(tmp_path)
    model = team_model(lambda messages: act("finish", answer="0"), score=6)
    team = one_agent_team(tmp_path, tools="[calculator]")

    def run(task: str) -> tuple[RunOutcome, list[ev.Event]]:
        events: list[ev.Event] = []
        outcome = asyncio.run(
            runner(tmp_path, ScriptedProvider({"m": model}), memory).run(
                team, task, [events.append]
            )
        )
        return outcome, events

    # A new kind of task: nothing says the model's own way is wrong, so it is the model's.
    outcome, events = run(SHOP)
    assert (outcome.answer, proposals(events)) == ("0", [("finish", "json")])
    # Once its answer is a dead end, the pencils' plan is tried on it, saying so...
    wrong = dead_ends.lesson(Action("finish", {"answer": "0"}), "wrong")
    asyncio.run(memory.add_heuristic(Heuristic("T", dead_ends.TIER, SHOP, wrong)))
    outcome, events = run(SHOP)
    assert outcome.answer == "14925"
    assert proposals(events) == [("calculator", "plan"), ("finish", "plan")]
    thoughts = [e.thought for e in events if isinstance(e, ev.ActionProposed)]
    assert thoughts == [BORROWED_THOUGHT, BORROWED_THOUGHT]
    # ... its Q-value is left alone (its trial was on another kind of task), and the run that
    # worked teaches the plan to the task's own kind.
    learned = asyncio.run(memory.list_heuristics("T"))
    assert next(h for h in learned if h.id == pencils.id).q_value == pencils.q_value
    own = [h for h in learned if h.pattern == without_numbers(SHOP) and read_plan(h)]
    assert [h.strategy for h in own] == [pencils.strategy]
    # A borrowed call that a dead end rules out on this task is not tried again.
    borrowed = dead_ends.lesson(Action("calculator", {"expression": "12*1250-75"}), "wrong")
    other = SHOP.replace("cans", "tins")
    asyncio.run(memory.add_heuristic(Heuristic("T", dead_ends.TIER, other, borrowed)))
    outcome, events = run(other)
    assert outcome.answer != "14925" and ("calculator", "plan") not in proposals(events)


def test_borrowable_plans_fit_the_task_nearest_kind_first_one_of_each_shape() -> None:
    def plan(pattern: str, expression: str, q_value: float, id_: int) -> Heuristic:
        strategy = f'Steps that worked: {{"tool": "calculator", "expression": "{expression}"}}'
        return Heuristic(
            "T", Tier.PROCEDURAL, pattern, f"{strategy} → finish with its result", q_value, id=id_
        )

    crates = "A crate holds # apples. How many apples are in # crates?"
    rows = "An orchard has # rows of # trees each. How many trees are there?"
    found = borrowable(
        [
            plan(rows, "#1*#2", 0.9, 1),
            plan(crates, "#1*#2", 0.6, 2),  # the same calls as the orchard's
            plan(crates, "#2/#1", 0.7, 3),
            plan(crates, "#1-#2", 0.4, 4),  # not trusted
            plan(crates, "#1+#2+#3", 0.9, 5),  # the task has two numbers
            Heuristic("T", Tier.PROCEDURAL, crates, "Use the calculator.", 0.9, id=6),
        ],
        "A box holds 36 eggs. How many eggs are in 13 boxes?",
        {"calculator"},
    )
    assert [(p.heuristic.id, p.thought) for p in found] == [
        (3, BORROWED_THOUGHT),
        (2, BORROWED_THOUGHT),
    ]
    assert borrowable([plan(crates, "#1*#2", 0.9, 1)], "A box holds 36 eggs.", {"python"}) == []
    assert borrowable([plan("List the files.", "2*3", 0.9, 1)], "List them.", {"calculator"}) == []
    for written_out in ("What is 7 * 6?", "What is 7 x 6?", "What is 7 times 6?"):
        assert borrowable([plan(crates, "#1+#2", 0.9, 1)], written_out, {"calculator"}) == []
    # Every call must fit the task, not only the first: this one writes a file it does not name.
    writes = replace(
        plan(crates, "#1*#2", 0.9, 1),
        strategy='Steps that worked: {"tool": "calculator", "expression": "#1*#2"} → '
        '{"tool": "write_file", "path": "out.txt", "content": "#1"} → finish with its result',
    )
    eggs = "A box holds 36 eggs. How many eggs are in 13 boxes?"
    assert borrowable([writes], eggs, {"calculator", "write_file"}) == []
    assert len(borrowable([writes], f"{eggs} Write out.txt", {"calculator", "write_file"})) == 1


def test_only_evidence_moves_a_followed_plans_q_value(tmp_path: Path) -> None:
    memory, plan = pencils_plan_in(tmp_path)
    # The critic scores the plan's right answer Φ 1, as SmolLM2 does.
    model = team_model(lambda messages: act("finish", answer="0"), score=1)
    team = one_agent_team(tmp_path, tools="[calculator]")

    def q_after(verdict: Verdict | None) -> float:
        async def judge(status: RunStatus, answer: str) -> Verdict:
            assert verdict is not None
            return verdict

        outcome = asyncio.run(
            runner(tmp_path, ScriptedProvider({"m": model}), memory).run(
                team, CRAYONS, judge=None if verdict is None else judge
            )
        )
        assert outcome.answer == "14925"  # the plan was followed
        return next(h for h in asyncio.run(memory.list_heuristics("T")) if h.id == plan.id).q_value

    assert q_after(None) == plan.q_value  # the critic alone is no evidence
    assert q_after(Verdict(passed=False)) < plans.TRUSTED  # a failed check is


def test_a_plan_refused_on_a_task_is_not_judged_by_how_its_run_went(tmp_path: Path) -> None:
    memory, plan = pencils_plan_in(tmp_path)
    lesson = dead_ends.lesson(Action("calculator", {"expression": "12*1250-75"}), "wrong")
    asyncio.run(memory.add_heuristic(Heuristic("T", dead_ends.TIER, CRAYONS, lesson)))
    model = team_model(lambda messages: act("finish", answer="0"), score=1)

    async def failed(status: RunStatus, answer: str) -> Verdict:
        return Verdict(passed=False)

    events: list[ev.Event] = []
    asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model}), memory).run(
            one_agent_team(tmp_path), CRAYONS, [events.append], judge=failed
        )
    )
    assert ("calculator", "plan") not in proposals(events)  # refused, and not borrowed either
    stored = next(h for h in asyncio.run(memory.list_heuristics("T")) if h.id == plan.id)
    assert stored.q_value == plan.q_value
