"""``purpose-desktop bench improve``: run a team on a suite for several iterations under each
arm and save the improvement curves where the Benchmarks pane lists them.

Each arm learns in a memory of its own that starts empty, in a folder thrown away after the
benchmark: the curves measure what the team learns during the benchmark, not what the
person's own memory already holds, and the benchmark's runs leave that memory as it was.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from purpose_desktop.config import Paths
from purpose_desktop.engine.evaluation.runner import Arm, Progress, RunnerFor, run_improvement
from purpose_desktop.engine.evaluation.suites import Suite
from purpose_desktop.engine.improvement import ImprovementResult, save_improvement
from purpose_desktop.engine.run import ModelService, TeamRunner
from purpose_desktop.engine.specs import LoadedTeam
from purpose_desktop.store.database import open_database
from purpose_desktop.store.memory_store import SqliteMemoryStore
from purpose_desktop.store.migrations import migrate


@contextmanager
def arm_runners(models: ModelService, max_answer_tokens: int) -> Iterator[RunnerFor]:
    """Runners sharing ``models``, each arm's with an empty memory and workspaces of its own,
    all removed on leaving."""
    with tempfile.TemporaryDirectory(prefix="purpose-bench-") as folder:
        engines = []

        def runner_for(arm: Arm) -> TeamRunner:
            arm_dir = Path(folder) / arm.name.lower()
            arm_dir.mkdir()
            engine = open_database(arm_dir / "memory.sqlite3")
            migrate(engine)
            engines.append(engine)
            return TeamRunner(models, SqliteMemoryStore(engine),
                              workspaces_dir=arm_dir / "workspaces",
                              max_answer_tokens=max_answer_tokens)

        try:
            yield runner_for
        finally:
            for engine in engines:
                engine.dispose()  # the files must be closed before the folder goes


async def measure_improvement(
    team: LoadedTeam, suite: Suite, iterations: int, models: ModelService, *,
    arms: Sequence[Arm], max_answer_tokens: int,
    on_progress: Callable[[Progress], None] | None = None,
) -> ImprovementResult:
    """Run the benchmark with fresh memories (see :func:`arm_runners`)."""
    with arm_runners(models, max_answer_tokens) as runner_for:
        return await run_improvement(team, suite, iterations, runner_for, arms=arms,
                                     on_progress=on_progress)


def result_file(paths: Paths, result: ImprovementResult) -> Path:
    """Where ``result`` is saved by default: the folder the Benchmarks pane lists."""
    stamp = result.created.strftime("%Y%m%d-%H%M%S")
    return paths.benchmarks_dir / f"improve-{result.suite}-{stamp}.json"


def save_result(result: ImprovementResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_improvement(result, path)


def print_progress(progress: Progress) -> None:
    """One line on stderr per task run."""
    run = progress.last
    mark = "passed" if run.passed else f"failed ({run.detail})"
    print(f"[{progress.done}/{progress.total}] {run.arm.value}, iteration {run.iteration}, "
          f"{run.task_id}: {mark}", file=sys.stderr, flush=True)


def format_table(result: ImprovementResult) -> str:
    """The curves as a table: one row per arm and iteration."""
    lines = [f"{result.suite} by {result.team} on {result.model}",
             f"{'arm':<16}{'iter':>5}{'success':>9}{'avg Φ':>7}{'steps':>7}{'reward':>8}"
             f"{'tokens':>9}{'seconds':>9}"]
    for series in result.series:
        for m in series.iterations:
            lines.append(f"{series.name:<16}{m.iteration:>5}{m.success_rate:>9.0%}"
                         f"{m.average_phi:>7.2f}{m.average_steps:>7.2f}{m.average_reward:>8.2f}"
                         f"{m.tokens:>9}{m.seconds:>9.1f}")
    return "\n".join(lines)
