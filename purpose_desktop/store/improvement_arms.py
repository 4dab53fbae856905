"""An improvement benchmark run with fresh memories: each arm learns in a memory of its own
that starts empty, in a folder thrown away afterwards. The curves then measure what the team
learns during the benchmark, not what the person's own memory already holds, and the
benchmark's runs leave that memory as it was.

``bench improve`` and the Benchmarks pane both run benchmarks through
:func:`measure_improvement`. It sits with the store because each arm's memory is a SQLite
database of its own.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine

from purpose_desktop.engine.evaluation.ablation import PartialRecall
from purpose_desktop.engine.evaluation.repeats import mean_of
from purpose_desktop.engine.evaluation.runner import (
    Arm,
    Plan,
    Progress,
    RunnerFor,
    run_improvement,
)
from purpose_desktop.engine.evaluation.suites import Suite
from purpose_desktop.engine.learning.improvement import ImprovementResult
from purpose_desktop.engine.loop.run import TeamRunner
from purpose_desktop.engine.loop.run_context import ModelService
from purpose_desktop.engine.specs import LoadedTeam
from purpose_desktop.store.database import open_database
from purpose_desktop.store.memory_store import DatabaseMemoryStore
from purpose_desktop.store.migrations import migrate


@asynccontextmanager
async def arm_runners(
    models: ModelService, max_answer_tokens: int, arms: Sequence[Arm]
) -> AsyncIterator[RunnerFor]:
    """Runners for ``arms`` sharing ``models``, each with an empty memory and workspaces of
    its own, all removed on leaving. The memories are made and removed on a worker thread:
    creating a database's tables would hold up the event loop (and the window with it)."""
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="purpose-bench-"))
    engines: dict[Arm, Engine] = {}
    try:
        await asyncio.to_thread(_open_memories, folder, arms, engines)

        def runner_for(arm: Arm) -> TeamRunner:
            memory = PartialRecall(DatabaseMemoryStore(engines[arm]), arm.hidden)
            return TeamRunner(
                models,
                memory,
                workspaces_dir=_arm_dir(folder, arm) / "workspaces",
                max_answer_tokens=max_answer_tokens,
            )

        yield runner_for
    finally:
        await asyncio.to_thread(_remove, folder, engines)


async def measure_improvement(
    team: LoadedTeam,
    suite: Suite,
    plan: Plan,
    models: ModelService,
    *,
    arms: Sequence[Arm],
    max_answer_tokens: int,
    on_progress: Callable[[Progress], None] | None = None,
) -> ImprovementResult:
    """Run the benchmark ``plan`` describes, each repeat with fresh memories (see
    :func:`arm_runners`) and, when it holds tasks out, a split of its own; the result is the
    mean of the repeats. Cancelling the calling task ends the run under way as cancelled,
    removes the memories and raises the cancellation."""
    splits = plan.splits(suite)
    total = plan.task_runs(suite, len(arms))
    per_repeat = total // len(splits)
    results: list[ImprovementResult] = []
    for repeat, split in enumerate(splits, start=1):
        done_before = (repeat - 1) * per_repeat

        def report(progress: Progress, repeat: int = repeat, before: int = done_before) -> None:
            if on_progress is not None:
                on_progress(
                    replace(
                        progress,
                        done=before + progress.done,
                        total=total,
                        repeat=repeat,
                        repeats=len(splits),
                    )
                )

        async with arm_runners(models, max_answer_tokens, arms) as runner_for:
            results.append(
                await run_improvement(
                    team,
                    suite,
                    plan.iterations,
                    runner_for,
                    arms=arms,
                    split=split,
                    on_progress=report,
                )
            )
    return mean_of(results)


def _arm_dir(folder: Path, arm: Arm) -> Path:
    return folder / arm.name.lower()


def _open_memories(folder: Path, arms: Sequence[Arm], engines: dict[Arm, Engine]) -> None:
    # Into ``engines`` as each is made, so that those made before a failure are closed too.
    for arm in arms:
        arm_dir = _arm_dir(folder, arm)
        arm_dir.mkdir()
        engine = engines[arm] = open_database(arm_dir / "memory.sqlite3")
        migrate(engine)


def _remove(folder: Path, engines: dict[Arm, Engine]) -> None:
    for engine in engines.values():
        engine.dispose()  # the files must be closed before the folder goes
    shutil.rmtree(folder, ignore_errors=True)
