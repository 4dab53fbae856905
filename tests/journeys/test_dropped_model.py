"""Journey: a GGUF file dropped on the window becomes a model of the catalog; the person gives
it to the sample team's agent in the Team pane, saves the team and runs it on that model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from purpose_desktop.models.bundled import smollm2_path
from pytestqt.qtbot import QtBot
from tests.journeys.application import App, RunInLoop
from tests.journeys.person import (
    choose_file,
    choose_in,
    click,
    drop_files,
    open_tab,
    run_ended,
    run_task,
    wait_for,
)

pytestmark = [pytest.mark.journey, pytest.mark.model]

DROPPED = "pocket-smol.gguf"


def test_a_dropped_gguf_file_is_given_to_an_agent_and_runs_it(
    app: App,
    qtbot: QtBot,
    run_in_qt_loop: RunInLoop,
) -> None:
    # A model file the person downloaded, beside the app's home folder rather than in it.
    downloads = app.paths.home.parent / "Downloads"
    downloads.mkdir()
    file = Path(shutil.copy(smollm2_path(), downloads / DROPPED))
    window = app.open()
    team = window.team_pane

    async def journey() -> None:
        app.start()
        await wait_for(lambda: team.editing, "the sample team to open")
        drop_files(window, [file])
        assert window.tabs.currentWidget() is window.models_tab  # the drop brings it forward
        models = window.models_pane
        await wait_for(
            lambda: models.status_of(DROPPED) == "available", "the dropped model in the catalog"
        )
        assert models.notes_text.startswith(f"Added {DROPPED} (")
        app.shot("model-added")

        open_tab(qtbot, window.tabs, team)
        form = team.editor.form
        assert team.agents.item(0, 0).text() == "helper"  # type: ignore[union-attr]
        choose_in(form.model_choice.combo, "pocket-smol")
        assert form.model_choice.reference() == DROPPED
        assert team.agents.item(0, 1).text() == DROPPED  # type: ignore[union-attr]
        click(qtbot, team.save_button)
        # The sample team is saved as the person's own, in the teams folder.
        choose_file(team.asker.file_dialog, app.paths.teams_dir / "helper.yaml")
        await wait_for(
            lambda: (
                (running := window.controller.team) is not None
                and running.spec.agents[0].model == DROPPED
            ),
            "the saved team to be the one that runs",
        )
        app.shot("model-given-to-the-agent")

        await run_task(qtbot, window, "Name three primary colours.")
        await run_ended(window)
        pane = window.run_pane
        assert pane.outcome.status_text() == "Completed" and pane.outcome.answer_text()
        selected = [line for line in pane.timeline.lines() if " Agent helper selected " in line]
        assert selected and selected[0].endswith(f", model {DROPPED}")
        app.shot("run-on-the-dropped-model")

    run_in_qt_loop(journey())
    assert (app.paths.models_dir / DROPPED).read_bytes() == file.read_bytes()  # a whole copy
    saved = (app.paths.teams_dir / "helper.yaml").read_text(encoding="utf-8")
    assert f"model: {DROPPED}" in saved
