"""A benchmark run from the Benchmarks pane, offscreen, on a real database and folders: the form
(suites built in and the person's, sample teams and Browse…, the share held out and the
repeats), the progress of every task run, Cancel mid-run, a team file that cannot be used, and
the saved result listed and shown, held out and repeated too.

The model is scripted (the same answer to every task, so the curves are exact) and held
between two calls by a gate, so the test sees the run mid-way; tests/engine/
test_evaluation_real.py runs the benchmark on the bundled SmolLM2."""

from __future__ import annotations

import asyncio
import gc
import re
import shutil
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.app import build_app_parts
from purpose_desktop.config import Paths, resources_dir
from purpose_desktop.engine.evaluation.runner import Arm
from purpose_desktop.engine.evaluation.split import split_tasks
from purpose_desktop.engine.evaluation.suites import Suite, load_suite
from purpose_desktop.engine.learning.improvement import list_results
from purpose_desktop.services.benchmarks import BenchmarkService
from purpose_desktop.services.store import StoreService
from purpose_desktop.store.improvement_store import ImprovementStore
from purpose_desktop.store.opening import Store, open_store
from purpose_desktop.ui.application import build_main_window
from purpose_desktop.ui.benchmarks.controller import BenchmarkController
from purpose_desktop.ui.benchmarks.form import BenchmarkForm
from purpose_desktop.ui.benchmarks.pane import BenchmarkPane
from purpose_desktop.ui.error_dialog import ErrorReporter
from purpose_desktop.ui.qt import QtCore
from purpose_desktop.ui.tasks import TaskKeeper
from pytestqt.qtbot import QtBot
from tests.support.benchmarks import SUITE, GatedModel, scripted_setup
from tests.support.scripted_team import act, team_model
from tests.support.waiting import wait_until

RunInLoop = Callable[[Coroutine[Any, Any, Any]], Any]
Screenshot = Callable[[Any, str], Path]


@pytest.fixture
def model() -> GatedModel:
    # Answers 42 to everything: the sum checks out, the product does not.
    return GatedModel(team_model(lambda messages: act("finish", answer="42"), score=6))


@pytest.fixture(autouse=True)
def collect_qt_garbage() -> Iterator[None]:
    yield
    gc.collect()


@dataclass(frozen=True)
class Bench:
    """The pane as the window makes it, on a real database, a benchmarks folder, the
    person's suites folder holding ``tiny``, and the gated model."""

    pane: BenchmarkPane
    folder: Path
    store: Store
    model: GatedModel


@pytest.fixture
def bench(
    tmp_path: Path, model: GatedModel, qtbot: QtBot, run_in_qt_loop: RunInLoop
) -> Iterator[Bench]:
    setup = scripted_setup(tmp_path, model)
    store = open_store(tmp_path / "purpose-desktop.sqlite3")
    errors: list[BaseException] = []
    tasks = TaskKeeper(errors.append)
    folder = tmp_path / "benchmarks"
    service = BenchmarkService(folder, StoreService(lambda: store), setup)
    pane = BenchmarkPane(BenchmarkController(tasks, service))
    qtbot.addWidget(pane)
    pane.resize(1100, 680)
    yield Bench(pane, folder, store, model)
    run_in_qt_loop(tasks.cancel_all())
    store.engine.dispose()
    assert errors == []


async def filled_form(pane: BenchmarkPane, qtbot: QtBot) -> BenchmarkForm:
    """Ctrl+B, as a person opens the form, once its lists are read."""
    pane.show()
    pane.activateWindow()
    await wait_until(pane.isActiveWindow, 5)  # shortcuts go to the active window
    qtbot.keyClick(pane.results, QtCore.Qt.Key.Key_B, QtCore.Qt.KeyboardModifier.ControlModifier)
    await wait_until(
        lambda: pane.controller.form is not None, 5
    )  # a button's shortcut clicks it soon
    form = pane.controller.form
    # open(), not a blocking exec(): this test goes on while the form is up.
    assert form is not None and form.isVisible()
    await wait_until(lambda: form.suite_box.count() > 0, 10)
    return form


MAIN_ARMS = ("Learning on", "Learning off", "With overrides")


def builtin_suite(name: str) -> Suite:
    """A suite shipped with the app: the tests count its tasks rather than fix their number."""
    return load_suite(resources_dir() / "suites" / f"{name}.yaml")


def suite_item(suite: Suite) -> str:
    """How the form lists a built-in ``suite``."""
    return f"{suite.name} · {len(suite.tasks)} tasks"


def choose(
    form: BenchmarkForm, suite: str, team: str, iterations: int, arms: Sequence[str] = MAIN_ARMS
) -> None:
    form.suite_box.setCurrentIndex(form.suite_box.findText(suite))
    form.team_box.setCurrentIndex(form.team_box.findText(team))
    form.iterations.setValue(iterations)
    for box in form.arm_boxes:
        box.setChecked(box.text() in arms)


def test_a_run_shows_its_progress_and_its_result_is_saved_listed_and_shown(
    bench: Bench,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
    qtbot: QtBot,
) -> None:
    pane, model = bench.pane, bench.model
    values: list[int] = []
    pane.progress.bar.valueChanged.connect(values.append)

    async def scenario() -> None:
        await pane.controller.refresh()
        form = await filled_form(pane, qtbot)
        suites = [form.suite_box.itemText(i) for i in range(form.suite_box.count())]
        assert suites == [
            *(
                suite_item(builtin_suite(name))
                for name in ("arithmetic", "files", "multistep", "text")
            ),
            "tiny (yours) · 2 tasks",
        ]
        teams = [form.team_box.itemText(i) for i in range(form.team_box.count())]
        assert teams == [
            "arithmetic.yaml (sample)",
            "calculator.yaml (sample)",
            "example.yaml (sample)",
            "files.yaml (sample)",
        ]
        assert form.iterations.value() == 3
        # Nothing held out and a single run, unless asked for.
        assert (form.holdout.value(), form.holdout.text(), form.repeats.value()) == (0, "None", 1)
        # The main arms are ticked; the ablations are there to tick.
        assert [box.text() for box in form.arm_boxes if box.isChecked()] == list(MAIN_ARMS)
        assert [box.text() for box in form.arm_boxes if not box.isChecked()] == [
            "Without heuristics",
            "Without dead ends",
            "Without experiences",
            "Overrides, no anchors",
        ]
        choose(
            form,
            "tiny (yours) · 2 tasks",
            "arithmetic.yaml (sample)",
            2,
            arms=["Learning on", "With overrides"],
        )
        assert form.summary.text().startswith("8 task runs (2 tasks, 2 iterations, 2 arms)")
        screenshot(form, "bench_pane_form")
        model.hold_after(0)  # held at its first model call
        form.run_button.click()
        assert pane.controller.form is None  # the form closed as the run began
        assert pane.progress.isVisible() and not pane.run_button.isEnabled()
        assert pane.progress.heading.text() == "Running tiny with arithmetic.yaml"
        await wait_until(lambda: model.holding, 20)
        assert pane.progress.bar.text() == "0 of 8 task runs"
        assert pane.progress.line.text() == "Starting: loading the team and its models…"
        model.hold_after(8)  # a few task runs, then held mid-way
        await wait_until(lambda: pane.progress.done > 0 and model.holding, 20)
        done = pane.progress.done
        assert 0 < done < 8
        assert pane.progress.bar.text() == f"{done} of 8 task runs"
        assert re.fullmatch(
            r"Latest: (learning on|with overrides), iteration 1, (sum: passed|"
            r"product: failed \(answer '42' should contain '96'\))",
            pane.progress.line.text(),
        )
        screenshot(pane, "bench_pane_running")
        model.hold_after(None)
        running = pane.controller.running
        assert running is not None
        await running

    run_in_qt_loop(scenario())
    assert values == list(range(9))  # every task run, in turn
    assert not pane.progress.isVisible() and pane.run_button.isEnabled()
    (saved,) = ImprovementStore(bench.store.engine).list_saved()
    (listed,) = list_results(bench.folder)
    assert saved.file == listed.path and (saved.suite, saved.team) == ("tiny", "Arithmetic")
    assert pane.notice.text() == (
        f"The benchmark finished. Its result is saved in the "
        f"database and as {listed.path.name} in the benchmarks "
        "folder."
    )
    assert [entry.saved for entry in pane.controller.entries] == [saved]  # listed once, and chosen
    assert pane.results.currentRow() == 0
    shown = pane.shown
    assert shown is not None and shown == listed.result
    assert [series.name for series in shown.series] == ["learning on", "with overrides"]
    # Both arms learn from the checked outcome, which the suite knows: the wrong answer to
    # the product becomes a dead end, and asked again without it, the second iteration gets
    # the product right.
    assert [[m.success_rate for m in series.iterations] for series in shown.series] == [
        [0.5, 1.0],
        [0.5, 1.0],
    ]
    assert [c.name for c in pane.chart.curves] == ["learning on", "with overrides"]
    screenshot(pane, "bench_pane_finished")


def test_cancel_stops_the_run_mid_way_and_saves_nothing(
    bench: Bench,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
    qtbot: QtBot,
) -> None:
    pane, model = bench.pane, bench.model

    async def scenario() -> None:
        await pane.controller.refresh()
        form = await filled_form(pane, qtbot)
        choose(form, "tiny (yours) · 2 tasks", "arithmetic.yaml (sample)", 3)
        model.hold_after(8)
        form.run_button.click()
        await wait_until(lambda: pane.progress.done > 0 and model.holding, 20)
        done = pane.progress.done
        running = pane.controller.running
        assert running is not None
        pane.progress.cancel_button.click()
        assert not pane.progress.cancel_button.isEnabled()
        assert pane.progress.line.text() == "Cancelling: ending the task run under way…"
        await asyncio.wait([running], timeout=20)
        assert running.cancelled()
        assert pane.notice.text() == (
            f"The benchmark was cancelled after {done} of 18 task runs; nothing was saved."
        )
        # The window goes on: another benchmark can start.
        assert pane.run_button.isEnabled() and pane.open_form() is not None

    run_in_qt_loop(scenario())
    assert not pane.progress.isVisible()
    assert ImprovementStore(bench.store.engine).list_saved() == []
    assert list_results(bench.folder) == []
    assert pane.pages.currentWidget() is pane.empty
    screenshot(pane, "bench_pane_cancelled")


def test_a_team_file_that_cannot_be_used_is_named_and_nothing_runs(
    bench: Bench,
    tmp_path: Path,
    run_in_qt_loop: RunInLoop,
    qtbot: QtBot,
) -> None:
    pane = bench.pane
    bad = tmp_path / "elsewhere" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text(
        "name: Bad\nagents:\n  - name: a\n    role: r\n    model: m\n    tools: [teleport]\n",
        encoding="utf-8",
    )

    async def scenario() -> None:
        form = await filled_form(pane, qtbot)
        # It opens in the person's teams folder when no team is chosen...
        chosen, teams = form.team_file(), pane.controller.service.user_teams
        assert teams is not None
        teams.mkdir(parents=True, exist_ok=True)  # as the app's start makes it
        form.team_box.setCurrentIndex(-1)
        dialog = form.choose_team_file()
        assert Path(dialog.directory().absolutePath()) == teams
        dialog.reject()
        # ... and in the chosen team's folder otherwise.
        form.team_box.setCurrentIndex(form.team_box.findData(str(chosen)))
        dialog = form.choose_team_file()
        assert chosen is not None and Path(dialog.directory().absolutePath()) == chosen.parent
        assert dialog.isVisible()  # open(), not a blocking exec()
        dialog.selectFile(str(bad))
        dialog.accept()
        assert form.team_box.currentText() == "bad.yaml" and form.team_file() == bad
        choose(form, "tiny (yours) · 2 tasks", "bad.yaml", 1)
        form.run_button.click()
        running = pane.controller.running
        assert running is not None
        await running

    run_in_qt_loop(scenario())
    assert pane.notice.text().startswith(f"The benchmark could not run: {bad}")
    assert "Unknown tool 'teleport'" in pane.notice.text()
    assert not pane.progress.isVisible() and pane.run_button.isEnabled()
    assert ImprovementStore(bench.store.engine).list_saved() == []


def test_without_arms_the_form_will_not_run(
    bench: Bench, run_in_qt_loop: RunInLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        form = await filled_form(bench.pane, qtbot)
        arithmetic = builtin_suite("arithmetic")
        choose(form, suite_item(arithmetic), "files.yaml (sample)", 2, arms=[])
        assert not form.run_button.isEnabled()
        assert form.summary.text() == "Choose at least one arm."
        form.arm_boxes[1].setChecked(True)
        assert form.run_button.isEnabled()
        tasks = len(arithmetic.tasks)
        assert form.summary.text().startswith(
            f"{2 * tasks} task runs ({tasks} tasks, 2 iterations, 1 arm)"
        )

    run_in_qt_loop(scenario())


def test_the_form_asks_for_a_share_held_out_and_repeats_and_counts_them(
    bench: Bench, run_in_qt_loop: RunInLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        form = await filled_form(bench.pane, qtbot)
        choose(form, "tiny (yours) · 2 tasks", "files.yaml (sample)", 2, arms=MAIN_ARMS[:2])
        holdout, repeats = form.holdout, form.repeats
        assert (holdout.minimum(), holdout.maximum(), holdout.singleStep()) == (0, 90, 5)
        assert holdout.suffix() == "%"
        assert (repeats.minimum(), repeats.maximum()) == (1, 20)
        holdout.setValue(30)
        repeats.setValue(3)
        request = form.request()
        assert request is not None
        assert (request.holdout, request.repeats, request.iterations) == (0.3, 3, 2)
        assert request.arms == (Arm.LEARNING_ON, Arm.LEARNING_OFF)
        assert request.task_runs == 3 * 2 * 2 * 2
        assert form.summary.text() == (
            "24 task runs (2 tasks, 2 iterations, 2 arms, 3 repeats). 1 of the 2 tasks is held "
            "out from learning and tested after each iteration. A small model takes seconds to "
            "a minute for each."
        )
        assert form.run_button.isEnabled()
        # Too small a share of so small a suite holds nothing out: the form says so.
        holdout.setValue(20)
        assert not form.run_button.isEnabled()
        assert form.summary.text() == (
            "tiny has too few tasks of each kind to hold 20% out: choose a larger share, or None."
        )
        # A larger suite holds out a share of each family of tasks, as the benchmark will.
        arithmetic = builtin_suite("arithmetic")
        tasks, held = len(arithmetic.tasks), len(split_tasks(arithmetic.tasks, 0.2, 0).test)
        assert held > 1
        choose(form, suite_item(arithmetic), "files.yaml (sample)", 1, arms=MAIN_ARMS[:1])
        assert form.run_button.isEnabled()
        assert form.summary.text().startswith(
            f"{3 * tasks} task runs ({tasks} tasks, 1 iteration, 1 arm, 3 repeats). "
            f"{held} of the {tasks} tasks are held out"
        )

    run_in_qt_loop(scenario())


def test_a_held_out_repeated_run_shows_each_repeat_and_both_parts(
    bench: Bench,
    run_in_qt_loop: RunInLoop,
    screenshot: Screenshot,
    qtbot: QtBot,
) -> None:
    pane = bench.pane
    lines: list[str] = []
    # After the progress line has taken in each task run (it was connected first).
    pane.controller.progressed.connect(lambda _progress: lines.append(pane.progress.line.text()))

    async def scenario() -> None:
        form = await filled_form(pane, qtbot)
        choose(form, "tiny (yours) · 2 tasks", "arithmetic.yaml (sample)", 1, ["Learning on"])
        form.holdout.setValue(50)
        form.repeats.setValue(2)
        picture = screenshot(form, "bench_pane_form_heldout")
        # The summary has grown to three lines; the form has grown to show them.
        summary = form.summary
        assert (
            summary.height()
            >= summary.heightForWidth(summary.width())
            > 2 * (summary.fontMetrics().lineSpacing())
        )
        assert summary.geometry().bottom() < form.run_button.geometry().top()
        assert picture.exists()
        form.run_button.click()
        assert pane.progress.heading.text() == (
            "Running tiny with arithmetic.yaml (50% held out, 2 repeats)"
        )
        assert pane.progress.bar.maximum() == 4
        running = pane.controller.running
        assert running is not None
        await running

    run_in_qt_loop(scenario())
    # Each repeat runs its training task, then its test task with learning frozen.
    said = [
        re.fullmatch(
            r"Latest, repeat (\d) of 2: learning on, iteration 1, (training|test), "
            r"(?:sum: passed|product: failed \(answer '42' should contain '96'\))",
            line,
        )
        for line in lines
    ]
    assert [match.groups() if match else line for match, line in zip(said, lines, strict=True)] == [
        ("1", "training"),
        ("1", "test"),
        ("2", "training"),
        ("2", "test"),
    ]
    shown = pane.shown
    assert shown is not None and (shown.holdout, shown.repeats) == (0.5, 2)
    assert [(s.name, s.arm, s.part) for s in shown.series] == [
        ("learning on · training", "learning on", "training"),
        ("learning on · test", "learning on", "test"),
    ]
    assert pane.heading.text().endswith("<br>50% held out, mean of 2 repeats")
    assert pane.part.isVisible()
    assert [curve.dashed for curve in pane.chart.curves] == [False, True]
    # Each part's success rate is the mean of the repeats, within their range.
    for curve in pane.chart.curves:
        ((iteration, low, high),) = curve.band
        ((_, mean),) = curve.points
        assert iteration == 1 and low <= mean <= high
    screenshot(pane, "bench_pane_heldout_finished")


def test_a_pane_without_models_offers_no_run(tmp_path: Path, qtbot: QtBot) -> None:
    pane = BenchmarkPane(
        BenchmarkController(TaskKeeper(lambda error: None), BenchmarkService(tmp_path))
    )
    qtbot.addWidget(pane)
    assert pane.run_button.isHidden() and not pane.open_button.isHidden()
    assert pane.open_form() is None and pane.controller.form is None
    assert pane.progress.isHidden()


def test_the_windows_pane_offers_the_home_folders_suites_and_teams(
    home: Paths,
    run_in_qt_loop: RunInLoop,
    qtbot: QtBot,
) -> None:
    for folder in (home.suites_dir, home.teams_dir):
        folder.mkdir(parents=True, exist_ok=True)
    (home.suites_dir / "tiny.yaml").write_text(SUITE, encoding="utf-8")
    shutil.copy(resources_dir() / "teams" / "files.yaml", home.teams_dir / "mine.yaml")
    services = build_app_parts(home)
    window = build_main_window(
        paths=home,
        settings=services.settings,
        runner=services.runner,
        reporter=ErrorReporter(None, home.log_file),
        services=services.services,
        models=lambda: services.models,
    )
    window.show()

    async def scenario() -> None:
        window.tabs.setCurrentWidget(window.benchmark_tab)
        pane = window.benchmark_pane
        await wait_until(lambda: pane.controller.listing is not None, 10)
        assert pane.controller.listing is not None
        await pane.controller.listing
        form = await filled_form(pane, qtbot)
        assert form.suite_box.itemText(4) == "tiny (yours) · 2 tasks"
        assert form.team_box.itemText(0) == "mine.yaml"
        # The first suite chose the sample team it is meant for; a suite that names none
        # leaves the team chosen as it is.
        assert form.suite_box.currentIndex() == 0 and form.suites[0].team == "calculator.yaml"
        assert form.team_box.currentText() == "calculator.yaml (sample)"
        form.team_box.setCurrentIndex(0)
        form.suite_box.setCurrentIndex(4)
        assert form.team_file() == home.teams_dir / "mine.yaml"
        form.suite_box.setCurrentIndex(1)  # files
        assert form.team_box.currentText() == "files.yaml (sample)"
        form.close()
        await window.stop_background_work()
        await services.aclose()

    try:
        run_in_qt_loop(scenario())
    finally:
        window.close()
        window.deleteLater()
