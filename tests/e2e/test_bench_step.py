"""``purpose-desktop bench step`` run as a person runs it: a real subprocess, few steps.

Only the report's shape and sanity are checked here; whether the targets are met is for the
benchmark to say on a quiet machine (timings are not tests).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from purpose_desktop.bench.step import TARGETS, StepBenchmark, StepTiming
from tests.support.cli import purpose_desktop


@pytest.mark.model
def test_bench_step_reports_every_step_and_each_target(tmp_path: Path) -> None:
    result = purpose_desktop(
        "bench", "step", "--steps", "2", "--repeats", "1", "--json", home=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert set(report) == {field.name for field in dataclasses.fields(StepBenchmark)}
    assert (report["repeats"], report["max_steps"]) == (1, 2)
    assert set(report["targets"]) == set(TARGETS)
    assert all(isinstance(held, bool) for held in report["targets"].values())
    for name in ("evaluated_share_from_step_2", "step_over_floor", "constrained_ratio"):
        assert report[name]["low"] <= report[name]["median"] <= report[name]["high"], name
    steps = report["steps"]
    assert {step["task"] for step in steps} == {1, 2}
    assert all(step["step"] <= 2 for step in steps)
    assert set(steps[0]) == {f.name for f in dataclasses.fields(StepTiming)} | {"over_floor"}
    for step in steps:
        assert 0 < step["prompt_evaluated"] <= step["prompt_sent"]
        for key in ("first_token_ms", "total_ms", "floor_ms"):
            assert math.isfinite(step[key]) and step[key] > 0, key
        assert step["first_token_ms"] < step["total_ms"]
    # The second task's prompts start as the first task's did: their front comes from the
    # worker's prompt cache.
    later = [step for step in steps if step["task"] == 2]
    assert later[0]["prompt_evaluated"] < later[0]["prompt_sent"] / 2
    assert report["scripted_overhead_median_ms"] <= report["scripted_overhead_max_ms"]
