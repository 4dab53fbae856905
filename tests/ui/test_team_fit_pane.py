"""The team pane says whether the team's local models fit the memory budget together, and
what to change when they do not, as the agents' models are chosen."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.config import Paths, resources_dir
from purpose_desktop.engine.team_file import load_team
from purpose_desktop.models.catalog import CatalogEntry
from purpose_desktop.ui.qt import QtGui, QtWidgets
from purpose_desktop.ui.team.pane import TeamPane
from pytestqt.qtbot import QtBot
from tests.support.catalog import GEMMA, MIB, SMOLLM, memory

FITS = "#2e7d32"
DOES_NOT_FIT = "#c62828"


@pytest.fixture
def budget(catalog: list[CatalogEntry]) -> int:
    """One MiB short of what SmolLM2 and Gemma need together."""
    return (math.ceil((memory(catalog, SMOLLM) + memory(catalog, GEMMA)) / MIB) - 1) * MIB


@pytest.fixture
def pane(qtbot: QtBot, home: Paths, catalog: list[CatalogEntry], budget: int) -> TeamPane:
    team_pane = TeamPane()
    qtbot.addWidget(team_pane)
    team_pane.set_catalog(catalog, budget)
    team_pane.set_teams_dir(home.teams_dir)
    team_pane.resize(1100, 720)
    team_pane.show()
    path = home.teams_dir / "arithmetic.yaml"
    shutil.copy(resources_dir() / "teams" / "arithmetic.yaml", path)
    team_pane.show_team(load_team(path))
    return team_pane


def plain_text(label: QtWidgets.QLabel) -> str:
    document = QtGui.QTextDocument()
    document.setHtml(label.text())
    return document.toPlainText()


def choose_model(pane: TeamPane, row: int, reference: str) -> None:
    pane.editor.agents.selectRow(row)
    combo = pane.editor.form.model_choice.combo
    index = combo.findData(reference)
    assert index >= 0, f"{reference} is not offered"
    combo.setFocus()
    combo.setCurrentIndex(index)


def test_the_team_editor_shows_the_whole_team_fit_as_models_change(
    pane: TeamPane,
    qtbot: QtBot,
    catalog: list[CatalogEntry],
    budget: int,
    screenshot: Callable[[Any, str], Path],
) -> None:
    label = pane.editor.fit_label
    smollm = round(memory(catalog, SMOLLM) / MIB)
    assert label.isVisible()
    text = plain_text(label)
    assert text.startswith(f"Team Arithmetic fits: its local model needs {smollm} MiB")
    assert f"{SMOLLM}: {smollm} MiB, shared by counter, helper and the router" in text
    assert f"color:{FITS}" in label.text()

    choose_model(pane, 0, GEMMA)  # the counter moves to Gemma: two models, too much

    text = plain_text(label)
    assert text.startswith("Team Arithmetic does not fit: its 2 local models need")
    assert f"{GEMMA}: {round(memory(catalog, GEMMA) / MIB)} MiB, used by counter" in text
    assert (
        f"Suggestion: counter could share {SMOLLM} with helper and the router instead of "
        f"{GEMMA}" in text
    )
    assert "Suggestion: raise the memory budget for models to at least" in text
    assert f"color:{DOES_NOT_FIT}" in label.text()
    fit = pane.editor.fit
    assert fit is not None and not fit.fits and fit.budget_bytes == budget
    qtbot.wait(50)  # the layout gives the label room for every line
    assert label.height() >= label.heightForWidth(label.width())
    screenshot(pane, "team-pane-does-not-fit")

    pane.set_catalog(catalog, budget + MIB)  # the budget raised, as the suggestion says
    assert plain_text(label).startswith("Team Arithmetic fits: its 2 local models need")

    choose_model(pane, 0, "")  # no model: the agent is marked, the rest still counted
    assert plain_text(label).startswith("Team Arithmetic fits: its local model needs")


def test_until_the_models_are_read_the_fit_is_not_guessed(qtbot: QtBot, home: Paths) -> None:
    team_pane = TeamPane()
    qtbot.addWidget(team_pane)
    team_pane.show_team(load_team(resources_dir() / "teams" / "arithmetic.yaml"))
    assert team_pane.editor.fit is None
    assert team_pane.editor.fit_label.text() == "Reading the models…"


def test_a_model_file_outside_the_catalog_is_not_guessed_at(
    qtbot: QtBot, home: Paths, catalog: list[CatalogEntry], budget: int
) -> None:
    path = home.teams_dir / "elsewhere.yaml"
    path.write_text(
        "name: Elsewhere\nagents:\n"
        f"  - {{name: a, role: Answer., model: {SMOLLM}}}\n"
        "  - {name: b, role: Answer., model: ../models/mine.gguf}\n",
        encoding="utf-8",
    )
    team_pane = TeamPane()
    qtbot.addWidget(team_pane)
    team_pane.set_catalog(catalog, budget)
    team_pane.show_team(load_team(path))
    label = team_pane.editor.fit_label
    text = plain_text(label)
    assert text.startswith("Cannot tell whether team Elsewhere fits: its local model needs")
    assert "../models/mine.gguf: not in the catalog" in text
    assert "color:" not in label.text()
