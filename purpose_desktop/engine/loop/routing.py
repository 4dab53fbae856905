"""Which agent of a team takes a task, and why.

Expertise keywords decide first. Among agents that tie, a task that needs tools avoids models
that cannot use them, a simple task stays on the smallest model and a complex one goes to the
largest (a remote model counts as the largest); if that still ties, a small router model picks
from the tied names (a constrained enum), and failing that the default agent takes it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from purpose_desktop.engine.specs import AgentSpec, TeamSpec
from purpose_desktop.engine.text import content_words
from purpose_desktop.engine.tools.base import Tool
from purpose_desktop.engine.tools.selection import relevance
from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import DescribesModels, ModelTraits

Complexity = Literal["simple", "complex"]
TOOL_NEED = 1.0  # a tool this relevant to a task is one the task needs
_STEP_WORDS = re.compile(r"\b(then|after that|afterwards|finally|next|and also|step)\b", re.I)

# Picks one of the names (or None when it cannot): the router model's vote.
PickAgent = Callable[[str, Sequence[AgentSpec]], Awaitable[str | None]]


@dataclass(frozen=True)
class RoutingDecision:
    agent: AgentSpec
    reason: str
    complexity: Complexity


def complexity(task: str) -> Complexity:
    """A rough judgement: long tasks, several steps or sentences, or many numbers are complex."""
    words = task.split()
    sentences = len([s for s in re.split(r"[.!?;]+", task) if s.strip()])
    numbers = len(re.findall(r"\d+(?:\.\d+)?", task))
    steps = len(_STEP_WORDS.findall(task))
    if len(words) > 40 or sentences > 2 or steps >= 2 or numbers > 4:
        return "complex"
    return "simple"


def expertise_score(agent: AgentSpec, task: str) -> tuple[int, list[str]]:
    """How many of the agent's expertise keywords the task mentions, and which."""
    words = set(content_words(task))
    matched = [keyword for keyword in agent.expertise if set(content_words(keyword)) & words]
    return len(matched), matched


def needs_tools(task: str, tools: Sequence[Tool]) -> bool:
    """Whether one of ``tools`` (an agent's) is one ``task`` needs."""
    return any(relevance(task, tool) >= TOOL_NEED for tool in tools)


class Router:
    """Chooses agents for tasks, reading model traits to weigh size and tool use."""

    def __init__(self, models: DescribesModels) -> None:
        self._models = models

    async def choose(
        self,
        team: TeamSpec,
        task: str,
        base_dir: Path,
        pick: PickAgent,
        tools: Mapping[str, Sequence[Tool]],
    ) -> RoutingDecision:
        """The agent of ``team`` that takes ``task``; ``tools`` holds each agent's tools by its
        name, and ``pick`` is the router model's vote when all else ties."""
        level = complexity(task)
        if len(team.agents) == 1:
            return RoutingDecision(team.agents[0], "the team's only agent", level)
        matches = {agent.name: expertise_score(agent, task) for agent in team.agents}
        best = max(score for score, _ in matches.values())
        candidates = [agent for agent in team.agents if matches[agent.name][0] == best]
        if len(candidates) == 1:
            matched = ", ".join(matches[candidates[0].name][1])
            return RoutingDecision(candidates[0], f"its expertise ({matched}) fits the task", level)
        why = "tied on expertise" if best else "no expertise matched"
        traits = {a.name: await self._traits(a, base_dir) for a in candidates}
        candidates, excluded = self._able_to_use_tools(candidates, traits, task, tools)
        if len(candidates) == 1:
            return RoutingDecision(candidates[0], f"{why}; {excluded}", level)
        if team.router.by_complexity:
            decided = _by_size(candidates, traits, level)
            if decided is not None:
                return RoutingDecision(decided[0], f"{why}; {decided[1]}", level)
        name = await pick(task, candidates)
        for agent in candidates:
            if agent.name == name:
                names = ", ".join(a.name for a in candidates)
                return RoutingDecision(agent, f"{why}; the router model chose among {names}", level)
        fallback = _default_agent(team, candidates)
        return RoutingDecision(fallback, f"{why}; the default agent takes it", level)

    async def _traits(self, agent: AgentSpec, base_dir: Path) -> ModelTraits | None:
        try:
            return await self._models.traits(agent.model, base_dir)
        except ModelError:
            return None  # an unusable model is reported when the agent runs, not here

    @staticmethod
    def _able_to_use_tools(
        candidates: list[AgentSpec],
        traits: dict[str, ModelTraits | None],
        task: str,
        tools: Mapping[str, Sequence[Tool]],
    ) -> tuple[list[AgentSpec], str]:
        def needed(agent: AgentSpec) -> bool:
            return needs_tools(task, tools.get(agent.name, ()))

        if not any(needed(agent) for agent in candidates):
            return candidates, ""

        def can_use_tools(agent: AgentSpec) -> bool:
            trait = traits[agent.name]
            return needed(agent) and (trait is None or trait.instruction_tuned)

        able = [agent for agent in candidates if can_use_tools(agent)]
        if not able or len(able) == len(candidates):
            return candidates, ""
        left_out = ", ".join(a.name for a in candidates if a not in able)
        return able, f"the task needs tools that {left_out} cannot use"


def _by_size(
    candidates: Sequence[AgentSpec], traits: dict[str, ModelTraits | None], level: Complexity
) -> tuple[AgentSpec, str] | None:
    def size(agent: AgentSpec) -> float:
        trait = traits[agent.name]
        if trait is None:
            return float("nan")
        return float("inf") if trait.remote or trait.size_bytes is None else trait.size_bytes

    sizes = {agent.name: size(agent) for agent in candidates}
    if any(math.isnan(value) for value in sizes.values()) or len(set(sizes.values())) == 1:
        return None  # unknown or equal sizes: size says nothing here
    if level == "simple":
        agent = min(candidates, key=lambda a: sizes[a.name])
        return agent, f"a simple task stays on the smallest model ({agent.model})"
    agent = max(candidates, key=lambda a: sizes[a.name])
    return agent, f"a complex task goes to the largest model ({agent.model})"


def _default_agent(team: TeamSpec, candidates: Sequence[AgentSpec]) -> AgentSpec:
    for agent in candidates:
        if team.default_model is not None and agent.model == team.default_model:
            return agent
    return candidates[0]
