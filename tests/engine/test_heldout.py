"""Held-out benchmarks: the split by family, test runs with learning frozen, lessons that carry
over to tasks of the same kind, and the mean and spread of repeats."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from purpose_desktop.bench.improve import format_table
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.evaluation.repeats import mean_of
from purpose_desktop.engine.evaluation.runner import Arm, Plan, Progress, run_improvement
from purpose_desktop.engine.evaluation.split import Split, split_tasks
from purpose_desktop.engine.evaluation.suites import parse_suite
from purpose_desktop.engine.events import RunStatus
from purpose_desktop.engine.learning.improvement import ImprovementResult, parse_improvement
from purpose_desktop.engine.learning.lessons import Verdict
from purpose_desktop.engine.loop.run import TeamRunner
from purpose_desktop.models.messages import ChatMessage
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.store.improvement_arms import measure_improvement
from purpose_desktop.store.memory_store import DatabaseMemoryStore
from tests.support.scripted_team import (
    Actor,
    act,
    memory_at,
    one_agent_team,
    runner,
    team_model,
)

CRATES = [(24, 17), (30, 12), (16, 25), (45, 11)]
TANKS = [(1250, 25), (900, 36), (720, 45), (1500, 60)]
SUITE = parse_suite(
    "name: families\ntasks:\n"
    + "".join(
        f"  - id: crates-{a}\n    family: crates\n"
        f"    task: A crate holds {a} apples. How many apples are in {b} crates?\n"
        f'    check: {{answer_contains: "{a * b}"}}\n'
        for a, b in CRATES
    )
    + "".join(
        f"  - id: tanks-{a}\n    family: tanks\n"
        f"    task: {a} litres are shared equally among {b} tanks. How many litres go in each?\n"
        f'    check: {{answer_contains: "{a // b}"}}\n'
        for a, b in TANKS
    ),
    "families.yaml",
)
LESSON = "finish with its result"


def test_the_split_keeps_some_of_every_family_for_training() -> None:
    split = split_tasks(SUITE.tasks, 0.5, seed=3)
    assert split == split_tasks(SUITE.tasks, 0.5, seed=3)  # the seed decides it
    assert len(split.test) == 4 and len(split.training) == 4
    for family in ("crates", "tanks"):
        assert sum(task.family == family for task in split.test) == 2
        assert any(task.family == family for task in split.training)
    drawn = {frozenset(t.id for t in split_tasks(SUITE.tasks, 0.5, seed).test) for seed in range(8)}
    assert len(drawn) > 1  # another seed, another split
    # Each family keeps one task for training, however much is held out; a family of one
    # task stays whole in training; tasks without a family are pooled and split.
    assert len(split_tasks(SUITE.tasks, 0.9, 0).test) == 6
    single = SUITE.tasks[0].model_copy(update={"family": "alone"})
    assert single not in split_tasks((single, *SUITE.tasks[4:]), 0.5, 0).test
    loose = SUITE.model_copy(
        update={"tasks": tuple(t.model_copy(update={"family": None}) for t in SUITE.tasks)}
    )
    assert len(split_tasks(loose.tasks, 0.25, 0).test) == 2
    with pytest.raises(ValueError, match="no test task"):
        split_tasks(SUITE.tasks[:1], 0.5, 0)
    with pytest.raises(ValueError, match=r"at most 0\.9"):
        split_tasks(SUITE.tasks, 0.95, 0)


def learner(demo: str) -> Actor:
    """Works out every task with the calculator, but finishes with its result only on ``demo``
    or when a lesson says so; otherwise answers 0."""

    def actor(messages: Sequence[ChatMessage]) -> str:
        task = next(message.content for message in messages if message.role == "user")
        a, b = re.findall(r"\d+", task)[:2]
        acted = [m for m in messages if m.role == "assistant"]
        if not acted:
            operator = "*" if "crate" in task else "/"
            return act("calculator", expression=f"{a}{operator}{b}")
        if demo in task or LESSON in messages[0].content:
            result = re.findall(r"Observation: (\S+)", messages[-1].content)[-1]
            return act("finish", answer=result)
        return act("finish", answer="0")

    return actor


def heldout_run(
    folder: Path, arms: Sequence[Arm], progress: list[Progress]
) -> tuple[ImprovementResult, Split, dict[Arm, DatabaseMemoryStore]]:
    split = split_tasks(SUITE.tasks, 0.5, seed=0)
    provider = ScriptedProvider({"m": team_model(learner(split.training[0].task), score=4)})
    memories: dict[Arm, DatabaseMemoryStore] = {}

    def runner_for(arm: Arm) -> TeamRunner:
        (folder / arm.name).mkdir()
        memories[arm] = memory_at(folder / arm.name / "memory.sqlite3")
        return runner(folder / arm.name, provider, memories[arm])

    team = one_agent_team(folder)
    result = asyncio.run(
        run_improvement(
            team, SUITE, 2, runner_for, arms=arms, split=split, on_progress=progress.append
        )
    )
    return result, split, memories


def test_what_is_learned_on_training_tasks_helps_on_held_out_ones(tmp_path: Path) -> None:
    progress: list[Progress] = []
    arms = (Arm.LEARNING_ON, Arm.LEARNING_OFF, Arm.WITH_OVERRIDES)
    result, split, memories = heldout_run(tmp_path, arms, progress)

    names = [series.name for series in result.series]
    assert names == [
        "learning on · training",
        "learning on · test",
        "learning off · training",
        "learning off · test",
        "with overrides · training",
        "with overrides · test",
    ]
    rates = {s.name: [m.success_rate for m in s.iterations] for s in result.series}
    # Learning off, only the demonstration checks out, and never a held-out task.
    assert rates["learning off · training"] == [0.25, 0.25]
    assert rates["learning off · test"] == [0.0, 0.0]
    # Learning on, the demonstration's lesson is about the kind of task, numbers taken out:
    # it carries over to the tasks of its family after it, held out or not, and to no other.
    assert rates["learning on · test"] == [0.5, 0.5]
    assert rates["learning on · training"] == [0.5, 0.5]
    family = split.training[0].family
    on_test = {
        p.last.task_id: p.last.passed
        for p in progress
        if p.last.arm is Arm.LEARNING_ON and p.last.part == "test"
    }
    assert on_test == {task.id: task.family == family for task in split.test}
    assert result.holdout == 0.5
    assert [(p.done, p.total) for p in progress] == [(n, 48) for n in range(1, 49)]
    assert {p.last.part for p in progress} == {"training", "test"}
    assert "iteration 1, test, " in next(p.line for p in progress if p.last.part == "test")

    # Learning is frozen on the test part: no test run left an experience, a lesson, a Q-value
    # update or a person's score, in any arm (the person corrects training runs only).
    tested = {p.last.outcome.run_id for p in progress if p.last.part == "test"}
    trained = {p.last.outcome.run_id for p in progress if p.last.part == "training"}

    async def runs_learned_from(memory: DatabaseMemoryStore) -> set[str]:
        experiences = await memory.search_experiences("T", limit=1000)
        heuristics = await memory.search_heuristics("T", limit=1000)
        anchors = [
            anchor
            for task in SUITE.tasks
            for anchor in await memory.find_anchors("T", task.task, limit=1000)
        ]
        return (
            {e.run_id for e in experiences}
            | {run_id for h in heuristics for run_id in h.run_ids}
            | {a.run_id for a in anchors}
        )

    for arm, memory in memories.items():
        learned = asyncio.run(runs_learned_from(memory))
        assert not learned & tested, arm
        assert bool(learned & trained) is arm.learns, arm
    overridden = asyncio.run(
        memories[Arm.WITH_OVERRIDES].find_anchors("T", split.training[0].task, limit=50)
    )
    assert overridden  # the person did score training runs
    heuristics = asyncio.run(memories[Arm.LEARNING_ON].search_heuristics("T", limit=100))
    assert any("#" in h.pattern for h in heuristics)  # the kind: "A crate holds # apples…"
    assert parse_improvement(result.to_json(), "r") == result


def test_repeats_give_the_mean_and_the_spread(tmp_path: Path) -> None:
    """Two repeats on two splits through the runner the CLI and the pane use: the table and
    the file hold the mean and the range of the success rate."""
    provider = ScriptedProvider({"m": team_model(learner("12 crates"), score=4)})
    team = one_agent_team(tmp_path)
    progress: list[Progress] = []
    plan = Plan(1, holdout=0.5, repeats=2, seed=1)
    result = asyncio.run(
        measure_improvement(
            team,
            SUITE,
            plan,
            provider,
            arms=(Arm.LEARNING_OFF,),
            max_answer_tokens=64,
            on_progress=progress.append,
        )
    )
    assert result.repeats == 2 and result.holdout == 0.5
    assert [(p.done, p.total, p.repeat) for p in progress] == [
        (n, 16, 1 if n <= 8 else 2) for n in range(1, 17)
    ]
    assert progress[-1].line.startswith("[16/16] repeat 2 of 2: learning off, iteration 1")
    # The demonstration ("12 crates") is in training on one split and held out on the other.
    splits = plan.splits(SUITE)
    demo_held = ["crates-30" in {t.id for t in split.test} for split in splits]
    assert sorted(demo_held) == [False, True]
    test = next(s for s in result.series if s.part == "test").iterations[0]
    assert (test.success_low, test.success_high) == (0.0, 0.25)
    assert test.success_rate == pytest.approx(0.125)
    training = next(s for s in result.series if s.part == "training").iterations[0]
    assert (training.success_low, training.success_high) == (0.0, 0.25)
    table = format_table(result)
    assert "50% held out, mean of 2 repeats" in table
    assert "0%-25%" in table
    assert parse_improvement(result.to_json(), "r") == result
    assert mean_of([result]) is result


def test_a_plan_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="repeats"):
        Plan(1, repeats=0)
    with pytest.raises(ValueError, match="held-out"):
        Plan(1, holdout=1.0)
    assert Plan(2, repeats=3).splits(SUITE) == [None] * 3
    assert Plan(2, holdout=0.5, repeats=3).task_runs(SUITE, 2) == 3 * 2 * 2 * 8


def test_a_past_experience_shown_to_a_run_moves_with_its_checked_outcome(tmp_path: Path) -> None:
    memory = memory_at(tmp_path / "memory.sqlite3")
    model = team_model(lambda messages: act("finish", answer="0"), score=5)
    provider = ScriptedProvider({"m": model})
    team = one_agent_team(tmp_path)
    first, second = (task.task for task in SUITE.tasks[:2])
    asyncio.run(runner(tmp_path, provider, memory).run(team, first))
    (before,) = asyncio.run(memory.search_experiences("T", limit=10))
    # Unchecked, its reward is its final Φ over 10: 1, as an answer no observation backs may
    # rise by 1 only.
    assert before.q_value == pytest.approx(0.1)

    async def wrong(status: RunStatus, answer: str) -> Verdict:
        return Verdict(passed=False)

    events: list[ev.Event] = []
    asyncio.run(runner(tmp_path, provider, memory).run(team, second, [events.append], judge=wrong))
    shown = next(e for e in events if isinstance(e, ev.MemoryRetrieved)).experiences
    assert [experience.task for experience in shown] == [first]
    after = {e.task: e for e in asyncio.run(memory.search_experiences("T", limit=10))}
    assert after[first].q_value == pytest.approx(before.q_value * 0.7)  # towards 0 by 0.3
    assert after[second].q_value == 0.0  # its own reward: the check failed
