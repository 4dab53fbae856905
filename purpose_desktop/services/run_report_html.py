"""A run report as one self-contained HTML page: inline CSS, the Φ chart as inline SVG, and
no script, font, image or link that would reach outside the file, so it reads the same
wherever it is opened, offline included.

Everything the run recorded (the task, the models' text and reasoning, tool output) is
escaped: a model that wrote ``<script>`` shows it as text. The page also forbids every
outside resource and every script through its Content Security Policy, in case a browser is
ever given more.

A step's reasoning is closed under a ``<details>`` of its own, which opens without a script:
it is worth reading, but it is not what the agent did, and a reasoning model writes far more
of it than of its actions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from purpose_desktop.engine.action_text import describe_action
from purpose_desktop.engine.cost_text import (
    NUMBER_COLUMNS,
    money_text,
    number_texts,
    seconds_text,
    summary_text,
    tokens_text,
)
from purpose_desktop.engine.trajectory import DELEGATE, FINISH

if TYPE_CHECKING:
    from purpose_desktop.engine.outcome_text import OutcomeReport
    from purpose_desktop.engine.recording.run_records import RunSummary
    from purpose_desktop.engine.trajectory import Step
    from purpose_desktop.services.costs import CostReport

PHI_MAX = 10.0
#: The chart's size and the room around the plot for the axis labels, in pixels.
CHART_WIDTH, CHART_HEIGHT = 680, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 40, 16, 12, 34
_POLICY = "default-src 'none'; style-src 'unsafe-inline'"

_STYLE = """
:root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --panel: #f6f7f9;
  --accent: #2f6fde; --ok: #1f8a4c; --bad: #c0392b; --doubt: #b7791f; }
@media (prefers-color-scheme: dark) {
  :root { --muted: #9ca3af; --line: #3f4652; --panel: #1f2329; --accent: #6ea0ff; } }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
  max-width: 980px; padding: 24px; }
h1 { font-size: 1.6em; margin: 0 0 4px; } h2 { font-size: 1.2em; margin: 28px 0 8px; }
.task { font-size: 1.1em; margin: 0 0 16px; white-space: pre-wrap; }
.muted { color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 16px; margin: 0 0 16px; }
.panel > h2:first-child { margin-top: 0; }
.status-completed { border-left: 5px solid var(--ok); }
.status-failed, .status-cancelled, .status-interrupted { border-left: 5px solid var(--bad); }
.status-doubtful { border-left: 5px solid var(--doubt); }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0; max-height: 28em;
  overflow: auto; font: 13px/1.4 ui-monospace, "Cascadia Mono", Menlo, monospace; }
ol.steps { list-style: none; padding: 0; margin: 0; }
ol.steps > li { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 12px;
  padding: 10px 14px; }
pre.answer { font-size: 15px; }
.step-head { font-weight: 600; } .action { font-family: ui-monospace, Menlo, monospace; }
.failed { color: var(--bad); } .phi { font-variant-numeric: tabular-nums; }
.person { color: #d9822b; font-weight: 600; }
details.thinking summary { cursor: pointer; color: var(--muted); }
details.thinking pre { font-style: italic; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
svg { max-width: 100%; height: auto; }
svg .grid { stroke: var(--line); } svg .axis text { fill: var(--muted); font-size: 11px; }
svg .series { fill: none; stroke: var(--accent); stroke-width: 2; }
svg .critic { fill: Canvas; stroke: var(--accent); stroke-width: 2; }
svg .override { fill: #d9822b; stroke: #d9822b; }
footer { margin-top: 32px; font-size: 0.85em; color: var(--muted); }
"""


@dataclass(frozen=True)
class ReportedStep:
    """One step with what the events say about it: who reviewed the action, who gave its
    score (``critic_phi`` is the critic's, when a person overrode it), any flag the critic
    raised, and the reasoning the agent's model wrote while it proposed the action."""

    step: Step
    model: str = ""
    review: str = ""
    critic_phi: float | None = None
    override_reason: str = ""
    flag: str = ""
    thinking: str = ""

    @property
    def overridden(self) -> bool:
        return self.critic_phi is not None


@dataclass(frozen=True)
class RunReportData:
    """Everything the page shows of one run."""

    summary: RunSummary
    steps: tuple[ReportedStep, ...]
    outcome: OutcomeReport | None
    notes: tuple[str, ...]
    """The run's warnings and errors, in order."""
    by_agent: CostReport
    by_model: CostReport
    made_at: float


def render_report(data: RunReportData) -> str:
    """The whole page for ``data``."""
    from purpose_desktop import __version__

    run = data.summary
    title = f"Run {run.id[:8]}: {run.task}"
    made = _when(data.made_at)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>Run report</h1>",
        f'<p class="task">{escape(run.task)}</p>',
        "</header>",
        _facts(data),
        _outcome(data),
        '<section id="phi"><h2>Φ over steps</h2>',
        phi_chart(data.steps),
        "</section>",
        _steps(data.steps),
        _costs(data),
        _notes(data.notes),
        f"<footer>Saved by Purpose Desktop {escape(__version__)} on {escape(made)}.</footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(part for part in parts if part)


# --- the run -------------------------------------------------------------------------------


def _facts(data: RunReportData) -> str:
    run = data.summary
    facts = [
        ("Run", run.id),
        ("Team", run.team),
        ("Status", run.status),
        ("Started", _when(run.started_at)),
    ]
    if run.finished_at is not None:
        facts.append(("Finished", _when(run.finished_at)))
    if run.parent_run_id is not None:
        facts.append(("Forked from", f"run {run.parent_run_id} after step {run.forked_from_step}"))
    facts += [
        ("Steps", str(run.steps)),
        ("Final Φ", f"{run.phi:g}"),
        (
            "Tokens",
            f"{tokens_text(run.prompt_tokens)} in, {tokens_text(run.completion_tokens)} out",
        ),
        ("Time", seconds_text(run.seconds)),
        ("Money", money_text(run.cost)),
    ]
    rows = "".join(f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in facts)
    return f'<section id="run" class="panel"><dl class="facts">{rows}</dl></section>'


def _outcome(data: RunReportData) -> str:
    run, outcome = data.summary, data.outcome
    status = run.status
    headline = outcome.headline if outcome is not None else status.capitalize()
    shown = "doubtful" if outcome is not None and outcome.doubtful else status
    lines = [f'<section id="outcome" class="panel status-{escape(shown)}">']
    lines.append(f"<h2>Outcome: {escape(headline)}</h2>")
    if outcome is not None:
        lines.append(f'<p class="muted">{escape(outcome.details)}</p>')
    answer = run.answer.strip() or (outcome.answer.strip() if outcome is not None else "")
    if answer:
        lines.append(f'<h3>Final answer</h3><pre class="answer">{escape(answer)}</pre>')
    else:
        lines.append('<p class="muted">No final answer.</p>')
    if outcome is not None and outcome.reason:
        lines.append(f"<p>{escape(outcome.reason)}</p>")
    elif run.error:
        lines.append(f"<p>{escape(run.error)}</p>")
    if outcome is not None and outcome.advice:
        lines.append(f'<p class="muted">{escape(outcome.advice)}</p>')
    lines.append("</section>")
    return "\n".join(lines)


def _steps(steps: Sequence[ReportedStep]) -> str:
    if not steps:
        return '<section id="steps"><h2>Steps</h2><p class="muted">No steps recorded.</p></section>'
    items = "\n".join(_step(reported) for reported in steps)
    return f'<section id="steps"><h2>Steps</h2>\n<ol class="steps">\n{items}\n</ol></section>'


def _step(reported: ReportedStep) -> str:
    step = reported.step
    model = f" ({reported.model})" if reported.model else ""
    facts: list[tuple[str, str]] = []
    if reported.thinking:
        facts.append(("Reasoning", _thinking(reported.thinking)))
    facts.append(("Action", f'<span class="action">{escape(describe_action(step.action))}</span>'))
    arguments = dict(step.action.arguments)
    if step.action.tool not in (FINISH, DELEGATE) or len(arguments) > 1:
        shown = json.dumps(arguments, indent=2, ensure_ascii=False, default=str)
        facts.append(("Tool", escape(step.action.tool)))
        facts.append(("Arguments", f'<pre class="arguments">{escape(shown)}</pre>'))
    if step.action.thought:
        facts.append(("Thought", f'<span class="muted">{escape(step.action.thought)}</span>'))
    if reported.review:
        facts.append(("Review", escape(reported.review)))
    observed = "Observation" if step.observation.ok else "Observation (failed)"
    css = "observation" if step.observation.ok else "observation failed"
    facts.append((observed, f'<pre class="{css}">{escape(step.observation.text)}</pre>'))
    facts.append(("Φ", f'<span class="phi">{step.phi_before:g} → {step.phi_after:g}</span>'))
    facts.append(("Scored by", _scorer(reported)))
    if reported.flag:
        facts.append(("Flag", escape(reported.flag)))
    rows = "".join(f"<dt>{escape(name)}</dt><dd>{value}</dd>" for name, value in facts)
    head = f"Step {step.index} · {escape(step.agent)}{escape(model)}"
    return f'<li class="step"><div class="step-head">{head}</div><dl class="facts">{rows}</dl></li>'


def _thinking(text: str) -> str:
    """A step's reasoning, closed until the reader opens it."""
    size = f"{len(text):,} characters"
    return (
        f'<details class="thinking"><summary>{size}</summary>'
        f'<pre class="thinking">{escape(text)}</pre></details>'
    )


def _scorer(reported: ReportedStep) -> str:
    step = reported.step
    if reported.overridden:
        said = f"a person (the critic said {reported.critic_phi:g})"
        reason = f": {reported.override_reason}" if reported.override_reason else ""
        return f'<span class="person">{escape(said)}</span>{escape(reason)}'
    if step.scored_by_person:  # the evidence says so, though no override event is recorded
        reason = step.evidence.partition(":")[2].strip()
        return '<span class="person">a person</span>' + (f": {escape(reason)}" if reason else "")
    evidence = f"; evidence: {step.evidence}" if step.evidence else ""
    return f"the critic{escape(evidence)}"


def _notes(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    items = "".join(f"<li>{escape(note)}</li>" for note in notes)
    return f'<section id="notes"><h2>Warnings and errors</h2><ul>{items}</ul></section>'


# --- the Φ chart ---------------------------------------------------------------------------


def phi_chart(steps: Sequence[ReportedStep]) -> str:
    """Φ after each step on an axis from 0 to 10, as inline SVG: the critic's score a hollow
    point, a person's override an orange diamond beside it, as the Run pane draws them."""
    if not steps:
        return '<p class="muted">No step was scored.</p>'
    plot_w = CHART_WIDTH - _LEFT - _RIGHT
    plot_h = CHART_HEIGHT - _TOP - _BOTTOM

    def x(position: int) -> float:
        return _LEFT + plot_w * (position + 0.5) / len(steps)

    def y(phi: float) -> float:
        return _TOP + plot_h * (1 - max(0.0, min(phi, PHI_MAX)) / PHI_MAX)

    label = f"Φ after each of {len(steps)} steps, from 0 to 10"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" '
        f'width="{CHART_WIDTH}" height="{CHART_HEIGHT}" role="img" aria-label="{escape(label)}">',
        '<g class="axis">',
    ]
    for tick in range(0, int(PHI_MAX) + 1, 2):
        height = y(tick)
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{CHART_WIDTH - _RIGHT}" '
            f'y1="{height:.1f}" y2="{height:.1f}"/>'
            f'<text x="{_LEFT - 8}" y="{height + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    every = max(1, len(steps) // 20)  # at most about 20 step labels along the bottom
    for position, reported in enumerate(steps):
        if position % every == 0:
            parts.append(
                f'<text x="{x(position):.1f}" y="{CHART_HEIGHT - _BOTTOM + 16}" '
                f'text-anchor="middle">{reported.step.index}</text>'
            )
    parts.append(
        f'<text x="{_LEFT + plot_w / 2:.1f}" y="{CHART_HEIGHT - 4}" text-anchor="middle">'
        "step</text></g>"
    )
    line = " ".join(f"{x(i):.1f},{y(r.step.phi_after):.1f}" for i, r in enumerate(steps))
    parts.append(f'<polyline class="series" points="{line}"/>')
    parts.extend(_points(steps, x, y))
    parts.append("</svg>")
    legend = "○ the critic's score"
    if any(reported.overridden for reported in steps):
        legend += " · ◆ a person's score, beside the critic's"
    parts.append(f'<p class="muted legend">{escape(legend)}</p>')
    return "\n".join(parts)


def _points(
    steps: Sequence[ReportedStep], x: Callable[[int], float], y: Callable[[float], float]
) -> Iterable[str]:
    for position, reported in enumerate(steps):
        step = reported.step
        centre = x(position)
        tip = escape(_describe_point(reported))
        if reported.critic_phi is None:
            yield (
                f'<circle class="critic" cx="{centre:.1f}" cy="{y(step.phi_after):.1f}" r="4">'
                f"<title>{tip}</title></circle>"
            )
            continue
        critic_y, person_y, beside = y(reported.critic_phi), y(step.phi_after), centre + 7
        diamond = " ".join(
            f"{px:.1f},{py:.1f}"
            for px, py in (
                (beside, person_y - 6),
                (beside + 6, person_y),
                (beside, person_y + 6),
                (beside - 6, person_y),
            )
        )
        yield (
            f'<circle class="critic" cx="{centre:.1f}" cy="{critic_y:.1f}" r="4">'
            f"<title>{tip}</title></circle>"
            f'<polygon class="override" points="{diamond}"><title>{tip}</title></polygon>'
        )


def _describe_point(reported: ReportedStep) -> str:
    step = reported.step
    text = f"Step {step.index} ({step.agent}): Φ {step.phi_after:g}"
    if reported.critic_phi is not None:
        text += f", set by a person (the critic said {reported.critic_phi:g})"
        if reported.override_reason:
            text += f": {reported.override_reason}"
    return text


# --- costs ---------------------------------------------------------------------------------


def _costs(data: RunReportData) -> str:
    lines = ['<section id="costs"><h2>Costs</h2>']
    if not data.by_model.lines:
        lines.append('<p class="muted">No model calls were recorded.</p></section>')
        return "\n".join(lines)
    lines.append(f'<p class="total">Total: {escape(summary_text(data.by_model.total))}</p>')
    lines.append(_cost_table("Agent", data.by_agent))
    lines.append(_cost_table("Model", data.by_model))
    notes = [line.detail for line in data.by_model.lines if line.detail]
    if notes:
        lines.append('<ul class="muted">')
        lines.extend(f"<li>{escape(note)}</li>" for note in notes)
        lines.append("</ul>")
    lines.append(
        '<p class="muted">Wall time is the time spent waiting for the models; tokens per '
        "second are tokens out over that time.</p></section>"
    )
    return "\n".join(lines)


def _cost_table(title: str, report: CostReport) -> str:
    head = "".join(f"<th>{escape(name)}</th>" for name in (title, *NUMBER_COLUMNS))
    rows = []
    for line in report.lines:
        cells = "".join(f"<td>{escape(text)}</td>" for text in number_texts(line.totals))
        rows.append(f"<tr><td>{escape(line.label)}</td>{cells}</tr>")
    return f'<table class="costs-by-{title.lower()}"><tr>{head}</tr>{"".join(rows)}</table>'


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))
