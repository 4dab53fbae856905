"""Journey: the Benchmarks pane runs the smallest benchmark a person can set up (a suite of
their own with one task, one iteration, learning on) with the sample team on the bundled
SmolLM2, and draws its curve."""

from __future__ import annotations

import pytest
from purpose_desktop.ui.benchmarks.form import BenchmarkForm
from pytestqt.qtbot import QtBot
from tests.journeys.application import App, RunInLoop
from tests.journeys.person import (
    MODEL_WAIT,
    choose_in,
    click,
    dialog_named,
    open_tab,
    type_into,
    wait_for,
)

pytestmark = [pytest.mark.journey, pytest.mark.model]

SUITE = """\
name: colours
description: One question the sample team answers without a tool.
tasks:
  - id: primary
    task: Name three primary colours.
    check: {answer_contains: "blue"}
"""
ARM = "Learning on"


def test_a_benchmark_run_from_the_pane_draws_its_curve(
    app: App,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
) -> None:
    app.paths.suites_dir.mkdir()
    (app.paths.suites_dir / "colours.yaml").write_text(SUITE, encoding="utf-8")
    window = app.open()

    async def journey() -> None:
        app.start()
        open_tab(qtbot, window.tabs, window.benchmark_tab)
        pane = window.benchmark_pane
        await wait_for(
            lambda: pane.controller.listing is not None and pane.controller.listing.done(),
            "the results to be listed",
        )
        assert pane.pages.currentWidget() is pane.empty  # none yet: it says how to make one
        app.shot("no-results-yet")

        click(qtbot, pane.run_button)
        form = await dialog_named("benchmarkForm", BenchmarkForm, 10)
        await wait_for(lambda: form.suite_box.count() > 0, "the suites in the form")
        choose_in(form.suite_box, "colours (yours)")
        choose_in(form.team_box, "example.yaml (sample)")
        type_into(qtbot, form.iterations, "1")
        for box in form.arm_boxes:
            if box.isChecked() != (box.text() == ARM):
                click(qtbot, box)
        assert form.summary.text().startswith("1 task run")
        assert "(1 task, 1 iteration, 1 arm)" in form.summary.text()
        app.shot("form", form)
        click(qtbot, form.run_button)

        assert pane.progress.isVisible()
        assert pane.progress.heading.text() == "Running colours with example.yaml"
        await wait_for(
            lambda: pane.controller.running is None, "the benchmark to finish", MODEL_WAIT
        )
        assert pane.notice.text().startswith(
            "The benchmark finished. Its result is saved in the database and as "
        )
        assert pane.results.count() == 1 and pane.results.currentRow() == 0
        assert pane.results.item(0).text().startswith("colours · Helper · ")
        assert pane.pages.currentWidget() is pane.details
        (curve,) = pane.chart.curves
        assert curve.name == "learning on" and [i for i, _ in curve.points] == [1]
        assert [
            pane.table.horizontalHeaderItem(c).text()  # type: ignore[union-attr]
            for c in range(pane.table.columnCount())
        ] == ["Iteration", "learning on"]
        assert pane.table.rowCount() == 1
        app.shot("curve")

    run_in_qt_loop(journey())
