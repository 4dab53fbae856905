"""A benchmark run from the Benchmarks pane: what it needs from the window, the suites and
team files to choose from, and the run itself, which saves its result where ``bench improve``
saves one (:func:`~purpose_desktop.store.improvement_store.keep_result`).

Everything that blocks (reading suites and team files, making the arms' memories, saving the
result) runs on worker threads; the benchmark runs on the event loop, as every team run does.
The engine is imported when a benchmark is first set up: the pane may be made as the window
starts, which does not wait for the engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from purpose_desktop.engine.evaluation.runner import Arm, Progress
    from purpose_desktop.engine.evaluation.suites import Suite, SuiteListing
    from purpose_desktop.engine.learning.improvement import ImprovementResult
    from purpose_desktop.engine.learning.kept_results import KeptResult
    from purpose_desktop.engine.loop.run_context import ModelService
    from purpose_desktop.ui.benchmarks.results import OpenStore

TEAM_SUFFIXES = (".yaml", ".yml", ".toml")


@dataclass(frozen=True)
class BenchmarkSetup:
    """What running a benchmark from the pane needs from the window: the models (made when
    first asked for), the folders of the built-in and the person's suites, the folders of team
    files to offer, and the longest answer a model may give."""

    models: Callable[[], ModelService]
    builtin_suites: Path
    user_suites: Path
    sample_teams: Path
    user_teams: Path
    max_answer_tokens: int


@dataclass(frozen=True)
class TeamChoice:
    """A team file to offer, and whether it is one of the sample teams shipped with the app."""

    path: Path
    sample: bool


@dataclass(frozen=True)
class BenchmarkChoices:
    """The suites (and the files that are not valid suites) and the team files found."""

    suites: SuiteListing
    teams: tuple[TeamChoice, ...]


@dataclass(frozen=True)
class BenchmarkRequest:
    """A benchmark to run: ``suite`` by the team in ``team_file``, ``iterations`` times under
    each of ``arms``."""

    suite: Suite
    team_file: Path
    iterations: int
    arms: tuple[Arm, ...]

    @property
    def task_runs(self) -> int:
        """How many times a task is run in all."""
        return self.iterations * len(self.arms) * len(self.suite.tasks)


@dataclass(frozen=True)
class BenchmarkDone:
    """A finished benchmark's result, and where it was saved."""

    result: ImprovementResult
    kept: KeptResult


def read_choices(setup: BenchmarkSetup) -> BenchmarkChoices:
    """The suites, and the team files: the person's, then the samples. Reads files: call it
    on a worker thread."""
    from purpose_desktop.engine.evaluation.suites import read_suites

    teams = tuple(
        TeamChoice(path, sample)
        for folder, sample in ((setup.user_teams, False), (setup.sample_teams, True))
        if folder.is_dir()
        for path in sorted(folder.iterdir())
        if path.suffix.lower() in TEAM_SUFFIXES and path.is_file()
    )
    return BenchmarkChoices(read_suites(setup.builtin_suites, setup.user_suites), teams)


async def run_benchmark(
    request: BenchmarkRequest,
    setup: BenchmarkSetup,
    folder: Path,
    open_store: OpenStore | None,
    on_progress: Callable[[Progress], None],
) -> BenchmarkDone:
    """Run ``request`` and save its result in ``folder`` and in the database. Raises what
    the person can fix as a ``UserError`` (a team file that is not valid, a folder that
    cannot be written); cancelling stops the run under way and saves nothing."""
    from purpose_desktop.engine.learning.improvement import result_file
    from purpose_desktop.engine.team_file import load_team
    from purpose_desktop.store.improvement_arms import measure_improvement
    from purpose_desktop.store.improvement_store import keep_result

    team = await asyncio.to_thread(load_team, request.team_file)
    result = await measure_improvement(
        team,
        request.suite,
        request.iterations,
        setup.models(),
        arms=request.arms,
        max_answer_tokens=setup.max_answer_tokens,
        on_progress=on_progress,
    )
    engine = None if open_store is None else (lambda: open_store().engine)
    kept = await asyncio.to_thread(keep_result, result, result_file(folder, result), engine)
    return BenchmarkDone(result, kept)
