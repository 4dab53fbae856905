"""What a team is: its agents and the models they run on, as read from a team file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from purpose_desktop.limits import MAX_AGENTS, MAX_NAME_CHARS, check_name


class ReviewPolicy(StrEnum):
    """When the person is asked to approve an agent's action."""

    ALWAYS = "always"
    RISKY = "risky"
    NEVER = "never"


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class AgentSpec(_Spec):
    """One agent: who it is, what it may do, and which model it thinks with."""

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    role: str = Field(min_length=1, description="The agent's instructions (its system prompt).")
    model: str = Field(
        min_length=1, description="bundled:NAME, or a GGUF file path (relative to the team file)."
    )
    expertise: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    max_steps: StrictInt = Field(default=8, ge=1, le=200)  # ``true`` is not a number
    review: ReviewPolicy = ReviewPolicy.RISKY

    @field_validator("name")
    @classmethod
    def _printable_name(cls, name: str) -> str:
        return check_name(name, "the agent's name")

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, tools: tuple[str, ...]) -> tuple[str, ...]:
        from purpose_desktop.engine.tools.names import unknown_tools_message

        problem = unknown_tools_message(tools)
        if problem is not None:
            raise ValueError(problem)
        return tools


class RouterSpec(_Spec):
    """How a team hands a task to one of its agents.

    Expertise keywords decide first; when they tie, ``model`` (or the team's default model)
    picks among the tied agents. ``by_complexity`` keeps short, simple tasks on the smallest
    model and sends complex ones to the largest (or a remote one).
    """

    model: str | None = None
    by_complexity: bool = True


class TeamSpec(_Spec):
    """A named group of agents that share a memory and take tasks together."""

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    description: str = ""
    default_model: str | None = None
    router: RouterSpec = RouterSpec()
    agents: tuple[AgentSpec, ...] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _printable_name(cls, name: str) -> str:
        return check_name(name, "the team's name")

    def agent(self, name: str) -> AgentSpec:
        """The agent called ``name``; ``KeyError`` if there is none."""
        for agent in self.agents:
            if agent.name == name:
                return agent
        raise KeyError(name)

    @field_validator("agents", mode="before")
    @classmethod
    def _not_too_many(cls, agents: object) -> object:
        # Counted before each agent is validated: a file of ten thousand is refused at once.
        if isinstance(agents, list | tuple) and len(agents) > MAX_AGENTS:
            raise ValueError(f"a team has at most {MAX_AGENTS} agents, not {len(agents):,}")
        return agents

    @field_validator("agents")
    @classmethod
    def _unique_names(cls, agents: tuple[AgentSpec, ...]) -> tuple[AgentSpec, ...]:
        seen: set[str] = set()
        for agent in agents:
            if agent.name in seen:
                raise ValueError(f"two agents are called '{agent.name}'; names must be unique")
            seen.add(agent.name)
        return agents


class LoadedTeam(BaseModel):
    """A team together with the file it came from, for resolving relative model paths."""

    model_config = ConfigDict(frozen=True)

    spec: TeamSpec
    source: Path | None = None

    @property
    def base_dir(self) -> Path:
        return self.source.parent if self.source is not None else Path.cwd()
