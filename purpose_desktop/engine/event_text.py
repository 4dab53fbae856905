"""One line of plain text per event, shared by every front end that shows a run as text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.text import shorten


def _arguments(arguments: Mapping[str, Any]) -> str:
    return shorten(json.dumps(dict(arguments), ensure_ascii=False), 120)


def describe_event(event: ev.Event) -> str | None:
    """A short line describing ``event``, or ``None`` for events shown otherwise (tokens)."""
    return _describe_run(event) or _describe_step(event)


def _describe_run(event: ev.Event) -> str | None:
    text: str | None = None
    match event:
        case ev.RunStarted(team=team, task=task):
            text = f"Run started: {team} — {task}"
        case ev.RunPaused(before_step=step):
            text = f"Paused before step {step}"
        case ev.RunContinued(before_step=step):
            text = f"Going on with step {step}"
        case ev.RunResumed(from_step=step):
            text = f"Run resumed after step {step}"
        case ev.RunForked(parent_run_id=parent, from_step=step, edited=edited):
            change = f", with an edited {edited}" if edited else ""
            text = f"Run forked from run {parent[:8]} after step {step}{change}"
        case ev.AgentSelected(agent=agent, reason=reason, model=model):
            text = f"Agent {agent} selected ({reason}), model {model}"
        case ev.ModelStatusChanged(model=model, state="loading"):
            text = f"Model {model} loading…"
        case ev.ModelStatusChanged(model=model, state=state, detail=detail):
            text = f"Model {model} {state}: {detail}"
        case ev.ErrorRaised(message=message):
            text = f"Error: {message}"
        case ev.WarningRaised(message=message):
            text = f"Warning: {message}"
        case ev.RunFinished(status=status, steps=steps, completion_tokens=tokens, seconds=seconds):
            text = f"Run {status} after {steps} step(s): {tokens} tokens in {seconds:.1f} s"
    return text


def _describe_step(event: ev.Event) -> str | None:
    text: str | None = None
    match event:
        case ev.ActionProposed(agent=agent, step=step, tool=tool, arguments=arguments):
            text = f"Step {step}: {agent} proposes {tool} {_arguments(arguments)}"
        case ev.ActionReviewed(verdict=verdict, by="person", reason=reason, tool=tool):
            text = f"A person {verdict} {tool}" + (f": {reason}" if reason else "")
        case ev.ToolFinished(tool=tool, ok=ok, output=output, seconds=seconds):
            shown = shorten(output, 200)
            text = f"{tool} {'→' if ok else 'failed:'} {shown} ({seconds:.1f} s)"
        case ev.Scored(phi_before=before, phi=phi, evidence=evidence, flag=flag):
            text = f"Φ {before:g} → {phi:g}: {evidence}" + (f" [{flag}]" if flag else "")
        case ev.ScoreOverridden(critic_phi=critic, phi=phi, reason=reason):
            text = f"A person set Φ to {phi:g} (critic said {critic:g})" + (
                f": {reason}" if reason else ""
            )
        case ev.HeuristicLearned(tier=tier, strategy=strategy):
            text = f"Learned ({tier}): {strategy}"
    return text
