"""``purpose-desktop bench tools`` run as a person runs it: a real subprocess on the bundled
SmolLM2, a few cases. Only the report's shape and sanity are checked: how often a 135M model
gets a call right is for the benchmark to say, not a test."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from purpose_desktop.bench.tools import CaseResult, NoToolResult, PathSummary, load_cases
from purpose_desktop.engine.tools.names import mcp_tool_name
from tests.support.cli import purpose_desktop

CASES = 3


@pytest.mark.process
@pytest.mark.model
def test_bench_tools_reports_both_paths_on_the_first_cases(tmp_path: Path) -> None:
    result = purpose_desktop(
        "bench", "tools", "--cases", str(CASES), "--threads", "2", "--json", home=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert set(report) == {"model", "n_threads", "cases", "paths", "results", "no_tool"}
    assert report["model"].endswith(".gguf")
    assert (report["cases"], report["n_threads"]) == (CASES, 2)
    assert set(report["paths"]) == {"project", "raw"}
    for name, summary in report["paths"].items():
        assert set(summary) == {field.name for field in dataclasses.fields(PathSummary)}, name
        assert summary["cases"] == CASES
        for share in ("valid", "right_tool", "exact_arguments"):
            assert 0.0 <= summary[share] <= 1.0, (name, share)
        assert summary["exact_arguments"] <= min(summary["valid"], summary["right_tool"])
        assert 0 < summary["tokens_per_s"] < 10_000, name
        assert sum(summary["failures"].values()) == round(CASES * (1 - summary["exact_arguments"]))
    # The raw path is told the tool, so it cannot pick another.
    assert report["paths"]["raw"]["right_tool"] == 1.0

    results = report["results"]
    assert set(results[0]) == {field.name for field in dataclasses.fields(CaseResult)}
    cases = load_cases()[:CASES]
    for path in ("project", "raw"):
        mine = [r for r in results if r["path"] == path]
        assert [r["case"] for r in mine] == list(range(CASES))
        for r, case in zip(mine, cases, strict=True):
            assert r["expected_tool"] == mcp_tool_name(case.server, case.tool)
            # The first cases' tools are flat, so both paths generated an answer.
            assert r["answer"].strip().startswith("{") and r["tokens"] > 0
            assert (r["reason"] == "") == r["exact"]
            if r["exact"]:
                assert r["valid"] and r["right_tool"]

    # As many requests that need no tool, on the project's path alone.
    no_tool = report["no_tool"]
    assert no_tool["requests"] == CASES
    assert [r["request"] for r in no_tool["results"]] == list(range(CASES))
    for r in no_tool["results"]:
        assert set(r) == {field.name for field in dataclasses.fields(NoToolResult)}
        assert len(r["offered"]) == 4 and r["answer"].strip().startswith("{")
        assert r["finished"] == (r["tool"] == "finish")
        assert r["tool"] in {*r["offered"], "finish"}
    assert no_tool["finished"] == sum(r["finished"] for r in no_tool["results"])
