"""Running a team end to end on the bundled SmolLM2, headless."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psutil
import pytest
from purpose_desktop.engine.events import (
    AgentSelected,
    CostRecorded,
    ErrorRaised,
    Event,
    ModelStatusChanged,
    RunFinished,
    RunStarted,
    TokenStreamed,
    WarningRaised,
)
from purpose_desktop.engine.loop.run import RunOutcome, TeamRunner
from purpose_desktop.engine.specs import LoadedTeam
from purpose_desktop.engine.team_file import load_team, parse_team
from purpose_desktop.models.pool import LocalModelPool
from purpose_desktop.models.router import ModelRouter
from tests.support.scripted_team import memory_at

pytestmark = pytest.mark.model


def runner_for(tmp_path: Path) -> tuple[TeamRunner, LocalModelPool]:
    pool = LocalModelPool(tmp_path, n_ctx=1024, n_threads=2)
    router = ModelRouter(pool, tmp_path, n_ctx=1024)
    runner = TeamRunner(
        router,
        memory_at(tmp_path / "memory.sqlite3"),
        workspaces_dir=tmp_path / "workspaces",
        max_answer_tokens=48,
    )
    return runner, pool


def test_a_run_streams_tokens_between_start_and_finish(example_team: Path, tmp_path: Path) -> None:
    events: list[Event] = []
    runner, pool = runner_for(tmp_path)

    async def scenario() -> None:
        try:
            outcome = await runner.run(
                load_team(example_team), "Name a primary colour.", [events.append]
            )
            assert outcome.status == "completed"
            assert outcome.answer.strip()
            assert outcome.usage.completion_tokens > 0
        finally:
            await pool.aclose()

    asyncio.run(scenario())
    kinds = [type(e) for e in events]
    assert kinds[:4] == [RunStarted, AgentSelected, ModelStatusChanged, ModelStatusChanged]
    assert kinds[-1] is RunFinished
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    tokens = [e for e in events if isinstance(e, TokenStreamed)]
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert len(tokens) > 1
    # An agent that can only answer streams its answer in its own words.
    streamed = "".join(t.text for t in tokens)
    assert finished.answer.strip() and finished.answer == streamed.strip()
    assert {e.run_id for e in events} == {events[0].run_id}


def test_a_missing_model_fails_the_run_with_a_clear_message(tmp_path: Path) -> None:
    team = LoadedTeam(
        spec=parse_team(
            "name: T\nagents:\n  - name: a\n    role: r\n    model: missing/model.gguf\n",
            Path("team.yaml"),
        ),
        source=tmp_path / "team.yaml",
    )
    events: list[Event] = []
    runner, _ = runner_for(tmp_path)
    outcome = asyncio.run(runner.run(team, "anything", [events.append]))
    assert outcome.status == "failed"
    assert outcome.error is not None
    assert "Model file not found: 'missing/model.gguf'" in outcome.error
    assert any(isinstance(e, ErrorRaised) for e in events)
    assert isinstance(events[-1], RunFinished)
    assert events[-1].status == "failed"


def test_cancelling_a_run_records_it_and_leaves_no_model_process(
    example_team: Path, tmp_path: Path
) -> None:
    events: list[Event] = []
    runner, pool = runner_for(tmp_path)
    first_token = asyncio.Event()

    def watch(event: Event) -> None:
        events.append(event)
        if isinstance(event, TokenStreamed):
            first_token.set()

    async def scenario() -> None:
        task = asyncio.create_task(
            runner.run(load_team(example_team), "Write a long story.", [watch])
        )
        await first_token.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await pool.aclose()

    asyncio.run(scenario())
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert finished.status == "cancelled"
    assert psutil.Process().children(recursive=True) == []


def test_a_task_too_long_for_the_context_is_cut_to_fit_with_a_warning(
    example_team: Path, tmp_path: Path
) -> None:
    events: list[Event] = []
    runner, pool = runner_for(tmp_path)
    log = " ".join(f"Line {i}: the pump pressure was {i % 9} bar." for i in range(600))
    task = f"Here is a log. {log} Which pressure occurs most often?"

    async def scenario() -> RunOutcome:
        try:
            return await runner.run(load_team(example_team), task, [events.append])
        finally:
            await pool.aclose()

    outcome = asyncio.run(scenario())
    assert outcome.status == "completed", outcome.error
    calls = [e for e in events if isinstance(e, CostRecorded)]
    assert calls and all(0 < c.prompt_tokens <= 1024 - 48 for c in calls)
    warnings = [e for e in events if isinstance(e, WarningRaised)]
    assert len(warnings) == 1
    assert "cut in the middle" in warnings[0].message
    assert "1024" in warnings[0].message
