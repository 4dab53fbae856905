"""Benchmarks for tests: a one-task suite, a scripted set-up and a learning result."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from purpose_desktop.config import resources_dir
from purpose_desktop.engine.learning.improvement import (
    ImprovementResult,
    ImprovementSeries,
    IterationMetrics,
)
from purpose_desktop.models.base import ChatModel
from purpose_desktop.models.messages import ChatMessage, GenerationOptions, StreamEvent
from purpose_desktop.models.scripted import FunctionModel, ScriptedProvider
from purpose_desktop.services.benchmarks import BenchmarkSetup


class GatedModel:
    """Answers as ``inner`` does, but holds calls once the number :meth:`hold_after` allows
    have gone through: the benchmark then waits between two model calls."""

    def __init__(self, inner: FunctionModel) -> None:
        self.inner = inner
        self.name = inner.name
        self.holding = False
        """Whether a call is being held."""
        self._allowed: int | None = None
        self._changed = asyncio.Event()

    def hold_after(self, calls: int | None) -> None:
        """Let ``calls`` more calls through, then hold the rest; ``None``: hold none."""
        self._allowed = calls
        self._changed.set()

    async def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        while self._allowed == 0:
            self.holding = True
            self._changed.clear()
            await self._changed.wait()
        self.holding = False
        if self._allowed is not None:
            self._allowed -= 1
        async for event in self.inner.stream_chat(messages, options):
            yield event


def scripted_setup(folder: Path, model: ChatModel) -> BenchmarkSetup:
    """Benchmarks on ``model`` in place of the bundled SmolLM2, with the built-in suites and
    sample teams, and the person's suites and teams in ``folder`` (the suites holding
    ``tiny``)."""
    suites = folder / "suites"
    suites.mkdir()
    (suites / "tiny.yaml").write_text(SUITE, encoding="utf-8")
    return BenchmarkSetup(
        models=lambda: ScriptedProvider({"bundled:smollm2-135m": model}),
        builtin_suites=resources_dir() / "suites",
        user_suites=suites,
        sample_teams=resources_dir() / "teams",
        user_teams=folder / "teams",
        max_answer_tokens=64,
    )


def learning_result(iterations: int = 6) -> ImprovementResult:
    """Three series that part ways: learning helps, overrides help more."""

    def series(name: str, gain: float) -> ImprovementSeries:
        return ImprovementSeries(
            name,
            tuple(
                IterationMetrics(
                    iteration=i,
                    success_rate=min(1.0, 0.3 + gain * (i - 1)),
                    average_phi=min(10.0, 4.0 + 8 * gain * (i - 1)),
                    average_steps=max(1.0, 5.0 - 4 * gain * (i - 1)),
                    average_reward=round(-0.5 + 6 * gain * (i - 1), 2),
                    tokens=4000 - int(i * gain * 900),
                    seconds=60.0 - i * gain * 20,
                )
                for i in range(1, iterations + 1)
            ),
        )

    return ImprovementResult(
        suite="arithmetic",
        team="Calculators",
        model="bundled:smollm2-135m",
        created=datetime(2025, 6, 1, 12, 30, tzinfo=UTC),
        series=(
            series("learning on", 0.1),
            series("learning off", 0.0),
            series("with overrides", 0.14),
        ),
    )


SUITE = """\
name: tiny
tasks:
  - id: sum
    task: What is 17 + 25?
    check: {answer_contains: "42"}
  - id: product
    task: What is 12 * 8?
    check: {answer_contains: "96"}
"""
