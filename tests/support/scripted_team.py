"""Building blocks for exact control-flow tests of the engine: scripted models and teams."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from purpose_desktop.engine.loop.run import TeamRunner
from purpose_desktop.engine.specs import LoadedTeam
from purpose_desktop.engine.team_file import parse_team
from purpose_desktop.models.messages import ChatMessage, GenerationOptions
from purpose_desktop.models.scripted import FunctionModel, ScriptedProvider
from purpose_desktop.store.database import open_database
from purpose_desktop.store.memory_store import DatabaseMemoryStore
from purpose_desktop.store.migrations import migrate

Actor = Callable[[Sequence[ChatMessage]], str]


def role_of(options: GenerationOptions) -> str:
    """Which part of the engine asks: "act", "score" or "route", read from the schema."""
    schema = options.json_schema or {}
    properties = schema.get("properties", {})
    if "score" in properties:
        return "score"
    if "agent" in properties and "anyOf" not in schema:
        return "route"
    return "act"


def team_model(
    actions: list[str] | Actor,
    *,
    score: Callable[[Sequence[ChatMessage]], int] | int = 5,
    route: str = "",
    name: str = "scripted",
) -> FunctionModel:
    """A model that acts from ``actions`` (a list used in order, or a function of the
    messages), scores with ``score`` and routes to ``route``."""

    def reply(messages: Sequence[ChatMessage], options: GenerationOptions) -> str:
        role = role_of(options)
        if role == "score":
            value = score(messages) if callable(score) else score
            # Cites the latest observation, as a critic that reads the state would.
            observed = messages[-1].content.count("\nObservation ")
            return json.dumps({"score": value, "observation": observed})
        if role == "route":
            return json.dumps({"agent": route})
        if callable(actions):
            return actions(messages)
        if not actions:
            raise AssertionError("no scripted action left")
        return actions.pop(0)

    return FunctionModel(reply, name=name)


def act(tool: str, **arguments: Any) -> str:
    return json.dumps({"tool": tool, **arguments, "thought": f"use {tool}"})


def make_team(text: str, folder: Path) -> LoadedTeam:
    path = folder / "team.yaml"
    path.write_text(text, encoding="utf-8")
    return LoadedTeam(spec=parse_team(text, path), source=path)


def one_agent_team(
    folder: Path,
    *,
    tools: str = "[calculator]",
    review: str = "never",
    max_steps: int = 4,
    model: str = "m",
) -> LoadedTeam:
    return make_team(
        f"name: T\nagents:\n  - name: solver\n    role: Solve it.\n    model: {model}\n"
        f"    tools: {tools}\n    review: {review}\n    max_steps: {max_steps}\n",
        folder,
    )


def memory_at(path: Path) -> DatabaseMemoryStore:
    engine = open_database(path)
    migrate(engine)
    return DatabaseMemoryStore(engine)


def runner(
    folder: Path,
    provider: ScriptedProvider,
    memory: DatabaseMemoryStore | None = None,
    **kwargs: Any,
) -> TeamRunner:
    return TeamRunner(
        provider,
        memory or memory_at(folder / "memory.sqlite3"),
        workspaces_dir=folder / "workspaces",
        **kwargs,
    )
