"""A recorded run saved as one self-contained HTML page to share: what it was asked, how it
ended, every step with its Φ, who scored it and the reasoning its model wrote, and what its
model calls cost.

The window's "Save run as report…" and ``purpose-desktop runs report`` both save through
:class:`RunReportService`. It reads the run, its events and its costs (totalled as the Costs
pane totals them, through :class:`~purpose_desktop.services.costs.CostsService`) on worker
threads, writes the page (``run_report_html.py``) and replaces the file only once it is
complete. A run that is not there, a file that cannot be written and a database that fails
raise :class:`UserError` with the reason. Importing this module loads neither SQLAlchemy nor
the store.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.services.background import off_loop
from purpose_desktop.services.run_report_html import ReportedStep, RunReportData, render_report

if TYPE_CHECKING:
    from purpose_desktop.engine import events as ev
    from purpose_desktop.engine.recording.run_records import RunDetail
    from purpose_desktop.services.costs import CostReport, CostsService
    from purpose_desktop.services.store import StoreService
    from purpose_desktop.store.opening import Store


@dataclass(frozen=True)
class SavedReport:
    """A report written: of the run ``run_id`` (its whole id), with ``steps`` steps, to
    ``path``."""

    run_id: str
    steps: int
    path: Path


class RunReportService:
    """Reports of the runs recorded in the database of ``store``, with their costs from
    ``costs``."""

    def __init__(self, store: StoreService, costs: CostsService) -> None:
        self._store = store
        self._costs = costs

    async def read(self, run_id: str) -> RunReportData:
        """What the report of the run ``run_id`` (a unique start of its id will do) shows."""
        detail, events = await self._store.run_blocking(lambda store: _read_run(store, run_id))
        full_id = detail.summary.id
        by_agent = await self._costs.report("agent", None, run_id=full_id)
        by_model = await self._costs.report("model", None, run_id=full_id)
        return report_data(detail, events, by_agent, by_model)

    async def save(self, run_id: str, path: Path) -> SavedReport:
        """Write the report of the run ``run_id`` to ``path`` as one HTML file."""
        from purpose_desktop.config import write_file_atomically

        data = await self.read(run_id)
        # A long run makes a long page: built off the event loop like the reading.
        page = await off_loop(render_report, data)
        await off_loop(write_file_atomically, path, page)
        return SavedReport(data.summary.id, len(data.steps), path)


def _read_run(store: Store, run_id: str) -> tuple[RunDetail, list[ev.Event]]:
    """The run with its steps, and its events except the answers' streamed tokens (which a
    long run has by the hundred thousand, and the report does not show: each step shows the
    action read from them). The reasoning's events stay: the report shows it."""
    from purpose_desktop.engine.events import TokenStreamed

    detail = store.runs.run_now(run_id)
    events = [
        event
        for event in store.runs.all_events_now(detail.summary.id)
        if not isinstance(event, TokenStreamed)
    ]
    return detail, events


def report_data(
    detail: RunDetail, events: Iterable[ev.Event], by_agent: CostReport, by_model: CostReport
) -> RunReportData:
    """The report of ``detail`` from its recorded ``events`` and its costs."""
    from purpose_desktop.engine import events as ev
    from purpose_desktop.engine.outcome_text import OutcomeReader

    reviews: dict[tuple[str, int], ev.ActionReviewed] = {}
    scores: dict[tuple[str, int], ev.Scored] = {}
    overrides: dict[tuple[str, int], ev.ScoreOverridden] = {}
    thinking: dict[tuple[str, int], list[str]] = {}
    under_way: dict[str, list[str]] = {}  # per agent: the reasoning of its step under way
    models: dict[str, str] = {}
    notes: list[str] = []
    reader = OutcomeReader()
    outcome = None
    # A step taken again after a resume keeps what its latest attempt recorded.
    for event in events:
        match event:
            case ev.StepStarted():
                under_way[event.agent] = thinking[event.agent, event.step] = []
            case ev.ThinkingStreamed() if event.agent in under_way:
                # Reasoning carries no step: it belongs to its agent's step under way.
                under_way[event.agent].append(event.text)
            case ev.ActionReviewed():
                reviews[event.agent, event.step] = event
            case ev.Scored():
                scores[event.agent, event.step] = event
            case ev.ScoreOverridden():
                overrides[event.agent, event.step] = event
            case ev.AgentSelected() | ev.CostRecorded(purpose="act"):
                models.setdefault(event.agent, event.model)
            case ev.WarningRaised() | ev.ErrorRaised():
                notes.append(event.message)
        outcome = reader.read(event) or outcome
    steps = []
    for step in detail.steps:
        key = (step.agent, step.index)
        override = overrides.get(key)
        scored = scores.get(key)
        steps.append(
            ReportedStep(
                step,
                models.get(step.agent, ""),
                _review_text(reviews.get(key)),
                None if override is None else override.critic_phi,
                "" if override is None else override.reason,
                "" if scored is None else scored.flag,
                "".join(thinking.get(key, ())),
            )
        )
    return RunReportData(
        detail.summary, tuple(steps), outcome, tuple(notes), by_agent, by_model, time.time()
    )


def _review_text(review: ev.ActionReviewed | None) -> str:
    if review is None:
        return ""
    who = "a person" if review.by == "person" else "the review policy"
    text = f"{review.verdict.capitalize()} by {who}"
    return f"{text}: {review.reason}" if review.reason else text
