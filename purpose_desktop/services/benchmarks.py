"""Improvement benchmarks, for the Benchmarks pane and ``bench improve``: the results saved in
the database and the benchmarks folder (listed, read, deleted), the suites and team files to
choose from, and running a benchmark, whose result is kept in both places.

Reading and saving run on worker threads; a benchmark itself runs on the event loop, as every
team run does, reporting each task run there. The engine and the database layer are imported
when first needed: the pane may be made as the window starts, which does not wait for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.engine.learning.improvement import (
    ImprovementResult,
    list_results,
    load_improvement,
)
from purpose_desktop.errors import UserError
from purpose_desktop.services.background import off_loop
from purpose_desktop.services.benchmark_listing import ResultListing, merged

if TYPE_CHECKING:
    from purpose_desktop.engine.evaluation.runner import Arm, Plan, Progress
    from purpose_desktop.engine.evaluation.suites import Suite, SuiteListing
    from purpose_desktop.engine.learning.kept_results import KeptResult, SavedImprovement
    from purpose_desktop.engine.loop.run_context import ModelService
    from purpose_desktop.services.store import StoreService
    from purpose_desktop.store.opening import Store

TEAM_SUFFIXES = (".yaml", ".yml", ".toml")
UNLISTED = "The results saved in the database cannot be read"


@dataclass(frozen=True)
class BenchmarkSetup:
    """What running a benchmark needs: the models (made when first asked for), the folders of
    the built-in and the person's suites, the folders of team files to offer, and the longest
    answer a model may give."""

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
    each of ``arms``; with ``holdout`` that share of the tasks is tested on, not learned on;
    ``repeats`` times over, each on a split of its own (see
    :class:`~purpose_desktop.engine.evaluation.runner.Plan`)."""

    suite: Suite
    team_file: Path
    iterations: int
    arms: tuple[Arm, ...]
    holdout: float = 0.0
    repeats: int = 1

    @property
    def task_runs(self) -> int:
        """How many times a task is run in all."""
        return self.repeats * self.iterations * len(self.arms) * len(self.suite.tasks)


@dataclass(frozen=True)
class BenchmarkDone:
    """A finished benchmark's result, and where it was kept."""

    result: ImprovementResult
    kept: KeptResult


class BenchmarkService:
    """The results in ``folder`` and in the database of ``store`` (without it, the files
    alone), and, given ``setup``, benchmarks to run."""

    def __init__(
        self,
        folder: Path,
        store: StoreService | None = None,
        setup: BenchmarkSetup | None = None,
    ) -> None:
        self.folder = folder
        self._store = store
        self._setup = setup

    @property
    def can_run(self) -> bool:
        """Whether benchmarks can be run (there are models to run them on)."""
        return self._setup is not None

    @property
    def user_suites(self) -> Path | None:
        """The folder of the person's own suites, when benchmarks can be run."""
        return None if self._setup is None else self._setup.user_suites

    @property
    def user_teams(self) -> Path | None:
        """The folder of the person's own teams, when benchmarks can be run."""
        return None if self._setup is None else self._setup.user_teams

    # --- results ----------------------------------------------------------------------------

    async def list_results(self) -> ResultListing:
        """The database's results and the folder's files, merged (see
        :mod:`~purpose_desktop.services.benchmark_listing`). A database that cannot be read
        leaves the files, with why."""
        files = await off_loop(list_results, self.folder)
        if self._store is None:
            return ResultListing(merged((), files))
        try:
            saved = await self._store.run_blocking(_list_saved)
        except UserError as exc:
            return ResultListing(merged((), files), f"{UNLISTED}: {exc}")
        return ResultListing(merged(saved, files))

    async def read_file(self, path: Path) -> ImprovementResult:
        """The result in the file ``path``; :class:`ImprovementFileError` says what is wrong."""
        return await off_loop(load_improvement, path)

    async def read_saved(self, saved: SavedImprovement) -> ImprovementResult:
        """The result saved in the database as ``saved``; :class:`UserError` says why it
        cannot be read."""
        return await self._database().run_blocking(lambda store: _load(store, saved.id))

    def own_file(self, saved: SavedImprovement) -> Path | None:
        """The JSON file saved with ``saved``, when it is in the benchmarks folder: one saved
        elsewhere (``--out``), or on another machine that shares the database, is not ours to
        remove."""
        if saved.file is not None and saved.file.parent == self.folder:
            return saved.file
        return None

    async def delete(self, saved: SavedImprovement) -> None:
        """Forget ``saved`` in the database and remove its own file (:meth:`own_file`);
        :class:`UserError` says why that could not be done."""
        own = self.own_file(saved)
        try:
            await self._database().run_blocking(lambda store: _delete(store, saved.id))
            if own is not None:
                await off_loop(own.unlink, missing_ok=True)
        except (UserError, OSError) as exc:
            raise UserError(f"The result could not be deleted: {exc}") from exc

    # --- running ----------------------------------------------------------------------------

    async def choices(self) -> BenchmarkChoices:
        """The suites, and the team files: the person's, then the samples."""
        return await off_loop(self._choices, self._required_setup())

    async def run(
        self,
        request: BenchmarkRequest,
        on_progress: Callable[[Progress], None],
        *,
        out: Path | None = None,
    ) -> BenchmarkDone:
        """Run ``request``, calling ``on_progress`` on the event loop after each task run, and
        keep its result as ``out`` (by default a file named for it in the benchmarks folder)
        and in the database. What the person can fix (a team file that is not valid, a
        folder that cannot be written) is raised as a :class:`UserError`; cancelling stops
        the task run under way and keeps nothing."""
        from purpose_desktop.engine.learning.improvement import result_file
        from purpose_desktop.engine.team_file import load_team
        from purpose_desktop.store.improvement_arms import measure_improvement
        from purpose_desktop.store.improvement_store import keep_result

        setup = self._required_setup()
        plan = _plan(request)
        team = await off_loop(load_team, request.team_file)
        result = await measure_improvement(
            team,
            request.suite,
            plan,
            setup.models(),
            arms=request.arms,
            max_answer_tokens=setup.max_answer_tokens,
            on_progress=on_progress,
        )
        file = out or result_file(self.folder, result)
        store = self._store
        opened = None if store is None else (lambda: store.opened().engine)
        kept = await off_loop(keep_result, result, file, opened)
        return BenchmarkDone(result, kept)

    # --- on worker threads ------------------------------------------------------------------

    @staticmethod
    def _choices(setup: BenchmarkSetup) -> BenchmarkChoices:
        from purpose_desktop.engine.evaluation.suites import read_suites

        teams = tuple(
            TeamChoice(path, sample)
            for folder, sample in ((setup.user_teams, False), (setup.sample_teams, True))
            if folder.is_dir()
            for path in sorted(folder.iterdir())
            if path.suffix.lower() in TEAM_SUFFIXES and path.is_file()
        )
        return BenchmarkChoices(read_suites(setup.builtin_suites, setup.user_suites), teams)

    # --- helpers ----------------------------------------------------------------------------

    def _database(self) -> StoreService:
        if self._store is None:
            raise UserError("No database is open: results are kept as files only.")
        return self._store

    def _required_setup(self) -> BenchmarkSetup:
        if self._setup is None:
            raise UserError("Benchmarks cannot be run here: there are no models to run them on.")
        return self._setup


def _plan(request: BenchmarkRequest) -> Plan:
    """How ``request`` runs its suite; :class:`UserError` when it cannot (a held-out share the
    suite is too small for)."""
    from purpose_desktop.engine.evaluation.runner import Plan

    try:
        plan = Plan(request.iterations, request.holdout, request.repeats)
        plan.splits(request.suite)
    except ValueError as exc:
        raise UserError(f"The benchmark cannot be run on {request.suite.name}: {exc}.") from None
    return plan


# On worker threads, the store open: its modules load SQLAlchemy, which the window does not
# wait for.


def _list_saved(store: Store) -> list[SavedImprovement]:
    from purpose_desktop.store.improvement_store import ImprovementStore

    return ImprovementStore(store.engine).list_saved()


def _load(store: Store, result_id: int) -> ImprovementResult:
    from purpose_desktop.store.improvement_store import ImprovementStore

    return ImprovementStore(store.engine).load(result_id)


def _delete(store: Store, result_id: int) -> None:
    from purpose_desktop.store.improvement_store import ImprovementStore

    ImprovementStore(store.engine).delete(result_id)
