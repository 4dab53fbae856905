"""The improvement benchmark on the bundled SmolLM2-135M: two arithmetic tasks, one
iteration, two arms. A 135M model's answers vary, so only that it completes is asserted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from purpose_desktop.config import example_team_file, resources_dir
from purpose_desktop.engine.evaluation.runner import Arm, run_improvement
from purpose_desktop.engine.evaluation.suites import load_suite
from purpose_desktop.engine.learning.improvement import (
    ImprovementResult,
    load_improvement,
    save_improvement,
)
from purpose_desktop.engine.team_file import load_team
from purpose_desktop.models.router import ModelRouter
from purpose_desktop.store.improvement_arms import arm_runners

pytestmark = pytest.mark.model


def test_two_arithmetic_tasks_under_two_arms(router: ModelRouter, tmp_path: Path) -> None:
    suite = load_suite(resources_dir() / "suites" / "arithmetic.yaml")
    suite = suite.model_copy(update={"tasks": suite.tasks[:2]})
    team = load_team(example_team_file().with_name("arithmetic.yaml"))
    arms = (Arm.LEARNING_ON, Arm.WITH_OVERRIDES)

    async def scenario() -> ImprovementResult:
        async with arm_runners(router, 96, arms) as runner_for:
            return await run_improvement(team, suite, 1, runner_for, arms=arms)

    result = asyncio.run(scenario())
    path = tmp_path / "result.json"
    save_improvement(result, path)
    loaded = load_improvement(path)
    assert loaded == result
    assert [series.name for series in loaded.series] == ["learning on", "with overrides"]
    for series in loaded.series:
        (metrics,) = series.iterations
        assert metrics.iteration == 1 and metrics.tokens > 0 and metrics.average_steps >= 1
