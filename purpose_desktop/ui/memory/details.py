"""The detail under a memory browser's table: everything about the selected heuristic, or the
selected experience with the trajectory of the run it came from, as rich text."""

from __future__ import annotations

import html
from collections.abc import Sequence

from purpose_desktop.engine.learning.memory import Experience, Heuristic
from purpose_desktop.engine.text import shorten
from purpose_desktop.engine.trajectory import Step
from purpose_desktop.ui.memory.table import OUTCOME_MEANINGS, counted
from purpose_desktop.ui.theme import meaning_colour

#: Runs a heuristic's detail names; more are counted.
RUNS_SHOWN = 24
#: Characters of an action or an observation a trajectory shows.
STEP_CHARACTERS = 400


def heuristic_detail(heuristic: Heuristic) -> str:
    uses = f"used {counted(heuristic.uses, 'time')}"
    if heuristic.uses:
        uses += f", {heuristic.successes} successful ({heuristic.success_rate:.0%})"
    facts = [
        f"#{heuristic.id}",
        f"{heuristic.tier.value} tier",
        f"Q {heuristic.q_value:.2f}",
        uses,
        f"source: {heuristic.source}",
    ]
    if heuristic.pinned:
        facts.append(_coloured("pinned", "info"))
    return (
        _field("Pattern", heuristic.pattern)
        + _field("Strategy", heuristic.strategy)
        + f"<p>{' · '.join(facts)}</p>"
        + _runs(heuristic.run_ids)
    )


def experience_detail(
    experience: Experience, steps: Sequence[Step] | None, missing: str = ""
) -> str:
    """The experience, then its run's steps; ``steps`` is ``None`` while they are read, and
    ``missing`` says why there are none."""
    outcome = _coloured(experience.outcome, OUTCOME_MEANINGS.get(experience.outcome))
    facts = [
        f"#{experience.id}",
        outcome,
        f"Φ {experience.final_phi:g}",
        counted(experience.steps, "step"),
        f"Q {experience.q_value:.2f}",
        f"run {html.escape(experience.run_id)}",
    ]
    text = (
        _field("Task", experience.task)
        + _field("Summary", experience.summary)
        + f"<p>{' · '.join(facts)}</p><p><b>Trajectory</b></p>"
    )
    if steps is None:
        return text + "<p>Reading the run…</p>"
    if not steps:
        return text + f"<p>{html.escape(missing or 'The run recorded no steps.')}</p>"
    return text + _trajectory(steps)


def _trajectory(steps: Sequence[Step]) -> str:
    rows = [
        "<tr><th align=left>Step</th><th align=left>Agent</th><th align=left>Action</th>"
        "<th align=left>Observation</th><th align=left>Φ</th></tr>"
    ]
    for step in steps:
        action = html.escape(shorten(step.action.to_json(with_thought=False), STEP_CHARACTERS))
        seen = html.escape(shorten(step.observation.text, STEP_CHARACTERS))
        if not step.observation.ok:
            seen = _coloured(seen, "error", escaped=True)
        rows.append(
            f"<tr><td>{step.index}</td><td>{html.escape(step.agent)}</td>"
            f"<td><code>{action}</code></td><td>{seen}</td>"
            f"<td>{step.phi_before:g} → {step.phi_after:g}</td></tr>"
        )
    return f"<table cellspacing=0 cellpadding=3>{''.join(rows)}</table>"


def _runs(run_ids: Sequence[str]) -> str:
    if not run_ids:
        return "<p><b>Runs</b>: none yet (not used since it was stored)</p>"
    named = ", ".join(f"<code>{html.escape(r[:8])}</code>" for r in run_ids[:RUNS_SHOWN])
    more = len(run_ids) - RUNS_SHOWN
    return (
        f"<p><b>Runs it came from and was used in</b> ({len(run_ids)}): {named}"
        + (f" and {more} more" if more > 0 else "")
        + "</p>"
    )


def _field(name: str, value: str) -> str:
    body = html.escape(value).replace("\n", "<br>")
    return f"<p><b>{name}</b><br>{body}</p>"


def _coloured(text: str, meaning: str | None, *, escaped: bool = False) -> str:
    shown = text if escaped else html.escape(text)
    if meaning is None:
        return shown
    return f'<span style="color:{meaning_colour(meaning).name()}">{shown}</span>'
