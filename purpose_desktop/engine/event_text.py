"""One line of plain text per event, shared by every front end that shows a run as text."""

from __future__ import annotations

from purpose_desktop.engine.events import (
    AgentSelected,
    ErrorRaised,
    Event,
    ModelStatusChanged,
    RunFinished,
    RunStarted,
    WarningRaised,
)


def describe_event(event: Event) -> str | None:
    """A short line describing ``event``, or ``None`` for events shown otherwise (tokens)."""
    text: str | None = None
    match event:
        case RunStarted(team=team, task=task):
            text = f"Run started: {team} — {task}"
        case AgentSelected(agent=agent, reason=reason, model=model):
            text = f"Agent {agent} selected ({reason}), model {model}"
        case ModelStatusChanged(model=model, state="loading"):
            text = f"Model {model} loading…"
        case ModelStatusChanged(model=model, state=state, detail=detail):
            text = f"Model {model} {state}: {detail}"
        case ErrorRaised(message=message):
            text = f"Error: {message}"
        case WarningRaised(message=message):
            text = f"Warning: {message}"
        case RunFinished(status=status, completion_tokens=tokens, seconds=seconds):
            speed = tokens / seconds if seconds else 0.0
            text = f"Run {status}: {tokens} tokens in {seconds:.1f} s ({speed:.0f} tokens/s)"
    return text
