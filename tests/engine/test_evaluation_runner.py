"""The improvement runner on a scripted model: exact curves, the overrides arm taking the
review gate's path, arms kept apart, and cancellation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from purpose_desktop.bench.improve import format_table
from purpose_desktop.engine.evaluation import runner as runner_module
from purpose_desktop.engine.evaluation.checks import CheckResult, check_outcome
from purpose_desktop.engine.evaluation.runner import (
    ABLATION_ARMS,
    ALL_ARMS,
    Arm,
    Plan,
    Progress,
    run_improvement,
)
from purpose_desktop.engine.evaluation.suites import Check, parse_suite
from purpose_desktop.engine.learning.improvement import ImprovementResult, parse_improvement
from purpose_desktop.engine.loop.run import TeamRunner
from purpose_desktop.models.messages import ChatMessage
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.store.improvement_arms import measure_improvement
from purpose_desktop.store.memory_store import DatabaseMemoryStore
from tests.support.scripted_team import act, memory_at, one_agent_team, runner, team_model

SUITE = parse_suite(
    """\
name: two
tasks:
  - id: right
    task: What is 2 + 3?
    check: {answer_contains: "5"}
  - id: wrong
    task: What is 7 * 6?
    check: {answer_contains: "42"}
  - id: file
    task: Write the word done to out.txt.
    setup_files: {in.txt: "x"}
    check: {file_equals: {path: out.txt, text: "done"}}
""",
    "two.yaml",
)


def actor(messages: Sequence[ChatMessage]) -> str:
    """Solves "2 + 3" with the calculator; adds for "7 * 6" and answers 41 (and multiplies
    when finishing is not on offer); writes the file."""
    text = next(message.content for message in messages if message.role == "user")
    acted = any(message.role == "assistant" for message in messages)
    if "7 * 6" in text:
        if '"tool": "finish"' not in messages[0].content:
            return act("calculator", expression="7 * 6")
        if not acted:
            return act("calculator", expression="7 + 6")
        return act("finish", answer="42" if "Observation: 42" in messages[-1].content else "41")
    if "out.txt" in text:
        return (
            act("finish", answer="written")
            if acted
            else act("write_file", path="out.txt", content="done")
        )
    return act("finish", answer="5") if acted else act("calculator", expression="2 + 3")


def critic(messages: Sequence[ChatMessage]) -> int:
    """Scores the answer 41 1 and every other state 4."""
    return 1 if messages[-1].content.endswith("Proposed final answer: 41") else 4


class Arms:
    """A runner per arm, each with its own memory file, as the CLI makes them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.provider = ScriptedProvider({"m": team_model(actor, score=critic)})
        self.memories: dict[Arm, DatabaseMemoryStore] = {}

    def __call__(self, arm: Arm) -> TeamRunner:
        folder = self.folder / arm.name
        folder.mkdir()
        self.memories[arm] = memory_at(folder / "memory.sqlite3")
        return runner(folder, self.provider, self.memories[arm])


def run(folder: Path, iterations: int, progress: list[Progress]) -> ImprovementResult:
    team = one_agent_team(folder, tools="[calculator, write_file]")
    return asyncio.run(
        run_improvement(team, SUITE, iterations, Arms(folder), on_progress=progress.append)
    )


def test_curves_are_exact_and_the_overrides_take_the_review_gates_path(tmp_path: Path) -> None:
    progress: list[Progress] = []
    result = run(tmp_path, 2, progress)

    assert [series.name for series in result.series] == [
        "learning on",
        "learning off",
        "with overrides",
    ]
    assert (result.suite, result.team, result.model) == ("two", "T", "m")
    by_name = {series.name: series for series in result.series}
    # Two of three outcomes check out. The critic says 4 for every state but the answer 41:
    # Φ 4, 1, 4.
    as_first = (2 / 3, 3.0, 2.0, 0.3)
    # Learning on, the failed check (not the critic's low score, which is no evidence) makes
    # the wrong answer a dead end: the second iteration works the task out, as the person's
    # correction does below.
    curves = {
        name: [
            (m.success_rate, m.average_phi, m.average_steps, m.average_reward)
            for m in by_name[name].iterations
        ]
        for name in ("learning on", "learning off")
    }
    assert curves["learning off"] == [pytest.approx(as_first)] * 2
    assert curves["learning on"] == [pytest.approx(as_first), pytest.approx((1.0, 4.0, 7 / 3, 0.4))]
    assert all(m.tokens > 0 and m.seconds > 0 for s in result.series for m in s.iterations)
    first, second = by_name["with overrides"].iterations
    # The person scores what checks out 10 and the wrong answer 0: the file task's written
    # file settles it at its first step, and its finishing step stays at 10.
    assert first.success_rate == pytest.approx(2 / 3)
    assert first.average_phi == pytest.approx(20 / 3)
    assert first.average_reward == pytest.approx(2 / 3)
    # The person's 0 made the wrong answer a dead end: the task is worked out now, its answer
    # scored 4. The states the person scored 10 (both tasks that check out end in one) score
    # 10 again: a person's score outranks the critic's for the same state.
    assert second.success_rate == 1.0
    assert second.average_phi == pytest.approx(8.0)
    assert second.average_reward == pytest.approx(0.8)

    assert [(p.done, p.total) for p in progress] == [(n, 18) for n in range(1, 19)]
    assert [p.last.arm for p in progress[:9:3]] == list(ALL_ARMS)
    overridden = [p.last for p in progress if p.last.arm is Arm.WITH_OVERRIDES]
    assert [run.passed for run in overridden] == [True, False, True] + [True] * 3
    assert "should contain '42'" in overridden[1].detail
    assert [run.outcome.phi_curve for run in overridden[:3]] == [
        (0.0, 4.0, 10.0),
        (0.0, 4.0, 0.0),
        (0.0, 10.0, 10.0),
    ]
    # The state the person scored 10 (the file written) scores 10 again; the sum's working,
    # a state without an answer, is not pulled up by the person's score of its final answer.
    assert overridden[5].outcome.phi_curve[1] == 10.0
    assert overridden[3].outcome.phi_curve[1] == 4.0
    assert parse_improvement(result.to_json(), "result") == result
    assert json.loads(result.to_json())["series"][2]["iterations"][1]["iteration"] == 2
    table = format_table(result).splitlines()
    assert len(table) == 2 + 6
    assert table[-1].split()[:6] == ["with", "overrides", "2", "100%", "8.00", "2.33"]


def test_each_task_run_is_checked_once_whether_it_learns_or_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str | None] = []

    def counting(check: Check, answer: str | None, workspace: Path) -> CheckResult:
        checked.append(answer)
        return check_outcome(check, answer, workspace)

    monkeypatch.setattr(runner_module, "check_outcome", counting)
    team = one_agent_team(tmp_path, tools="[calculator, write_file]")
    arms = (Arm.LEARNING_ON, Arm.LEARNING_OFF)
    result = asyncio.run(run_improvement(team, SUITE, 1, Arms(tmp_path), arms=arms))
    # The learning arm's check is the one its learning judged by: three tasks, two arms.
    assert len(checked) == 3 * 2
    assert [series.iterations[0].success_rate for series in result.series] == [2 / 3, 2 / 3]


def test_each_arm_learns_in_its_own_memory_only(tmp_path: Path) -> None:
    arms = Arms(tmp_path)
    team = one_agent_team(tmp_path, tools="[calculator, write_file]")
    asyncio.run(run_improvement(team, SUITE, 1, arms))

    async def counts(memory: DatabaseMemoryStore) -> tuple[int, int]:
        experiences = await memory.find_experiences("T", "What is 2 + 3?", limit=50)
        anchors = await memory.find_anchors("T", "What is 7 * 6?", limit=50)
        return len(experiences), len(anchors)

    learned = {arm: asyncio.run(counts(memory)) for arm, memory in arms.memories.items()}
    assert learned[Arm.LEARNING_OFF] == (0, 0)
    assert learned[Arm.LEARNING_ON][0] > 0 and learned[Arm.LEARNING_ON][1] == 0
    assert learned[Arm.WITH_OVERRIDES][0] > 0 and learned[Arm.WITH_OVERRIDES][1] > 0


def test_setup_files_are_in_the_workspace_before_the_run(tmp_path: Path) -> None:
    progress: list[Progress] = []
    team = one_agent_team(tmp_path, tools="[calculator, write_file]")
    arms = Arms(tmp_path)
    asyncio.run(
        run_improvement(team, SUITE, 1, arms, arms=[Arm.LEARNING_OFF], on_progress=progress.append)
    )
    workspaces = tmp_path / "LEARNING_OFF" / "workspaces"
    written = workspaces / progress[2].last.outcome.run_id
    assert (written / "in.txt").read_text("utf-8") == "x"
    assert (written / "out.txt").read_text("utf-8") == "done"


def test_cancelling_midway_stops_the_runs(tmp_path: Path) -> None:
    team = one_agent_team(tmp_path, tools="[calculator, write_file]")
    arms = Arms(tmp_path)
    seen: list[Progress] = []

    async def scenario() -> None:
        stopped = asyncio.Event()

        def on_progress(progress: Progress) -> None:
            seen.append(progress)
            if progress.done == 4:
                stopped.set()

        task = asyncio.create_task(run_improvement(team, SUITE, 3, arms, on_progress=on_progress))
        await stopped.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    # The fifth run was under way when the cancellation came: it ended, and none came after.
    assert [progress.done for progress in seen] == [1, 2, 3, 4]


def test_nothing_to_run_is_refused(tmp_path: Path) -> None:
    team = one_agent_team(tmp_path)
    with pytest.raises(ValueError, match="iterations"):
        asyncio.run(run_improvement(team, SUITE, 0, Arms(tmp_path)))
    with pytest.raises(ValueError, match="arm"):
        asyncio.run(run_improvement(team, SUITE, 1, Arms(tmp_path), arms=()))


def test_ablation_arms_learn_but_do_not_recall_what_they_hide(tmp_path: Path) -> None:
    """What the agents and the critic were shown in the second iteration, arm by arm, through
    the same runners the CLI and the pane use."""
    arms = [Arm.LEARNING_ON, Arm.WITH_OVERRIDES, *ABLATION_ARMS]
    shown: dict[Arm, list[str]] = {}
    runs: list[Progress] = []

    def watching_actor(messages: Sequence[ChatMessage]) -> str:
        # Runs go through the arms in turn: the one under way follows the last reported.
        shown.setdefault(arms[len(runs) % len(arms)], []).append(messages[0].content)
        return actor(messages)

    # The file task: its lessons make a plan (write the file) that leaves finishing to the
    # model, which is then shown what was learned. The critic's 6 and the check pass it.
    provider = ScriptedProvider({"m": team_model(watching_actor, score=6)})
    team = one_agent_team(tmp_path, tools="[calculator, write_file]")
    suite = SUITE.model_copy(update={"tasks": SUITE.tasks[2:]})
    result = asyncio.run(
        measure_improvement(
            team, suite, Plan(2), provider, arms=arms, max_answer_tokens=64, on_progress=runs.append
        )
    )

    assert [series.name for series in result.series] == [arm.value for arm in arms]
    second = {arm: prompts[-1] for arm, prompts in shown.items()}  # iteration 2's last call
    learned, past = "Learned from earlier tasks", "Past runs"
    assert learned in second[Arm.LEARNING_ON] and past in second[Arm.LEARNING_ON]
    assert learned not in second[Arm.WITHOUT_HEURISTICS] and past in second[Arm.WITHOUT_HEURISTICS]
    assert (
        learned in second[Arm.WITHOUT_EXPERIENCES] and past not in second[Arm.WITHOUT_EXPERIENCES]
    )
    assert learned in second[Arm.WITHOUT_DEAD_ENDS] and past in second[Arm.WITHOUT_DEAD_ENDS]
    # The person scored the written file 10 in iteration 1. With the anchors, the critic now
    # scores that state as the person did, above its own 6; without them it is back to the
    # critic's 6.
    curves = {run.last.arm: run.last.outcome.phi_curve for run in runs[len(arms) :]}
    assert curves[Arm.WITH_OVERRIDES][1] > 6.0
    assert curves[Arm.OVERRIDES_WITHOUT_ANCHORS][1] == 6.0
    # The printed table lines its columns up whatever the length of the arms' names.
    header, *rows = format_table(result).splitlines()[1:]
    success_end = header.index("success") + len("success")
    assert {row.index("%") + 1 for row in rows} == {success_end}


def misreading_actor(messages: Sequence[ChatMessage]) -> str:
    """Writes 7 * 6 as "seven * 6", which the calculator cannot read, then answers 41; without the
    calculator on offer, answers 42 at once."""
    if '"tool": "calculator"' not in messages[0].content:
        return act("finish", answer="42")
    if not any(message.role == "assistant" for message in messages):
        return act("calculator", expression="seven * 6")
    return act("finish", answer="41")


def test_without_dead_ends_a_wrong_answer_is_not_taken_away(tmp_path: Path) -> None:
    """Both arms learn the call that failed as a dead end. Learning on, the second iteration
    is asked again without that call and answers 42; without dead ends it fails again."""
    provider = ScriptedProvider({"m": team_model(misreading_actor, score=critic)})
    team = one_agent_team(tmp_path, tools="[calculator, write_file]")
    suite = SUITE.model_copy(update={"tasks": [SUITE.tasks[1]]})
    runs: list[Progress] = []
    arms = [Arm.LEARNING_ON, Arm.WITHOUT_DEAD_ENDS]
    asyncio.run(
        measure_improvement(
            team, suite, Plan(2), provider, arms=arms, max_answer_tokens=64, on_progress=runs.append
        )
    )

    passed = {(run.last.arm, run.last.iteration): run.last.passed for run in runs}
    assert passed == {
        (Arm.LEARNING_ON, 1): False,
        (Arm.WITHOUT_DEAD_ENDS, 1): False,
        (Arm.LEARNING_ON, 2): True,
        (Arm.WITHOUT_DEAD_ENDS, 2): False,
    }
    assert "should contain '42'" in runs[-1].last.detail
