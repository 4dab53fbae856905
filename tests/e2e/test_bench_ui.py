"""``purpose-desktop bench ui`` run as a person runs it: a real subprocess, offscreen, short.

Only the report's shape and sanity are checked here; whether the targets are met is for the
benchmark to say on a quiet machine (timings are not tests).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.support.cli import purpose_desktop

OFFSCREEN = {"QT_QPA_PLATFORM": "offscreen"}


def assert_spread(spread: dict[str, Any]) -> None:
    assert spread["samples"] > 0
    assert 0 <= spread["p50"] <= spread["p99"] <= spread["max"]


def test_three_agents_streaming_into_the_window_in_rounds_report_lag_and_paint_delay(
    tmp_path: Path,
) -> None:
    result = purpose_desktop(
        "bench",
        "ui",
        "--agents",
        "3",
        "--tokens",
        "150",
        "--idle-seconds",
        "0.5",
        "--rounds",
        "2",
        "--json",
        home=tmp_path,
        env=OFFSCREEN,
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert result.returncode == (0 if report["meets_targets"] else 1)
    assert (report["agents"], report["tokens_per_agent"]) == (3, 150)
    assert report["platform"] == "offscreen"
    assert report["errors"] == []
    assert len(report["rounds"]) == 2
    for round_ in report["rounds"]:
        assert round_["runs"] == ["completed"] * 3
        # Every token each agent streamed reached the window and was painted, and each
        # bridge frame held exactly the tokens noted for it.
        assert round_["tokens_streamed"] == 3 * 150
        assert round_["tokens_painted"] == round_["tokens_streamed"]
        assert round_["token_to_paint_ms"]["samples"] == round_["tokens_painted"]
        assert round_["unmatched_frames"] == 0
        for spread in ("streaming_lag_ms", "token_to_paint_ms"):
            assert_spread(round_[spread])
        assert round_["token_to_paint_ms"]["p50"] > 0
        assert round_["paints"] > 0
        assert round_["painted_tokens_per_s"] > 0
        assert round_["streaming_seconds"] > 0
    assert_spread(report["idle_lag_ms"])
    # The summaries are the median, least and greatest of the rounds' own figures.
    maxima = sorted(round_["streaming_lag_ms"]["max"] for round_ in report["rounds"])
    assert (report["lag_max_ms"]["low"], report["lag_max_ms"]["high"]) == (maxima[0], maxima[1])
    assert report["lag_max_ms"]["median"] == pytest.approx(sum(maxima) / 2, abs=0.001)
    paint_maxima = sorted(round_["token_to_paint_ms"]["max"] for round_ in report["rounds"])
    assert report["token_to_paint_max_ms"]["high"] == paint_maxima[1]
    assert report["warm_up_max_lag_ms"] >= 0
    assert report["text_views"] >= 1
    assert report["bounded"] is True
    assert 0 < report["max_blocks"] <= report["block_limit"]
    assert report["max_characters"] > 0
    assert set(report["targets"]) == {"lag_p99_ms", "lag_max_ms", "token_to_paint_max_ms"}


def test_impossible_settings_are_refused_before_anything_runs(tmp_path: Path) -> None:
    result = purpose_desktop("bench", "ui", "--agents", "0", home=tmp_path, env=OFFSCREEN)
    assert result.returncode == 2
    assert "argument --agents: must be from 1 to 64, not 0" in result.stderr
    assert result.stdout == ""
    result = purpose_desktop("bench", "ui", "--rounds", "0", home=tmp_path, env=OFFSCREEN)
    assert result.returncode == 2
    assert "argument --rounds: must be from 1 to 20, not 0" in result.stderr
