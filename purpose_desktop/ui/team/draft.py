"""A team as it is being edited, and what is wrong with it, field by field.

The editor keeps what the person typed in a :class:`TeamDraft` (plain values, possibly
invalid) and asks :func:`check_draft` after every change. The check builds the real
:class:`~purpose_desktop.engine.specs.TeamSpec`, so the rules are the team file's own, and
turns pydantic's errors into one short message per field, keyed by the field's location
(``("agents", 1, "max_steps")``) so each can be shown beside its widget.

This module imports pydantic; the UI imports it only once a team is being edited.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from purpose_desktop.engine.specs import AgentSpec, RouterSpec, TeamSpec
from purpose_desktop.engine.tools.names import BUILTIN_TOOL_NAMES, tool_key

Location = tuple[str | int, ...]
AGENTS: Location = ("agents",)

FIELD_NAMES: Mapping[str, str] = {
    "name": "name",
    "description": "description",
    "default_model": "default model",
    "agents": "agents",
    "role": "role",
    "model": "model",
    "expertise": "expertise",
    "tools": "tools",
    "max_steps": "step limit",
    "review": "review policy",
}


@dataclass(frozen=True)
class AgentDraft:
    """One agent's fields as typed; ``model`` is empty while none is chosen."""

    name: str
    role: str = ""
    model: str = ""
    expertise: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    max_steps: int = AgentSpec.model_fields["max_steps"].default
    review: str = AgentSpec.model_fields["review"].default.value


@dataclass(frozen=True)
class TeamDraft:
    """A team's fields as typed. ``router`` is not edited in the app; it is kept as loaded."""

    name: str
    agents: tuple[AgentDraft, ...]
    description: str = ""
    default_model: str = ""
    router: RouterSpec = field(default_factory=RouterSpec)


@dataclass(frozen=True)
class DraftCheck:
    """The spec a valid draft makes (``None`` while anything is wrong) and the problems, by
    field. ``echoes`` are fields marked because of another field's problem (the name fields
    of two agents called alike): a summary leaves them out."""

    spec: TeamSpec | None
    problems: Mapping[Location, str]
    echoes: frozenset[Location] = frozenset()


def draft_of(spec: TeamSpec) -> TeamDraft:
    """The draft that shows ``spec`` in the editor."""
    agents = tuple(
        AgentDraft(
            name=agent.name,
            role=agent.role,
            model=agent.model,
            expertise=agent.expertise,
            tools=tuple(_box_name(tool) for tool in agent.tools),
            max_steps=agent.max_steps,
            review=agent.review.value,
        )
        for agent in spec.agents
    )
    return TeamDraft(
        name=spec.name,
        agents=agents,
        description=spec.description,
        default_model=spec.default_model or "",
        router=spec.router,
    )


def _box_name(tool: str) -> str:
    """The name of ``tool``'s check box: "Read-File" in a file is read_file, as the built-in
    tools go by any spelling; an MCP server's or a user's tool keeps its exact name."""
    key = tool_key(tool)
    return key if key in BUILTIN_TOOL_NAMES else tool


def new_team_draft(model: str) -> TeamDraft:
    """A new team of one agent on ``model`` (may be empty), for the person to fill in."""
    return TeamDraft(
        name="New team", agents=(AgentDraft("assistant", model=model),), default_model=model
    )


def with_new_agent(draft: TeamDraft, model: str) -> TeamDraft:
    """``draft`` with one more agent, on ``model``, under a name no other agent has."""
    taken = {agent.name for agent in draft.agents}
    number = len(draft.agents) + 1
    while f"agent-{number}" in taken:
        number += 1
    return replace(draft, agents=(*draft.agents, AgentDraft(f"agent-{number}", model=model)))


def check_draft(draft: TeamDraft) -> DraftCheck:
    """Validate ``draft`` as a team file would be, collecting every field's problem at once.

    Each agent is validated on its own first: pydantic stops at the first invalid agent
    otherwise, and the team-wide rules (a name, at least one agent, unique agent names)
    would go unchecked while any agent has a mistake.
    """
    problems: dict[Location, str] = {}
    agents: list[AgentSpec] = []
    for index, agent in enumerate(draft.agents):
        values = _agent_values(agent)
        try:
            agents.append(AgentSpec.model_validate(values))
        except ValidationError as exc:
            _collect(exc, ("agents", index), problems)
            # Unvalidated, so the team-wide rules below still see this agent's name.
            agents.append(AgentSpec.model_construct(**values))
    team = {
        "name": draft.name,
        "description": draft.description,
        "default_model": draft.default_model.strip() or None,
        "router": draft.router,
        "agents": tuple(agents),
    }
    try:
        spec: TeamSpec | None = TeamSpec.model_validate(team)
    except ValidationError as exc:
        _collect(exc, (), problems)
        spec = None
    echoes = _mark_shared_names(draft, problems)
    return DraftCheck(None if problems else spec, problems, echoes)


def _agent_values(agent: AgentDraft) -> dict[str, Any]:
    # Stripped here as the spec strips them, so unvalidated agents compare the same way.
    return {
        "name": agent.name.strip(),
        "role": agent.role.strip(),
        "model": agent.model.strip(),
        "expertise": agent.expertise,
        "tools": agent.tools,
        "max_steps": agent.max_steps,
        "review": agent.review,
    }


def _collect(exc: ValidationError, prefix: Location, problems: dict[Location, str]) -> None:
    for error in exc.errors():
        location = (*prefix, *error["loc"])
        problems.setdefault(location, _message(error))


def _message(error: ErrorDetails) -> str:
    """pydantic's message, said the way a form says it."""
    kind = error["type"]
    context = error.get("ctx", {})
    if kind == "missing" or (kind == "string_too_short" and context.get("min_length") == 1):
        return "Required."
    if kind == "too_short":
        return "A team needs at least one agent."
    if kind == "greater_than_equal":
        return f"Must be at least {context['ge']}."
    if kind == "less_than_equal":
        return f"Must be at most {context['le']}."
    if kind == "string_too_long":
        return f"At most {context['max_length']} characters."
    message = str(error["msg"]).removeprefix("Value error, ")
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _mark_shared_names(draft: TeamDraft, problems: dict[Location, str]) -> frozenset[Location]:
    """The team reports two agents with one name as a problem of its agents; mark the name
    fields of those agents too, where the person will change them. Returns those fields."""
    if AGENTS not in problems:
        return frozenset()
    names = [agent.name.strip() for agent in draft.agents]
    counts = Counter(names)
    marked = {
        ("agents", index, "name")
        for index, name in enumerate(names)
        if name and counts[name] > 1 and ("agents", index, "name") not in problems
    }
    for location in marked:
        problems[location] = f"Another agent is also called '{names[int(location[1])]}'."
    return frozenset(marked)


def agent_problems(problems: Mapping[Location, str], index: int) -> dict[str, str]:
    """The problems of agent ``index``, by field name."""
    return {
        str(location[2]): message
        for location, message in problems.items()
        if len(location) >= 3 and location[:2] == ("agents", index)
    }


def describe_problems(draft: TeamDraft, check: DraftCheck, most: int = 3) -> str:
    """One line that says what is wrong, e.g. ``Agent 2 'writer' step limit: Must be at
    least 1.``, naming at most ``most`` problems."""
    problems = [item for item in check.problems.items() if item[0] not in check.echoes]
    # The team's own fields first, then the agents in their order.
    ordered = sorted(problems, key=lambda item: _order(item[0]))
    parts = [f"{_where(draft, location)}: {message}" for location, message in ordered]
    shown = "  ·  ".join(parts[:most])
    more = len(parts) - most
    return shown + (f"  (and {more} more)" if more > 0 else "")


def _order(location: Location) -> int:
    return location[1] if len(location) >= 2 and isinstance(location[1], int) else -1


def _where(draft: TeamDraft, location: Location) -> str:
    if len(location) >= 2 and location[0] == "agents" and isinstance(location[1], int):
        index = location[1]
        name = draft.agents[index].name.strip() if index < len(draft.agents) else ""
        agent = f"Agent {index + 1}" + (f" '{name}'" if name else "")
        rest = location[2:]
        return f"{agent} {FIELD_NAMES.get(str(rest[0]), str(rest[0]))}" if rest else agent
    if location == AGENTS:
        return "Agents"
    return "Team " + FIELD_NAMES.get(str(location[0]), str(location[0])) if location else "Team"
