"""Run a team on a task and report everything that happens as events."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from purpose_desktop.engine.events import (
    AgentSelected,
    ErrorRaised,
    EventStream,
    ModelStatusChanged,
    RunFinished,
    RunStarted,
    RunStatus,
    Subscriber,
    TokenStreamed,
    WarningRaised,
)
from purpose_desktop.errors import UserError
from purpose_desktop.models.base import CountsTokens, HasContextSize, ModelProvider, ModelStatus
from purpose_desktop.models.compression import (
    ApproximateCounter,
    TokenCounter,
    compress_to_budget,
)
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamDone,
    TokenDelta,
    Usage,
)

if TYPE_CHECKING:  # pydantic loads only when a team is, which keeps start-up fast
    from purpose_desktop.engine.specs import AgentSpec, LoadedTeam


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended. ``error`` is set when ``status`` is ``"failed"``."""

    run_id: str
    status: RunStatus
    answer: str
    usage: Usage
    error: str | None = None


class TeamRunner:
    """Runs teams on tasks with the models a provider loads."""

    def __init__(self, models: ModelProvider, *, max_answer_tokens: int = 256) -> None:
        self._models = models
        self._max_answer_tokens = max_answer_tokens

    async def run(
        self, team: LoadedTeam, task: str, subscribers: Sequence[Subscriber] = ()
    ) -> RunOutcome:
        """Run ``team`` on ``task``, emitting every event to ``subscribers``.

        Failures the user can fix (a missing model, a worker that died) end the run as
        ``failed`` with a clear message rather than raising. Cancelling the calling task
        ends the run as ``cancelled`` and re-raises the cancellation.
        """
        events = EventStream(os.urandom(16).hex(), list(subscribers))
        events.emit(RunStarted, team=team.spec.name, task=task)
        answer: list[str] = []
        usage = Usage(0, 0, 0.0)
        status: RunStatus = "completed"
        error: str | None = None
        try:
            agent = self._select_agent(team, events)
            usage = await self._answer(team, agent, task, events, answer)
        except UserError as exc:
            status, error = "failed", str(exc)
            events.emit(ErrorRaised, message=error)
        except asyncio.CancelledError:
            status = "cancelled"
            raise
        except Exception:  # a bug: record the run as failed, then let it be reported
            status = "failed"
            raise
        finally:
            events.emit(
                RunFinished,
                status=status,
                answer="".join(answer),
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                seconds=usage.seconds,
            )
        return RunOutcome(events.run_id, status, "".join(answer), usage, error)

    def _select_agent(self, team: LoadedTeam, events: EventStream) -> AgentSpec:
        agent = team.spec.agents[0]
        reason = (
            "the team's only agent" if len(team.spec.agents) == 1
            else "the team's first agent"
        )
        events.emit(AgentSelected, agent=agent.name, model=agent.model, reason=reason)
        return agent

    async def _answer(
        self,
        team: LoadedTeam,
        agent: AgentSpec,
        task: str,
        events: EventStream,
        answer: list[str],
    ) -> Usage:
        def report(status: ModelStatus) -> None:
            events.emit(
                ModelStatusChanged, model=status.model, state=status.state, detail=status.detail
            )

        messages = [ChatMessage("system", agent.role), ChatMessage("user", task)]
        options = GenerationOptions(max_tokens=self._max_answer_tokens)
        usage = Usage(0, 0, 0.0)
        async with self._models.use(agent.model, team.base_dir, report) as model:
            if isinstance(model, HasContextSize):
                # Remote models' tokenizers are out of reach: count conservatively.
                counter = model if isinstance(model, CountsTokens) else ApproximateCounter()
                messages = await self._fit(model.context_size, counter, messages, events)
            # aclosing: if a subscriber raises, the model stops generating at once rather
            # than when the abandoned stream is collected.
            async with contextlib.aclosing(model.stream_chat(messages, options)) as stream:
                async for item in stream:
                    if isinstance(item, TokenDelta):
                        answer.append(item.text)
                        events.emit(TokenStreamed, agent=agent.name, text=item.text)
                    elif isinstance(item, StreamDone):
                        usage = item.usage
        return usage

    async def _fit(
        self,
        context_size: int,
        counter: TokenCounter,
        messages: list[ChatMessage],
        events: EventStream,
    ) -> list[ChatMessage]:
        """``messages`` compressed, if need be, to leave room for the answer in the context."""
        budget = context_size - self._max_answer_tokens
        fitted = await compress_to_budget(messages, budget, counter)
        if fitted.stage != "unchanged":
            how = {"whitespace": "its whitespace squeezed", "rewritten": "rewritten shorter",
                   "truncated": "cut in the middle"}[fitted.stage]
            events.emit(WarningRaised, message=(
                f"The prompt was too long for the model's context of {context_size} "
                f"tokens and was {how} to fit ({fitted.tokens} tokens)."
            ))
        return list(fitted.messages)
