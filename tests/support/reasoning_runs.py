"""Runs of a one-agent team whose model writes reasoning: the Ollama stand-in of tests/ollama
(the real bundled SmolLM2 behind Ollama's HTTP API), with its ``think_tokens`` switch, which
sends the first tokens the model generates as reasoning, as a reasoning model's server does;
and :class:`ReasoningModel`, a scripted model that reasons before each action, for exact
control-flow tests."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.loop.run import RunOutcome, TeamRunner
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamEvent,
    ThinkingDelta,
)
from purpose_desktop.models.pool import LocalModelPool
from purpose_desktop.models.router import ModelRouter
from purpose_desktop.models.scripted import FunctionModel
from purpose_desktop.store.opening import Store
from purpose_desktop.store.run_journal import SqlRunJournal
from tests.support.scripted_team import make_team, role_of

if TYPE_CHECKING:
    from tests.ollama.conftest import FakeOllama

TASK = "Name three primary colours."
AGENT = "sage"
CONTEXT = 1024


def reasoning_team_yaml(model: str, max_steps: int) -> str:
    # No tools and no teammates: the agent answers in its own words, which is where a
    # reasoning model writes its reasoning first.
    return (
        f"name: Thinkers\nagents:\n  - name: {AGENT}\n    role: Answer briefly.\n"
        f"    model: {model}\n    tools: []\n    review: never\n    max_steps: {max_steps}\n"
    )


def run_reasoning_team(
    fake_ollama: FakeOllama,
    store: Store,
    folder: Path,
    *,
    max_steps: int = 1,
    max_answer_tokens: int = 48,
) -> tuple[RunOutcome, list[ev.Event]]:
    """One run of the one-agent team on :data:`TASK` against the stand-in (set its faults
    first), recorded in ``store``: its outcome and every event it emitted."""
    team = make_team(reasoning_team_yaml(f"ollama:{fake_ollama.model}", max_steps), folder)
    seen: list[ev.Event] = []

    async def scenario() -> RunOutcome:
        models_dir = folder / "models"
        models_dir.mkdir(exist_ok=True)
        pool = LocalModelPool(models_dir, n_ctx=CONTEXT, n_threads=2)
        router = ModelRouter(pool, models_dir, n_ctx=CONTEXT, ollama_host=fake_ollama.url)
        journal = SqlRunJournal(lambda: store.engine)
        runner = TeamRunner(
            router,
            store.memory,  # type: ignore[arg-type]
            workspaces_dir=folder / "workspaces",
            journal=journal,
            max_answer_tokens=max_answer_tokens,
        )
        try:
            return await runner.run(team, TASK, [seen.append])
        finally:
            await router.aclose()
            journal.close()

    return asyncio.run(scenario()), seen


def thinking_in(events: Sequence[ev.Event], agent: str = AGENT) -> str:
    """The reasoning ``agent``'s model wrote, as the events carry it."""
    return "".join(
        e.text for e in events if isinstance(e, ev.ThinkingStreamed) and e.agent == agent
    )


@dataclass
class ReasoningModel:
    """``answers`` (a :func:`~tests.support.scripted_team.team_model`) behind a model that
    reasons before each action it is asked for: the next of ``reasoning``, streamed word by
    word as :class:`ThinkingDelta` pieces before the answer, as a reasoning model's backend
    yields them. The critic's calls get no reasoning. Every call is kept in
    :attr:`calls`, with the messages it was given."""

    answers: FunctionModel
    reasoning: list[str]
    name: str = "reasoning"

    @property
    def calls(self) -> list[tuple[list[ChatMessage], GenerationOptions]]:
        return self.answers.calls

    async def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        if role_of(options) == "act":
            for piece in re.findall(r"\S+\s*|\s+", self.reasoning.pop(0)):
                yield ThinkingDelta(piece)
        async for item in self.answers.stream_chat(messages, options):
            yield item
