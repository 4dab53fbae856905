"""A run saved as an HTML report: a real run of the real runner (scripted models, a person's
score override) recorded by the real journal in a real SQLite database, rendered to one file,
and read back with Python's HTML parser: its steps, its Φ values and who gave them, the SVG
chart, the costs, nothing that reaches outside the file, and model text with markup escaped;
a model's reasoning closed under each step; runs that failed, were cancelled or have no step.
``purpose-desktop runs report`` writes the same page from the command line."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from purpose_desktop.config import HOME_ENV, Paths
from purpose_desktop.engine.loop.run import RunOutcome, TeamRunner
from purpose_desktop.engine.review import ScoreDecision, ScriptedReview
from purpose_desktop.errors import UserError
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.services.costs import CostsService
from purpose_desktop.services.run_report import RunReportService
from purpose_desktop.services.runs import RunsService
from purpose_desktop.services.store import StoreService
from purpose_desktop.store.opening import Store
from purpose_desktop.store.run_journal import SqlRunJournal
from tests.support.reasoning_runs import ReasoningModel
from tests.support.scripted_team import act, one_agent_team, team_model
from tests.support.stores import record, record_cancelled_run, store_at

TASK = "Multiply seventeen by twenty-three, & say if it is < 400. <script>alert('task')</script>"
ANSWER = "<script>alert('answer')</script> 391 & done"
THOUGHT = "<img src=x onerror=alert(1)> multiply"


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


class Page(HTMLParser):
    """Every element of a page with its attributes and the text inside it (its children's
    included), as a browser's parser sees them."""

    VOID = frozenset({"meta", "br", "img", "link", "input", "hr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.elements.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def all(self, tag: str, css: str | None = None) -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag == tag and (css is None or css in e.attrs.get("class", "").split())
        ]

    def one(self, tag: str, css: str | None = None, **attrs: str) -> Element:
        found = [
            e
            for e in self.all(tag, css)
            if all(e.attrs.get(name) == value for name, value in attrs.items())
        ]
        assert len(found) == 1, (tag, css, attrs, found)
        return found[0]


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def record_marked_up_run(store: Store, folder: Path) -> str:
    """A completed run of two steps whose task, thought and answer hold markup; a person
    raises the critic's first score to 7."""
    team = one_agent_team(folder, review="always")
    review = ScriptedReview(scores=[ScoreDecision(7, "it is <b>right</b>")])
    finish = json.dumps({"tool": "finish", "answer": ANSWER, "thought": THOUGHT})
    actions = [act("calculator", expression="17*23"), finish]
    outcome = record(store, folder, actions, lambda runner: runner.run(team, TASK, (), review))
    run_id: str = outcome.run_id
    return run_id


def reports(store: Store, folder: Path) -> RunReportService:
    service = StoreService(lambda: store)
    return RunReportService(service, CostsService(service, folder / "prices.json"))


def saved_page(store: Store, folder: Path, run_id: str) -> tuple[Page, str]:
    """The report of ``run_id`` saved and parsed, and its HTML as written."""
    path = folder / f"{run_id[:8]}.html"
    asyncio.run(reports(store, folder).save(run_id, path))
    return parse(path), path.read_text(encoding="utf-8")


def test_a_recorded_run_becomes_one_self_contained_page(store: Store, tmp_path: Path) -> None:
    run_id = record_marked_up_run(store, tmp_path)
    path = tmp_path / "report.html"

    saved = asyncio.run(reports(store, tmp_path).save(run_id[:8], path))

    assert (saved.run_id, saved.steps, saved.path) == (run_id, 2, path)
    page = parse(path)
    detail = asyncio.run(RunsService(StoreService(lambda: store)).run(run_id)).steps
    # Nothing in it runs or reaches outside the file.
    assert page.all("script") == [] and page.all("img") == [] and page.all("link") == []
    assert not [e for e in page.elements if {"src", "href", "onerror"} & e.attrs.keys()]
    policy = page.one("meta", **{"http-equiv": "Content-Security-Policy"})
    assert policy.attrs["content"].startswith("default-src 'none'")
    # The model's and the person's markup reads as the text they wrote.
    assert page.all("title")[0].text == f"Run {run_id[:8]}: {TASK}"  # the head's, first
    assert page.one("p", "task").text == TASK
    assert page.one("pre", "answer").text == ANSWER
    outcome = page.one("section", id="outcome")
    assert "Outcome: Completed" in outcome.text
    # Each step: agent, action, tool and arguments, observation, Φ and who scored it.
    steps = page.all("li", "step")
    assert len(steps) == 2 == len(detail)
    first, second = steps
    assert "Step 1 · solver (m)" in first.text
    assert 'calculator(expression="17*23")' in first.text
    assert json.loads(page.all("pre", "arguments")[0].text) == {"expression": "17*23"}
    assert page.all("pre", "observation")[0].text == detail[0].observation.text == "391"
    assert f"{detail[0].phi_before:g} → 7" in first.text
    assert "Scored bya person (the critic said 5): it is <b>right</b>" in first.text
    assert "Approved by a person" in first.text
    assert f"Final answer: {ANSWER}" in second.text and THOUGHT in second.text
    assert f"7 → {detail[1].phi_after:g}" in second.text
    assert "Scored bythe critic" in second.text
    # The chart: the critic's hollow point for each step, a person's diamond for step 1.
    chart = page.one("svg")
    assert chart.attrs["aria-label"] == "Φ after each of 2 steps, from 0 to 10"
    points = page.all("circle", "critic")
    assert len(points) == 2
    diamonds = page.all("polygon", "override")
    assert [d.text for d in diamonds] == [
        "Step 1 (solver): Φ 7, set by a person (the critic said 5): it is <b>right</b>"
    ]
    # A higher Φ is drawn higher: the person's 7 above the critic's 5.
    diamond_top = min(float(p.split(",")[1]) for p in diamonds[0].attrs["points"].split())
    assert diamond_top < float(points[0].attrs["cy"])
    # Costs as the Costs pane totals them, by agent and by model.
    model_rows = page.one("table", "costs-by-model").text
    assert model_rows.startswith("ModelCallsTokens inTokens outWall timeTokens/sMoney")
    assert "m" in model_rows.removeprefix("ModelCalls")
    assert "solver" in page.one("table", "costs-by-agent").text
    assert "m runs locally: its calls cost nothing." in page.one("section", id="costs").text


REASONING = [
    "17 times 23 <script>alert('thinking')</script> & so on: FIRST-THOUGHTS",
    "It said 391 </pre></details> so I finish: SECOND-THOUGHTS",
]


def test_each_steps_reasoning_is_shown_closed_and_apart_from_its_action(
    store: Store, tmp_path: Path
) -> None:
    actions = [act("calculator", expression="17*23"), act("finish", answer="391")]
    model = ReasoningModel(team_model(actions, score=5), list(REASONING))
    journal = SqlRunJournal(lambda: store.engine)
    runner = TeamRunner(
        ScriptedProvider({"m": model}),
        store.memory,
        workspaces_dir=tmp_path / "workspaces",
        journal=journal,
    )
    try:
        outcome: RunOutcome = asyncio.run(runner.run(one_agent_team(tmp_path), TASK, ()))
    finally:
        journal.close()
    assert outcome.status == "completed", outcome.error

    page, html = saved_page(store, tmp_path, outcome.run_id)

    closed = page.all("details", "thinking")
    assert len(closed) == 2 and all("open" not in d.attrs for d in closed)
    assert [page.all("pre", "thinking")[i].text for i in (0, 1)] == REASONING
    first, second = page.all("li", "step")
    assert f"{len(REASONING[0]):,} characters" in first.text
    # The markup in the reasoning is text: it closes nothing and runs nothing.
    assert page.all("script") == [] and html.count("</details>") == 2
    # Each reasoning shows once, in its own step, and not in the action, answer or chart.
    for text, step, other in ((REASONING[0], first, second), (REASONING[1], second, first)):
        marker = text.rsplit(" ", 1)[1]
        assert html.count(marker) == 1 and marker in step.text and marker not in other.text
    assert page.one("pre", "answer").text == "391"


def test_a_run_that_failed_before_any_step_says_why(store: Store, tmp_path: Path) -> None:
    team = one_agent_team(tmp_path, model="no-such-model")
    failed = record(store, tmp_path, [], lambda runner: runner.run(team, TASK, ()))
    assert failed.status == "failed" and not failed.steps

    page, _html = saved_page(store, tmp_path, failed.run_id)

    outcome = page.one("section", id="outcome")
    assert "status-failed" in outcome.attrs["class"].split()
    assert "Outcome: Failed" in outcome.text and "No final answer." in outcome.text
    assert "no-such-model" in outcome.text
    assert "No steps recorded." in page.one("section", id="steps").text
    assert page.all("li", "step") == [] and page.all("svg") == []
    assert "No step was scored." in page.one("section", id="phi").text
    assert "No model calls were recorded." in page.one("section", id="costs").text
    assert page.all("table") == []
    assert "no-such-model" in page.one("section", id="notes").text


def test_a_completed_answer_nothing_backs_is_marked_doubtful(store: Store, tmp_path: Path) -> None:
    team = one_agent_team(tmp_path)
    done = record(
        store, tmp_path, [act("finish", answer="412")], lambda runner: runner.run(team, TASK, ())
    )
    assert done.status == "completed"

    page, _html = saved_page(store, tmp_path, done.run_id)

    outcome = page.one("section", id="outcome")
    assert "status-doubtful" in outcome.attrs["class"].split()
    assert "Outcome: Completed" in outcome.text
    assert "The critic scored the answer Φ 1 of 10" in outcome.text
    assert "Check the answer before you rely on it." in outcome.text


def test_a_cancelled_run_shows_the_steps_it_took(store: Store, tmp_path: Path) -> None:
    run_id = record_cancelled_run(store, tmp_path)

    page, _html = saved_page(store, tmp_path, run_id)

    outcome = page.one("section", id="outcome")
    assert "status-cancelled" in outcome.attrs["class"].split()
    assert "Outcome: Cancelled" in outcome.text
    assert "It was cancelled before it finished." in outcome.text
    assert "Resume it from the Runs list" in outcome.text
    (step,) = page.all("li", "step")
    assert 'calculator(expression="17*23")' in step.text
    assert len(page.all("circle", "critic")) == 1
    assert page.all("details") == []  # its model wrote no reasoning


def test_an_unknown_run_and_a_file_that_cannot_be_written_say_why(
    store: Store, tmp_path: Path
) -> None:
    run_id = record_marked_up_run(store, tmp_path)
    service = reports(store, tmp_path)

    with pytest.raises(UserError, match="There is no run 0123abcd"):
        asyncio.run(service.save("0123abcd", tmp_path / "none.html"))
    assert not (tmp_path / "none.html").exists()
    folder = tmp_path / "a-folder.html"
    folder.mkdir()
    with pytest.raises(UserError, match=f"Cannot write {folder}"):
        asyncio.run(service.save(run_id, folder))
    assert list(folder.iterdir()) == []


@pytest.mark.process
def test_runs_report_writes_the_page_from_the_command_line(tmp_path: Path) -> None:
    home = Paths(tmp_path / "home")
    home.ensure()
    with store_at(home.database_file) as store:
        run_id = record_marked_up_run(store, tmp_path)
    output = tmp_path / "shared" / "run.html"
    output.parent.mkdir()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "purpose_desktop", "runs", "report", *args],
            capture_output=True,
            text=True,
            env={**os.environ, HOME_ENV: str(home.home)},
            timeout=240,
            check=False,
        )

    done = cli(run_id[:8], "--output", str(output))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Saved the report of run {run_id} (2 step(s)) to {output}.\n"
    assert len(parse(output).all("li", "step")) == 2

    refused = cli("0123abcd", "--output", str(tmp_path / "none.html"))
    assert refused.returncode == 2
    assert refused.stderr.startswith("purpose-desktop: There is no run 0123abcd")
    assert not (tmp_path / "none.html").exists()
