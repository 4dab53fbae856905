"""Runs as OpenTelemetry spans, following the GenAI semantic conventions.

:class:`RunTracer` subscribes to the events of every run and makes, with the times the events
carry:

- a span per run, ``invoke_workflow {team}``: the team is the workflow;
- a span per step of an agent, ``invoke_agent {agent}``, inside the run (or inside the step of
  the agent that handed it a subtask);
- a span per model call, ``chat {model}``, with ``gen_ai.usage.input_tokens`` and
  ``gen_ai.usage.output_tokens``, inside the step it was made for (routing calls inside the
  run);
- a span per tool call, ``execute_tool {tool}``, with ``gen_ai.tool.name``, inside its step.

Each span also carries the OpenInference names Arize Phoenix reads (``openinference.span.kind``,
``llm.token_count.*``), so Phoenix shows the same kinds and tokens as Langfuse.

Message contents (the task and answer, the models' streamed answers and the reasoning they
wrote apart from them, an action's thought and arguments, a tool's result, the critic's
evidence) are added only with ``include_contents``.

This module imports OpenTelemetry, an optional extra: only code that found tracing turned on
imports it (see :mod:`trace_export`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import (
    Span,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    set_span_in_context,
)

from purpose_desktop.engine.dispatch import EventDispatcher
from purpose_desktop.engine.events import (
    ActionProposed,
    ActionReviewed,
    AgentSelected,
    CostRecorded,
    ErrorRaised,
    Event,
    RunFinished,
    RunForked,
    RunResumed,
    RunStarted,
    Scored,
    ScoreOverridden,
    StepStarted,
    ThinkingStreamed,
    TokenStreamed,
    ToolFinished,
    ToolStarted,
    WarningRaised,
)

#: The instrumentation scope the spans are reported under.
SCOPE = "purpose_desktop"
# How a model reference's scheme maps to gen_ai.provider.name: the well-known value where one
# applies (an OpenAI-compatible server speaks OpenAI's API), a friendly custom name otherwise.
_PROVIDERS = {"ollama": "ollama", "server": "openai", "auto": "_OTHER"}
_LOCAL_PROVIDER = "llama_cpp"


def provider_of(reference: str) -> str:
    """``gen_ai.provider.name`` for a model reference (``bundled:...`` and GGUF files run in
    llama.cpp)."""
    scheme, separator, _ = reference.partition(":")
    return _PROVIDERS.get(scheme, _LOCAL_PROVIDER) if separator else _LOCAL_PROVIDER


def model_name(reference: str) -> str:
    """``gen_ai.request.model`` for a model reference: the model's own name, without the
    scheme, the server's name or a file's folder."""
    scheme, separator, rest = reference.partition(":")
    if not separator or scheme not in (*_PROVIDERS, "bundled"):
        return reference.replace("\\", "/").rsplit("/", 1)[-1]  # a file: its name
    return rest.split("/", 1)[1] if scheme == "server" and "/" in rest else rest


def _ns(timestamp: float) -> int:
    return int(timestamp * 1_000_000_000)


def _text_messages(role: str, text: str, reasoning: str = "") -> str:
    """A message as the conventions' ``gen_ai.input.messages`` / ``output.messages`` hold it;
    a model's ``reasoning`` is a part of its own, before the text."""
    parts = [{"type": "reasoning", "content": reasoning}] if reasoning else []
    if text or not parts:
        parts.append({"type": "text", "content": text})
    return json.dumps([{"role": role, "parts": parts}])


@dataclass
class _Step:
    span: Span
    agent: str
    number: int
    started: float
    last: float
    scored: bool = False
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class _Run:
    """The spans of one run still open, and what later spans need from earlier events."""

    span: Span
    started: float
    steps: list[_Step] = field(default_factory=list)
    """Open steps, innermost last: a teammate's steps sit above the step that delegated."""
    tools: dict[tuple[str, int], Span] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    """Each agent's model reference, from AgentSelected."""
    streamed: dict[str, list[str]] = field(default_factory=dict)
    """Text each agent's model streamed since its last call was recorded (contents only)."""
    thinking: dict[str, list[str]] = field(default_factory=dict)
    """Reasoning each agent's model wrote since its last call was recorded (contents only)."""
    error: str = ""
    """The last error the run raised: why it failed."""

    def step_of(self, agent: str, number: int | None = None) -> _Step | None:
        """The innermost open step of ``agent`` (numbered ``number`` if given)."""
        for step in reversed(self.steps):
            if step.agent == agent and number in (None, step.number):
                return step
        return None

    def parent(self, agent: str) -> tuple[Span, float]:
        """The span a call of ``agent``'s belongs in, and when that span started."""
        step = self.step_of(agent)
        return (step.span, step.started) if step is not None else (self.span, self.started)


class RunTracer:
    """Makes spans from run events with ``tracer``; one serves every run at once (each run's
    spans are kept by its run id). ``after_run`` is called when a run's spans are all ended,
    to send them without waiting for the next batch. Use it as an event subscriber."""

    def __init__(
        self,
        tracer: Tracer,
        *,
        include_contents: bool = False,
        after_run: Callable[[], None] = lambda: None,
    ) -> None:
        self._tracer = tracer
        self._contents = include_contents
        self._after_run = after_run
        self._runs: dict[str, _Run] = {}
        self._events = EventDispatcher()
        self._events.on(RunStarted, self._run_started)
        self._events.on(RunResumed, lambda e: self._start_run(e, "", resumed_from=e.from_step))
        self._events.on(RunForked, lambda e: self._start_run(e, "", forked_from=e.parent_run_id))
        self._events.on(AgentSelected, self._agent_selected)
        self._events.on(StepStarted, self._step_started)
        self._events.on(TokenStreamed, self._token)
        self._events.on(ThinkingStreamed, self._thinking)
        self._events.on(ActionProposed, self._proposed)
        self._events.on(ActionReviewed, self._reviewed)
        self._events.on(ToolStarted, self._tool_started)
        self._events.on(ToolFinished, self._tool_finished)
        self._events.on(CostRecorded, self._model_call)
        self._events.on(Scored, self._scored)
        self._events.on(ScoreOverridden, self._overridden)
        self._events.on(WarningRaised, lambda e: self._note(e, "warning", e.message))
        self._events.on(ErrorRaised, lambda e: self._note(e, "error", e.message))
        self._events.on(RunFinished, self._finished)

    def __call__(self, event: Event) -> None:
        self._events.dispatch(event)

    # --- the run ---------------------------------------------------------------------

    def _run_started(self, event: RunStarted) -> None:
        self._start_run(event, event.team, task=event.task)

    def _start_run(
        self,
        event: Event,
        team: str,
        *,
        task: str = "",
        resumed_from: int | None = None,
        forked_from: str | None = None,
    ) -> None:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.conversation.id": event.run_id,
            "openinference.span.kind": "CHAIN",
            "session.id": event.run_id,
            "purpose_desktop.run.id": event.run_id,
        }
        if team:
            attributes["gen_ai.workflow.name"] = team
        if resumed_from is not None:
            attributes["purpose_desktop.run.resumed_from_step"] = resumed_from
        if forked_from is not None:
            attributes["purpose_desktop.run.forked_from"] = forked_from
        if self._contents and task:
            attributes["gen_ai.input.messages"] = _text_messages("user", task)
            attributes["input.value"] = task
        span = self._tracer.start_span(
            f"invoke_workflow {team}" if team else "invoke_workflow",
            context=Context(),  # a trace of its own, whatever span the caller is in
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=_ns(event.timestamp),
        )
        self._runs[event.run_id] = _Run(span, event.timestamp)

    def _finished(self, event: RunFinished) -> None:
        run = self._runs.pop(event.run_id, None)
        if run is None:
            return
        for key in list(run.tools):
            self._end_tool(run, key, event.timestamp)
        while run.steps:
            self._end_step(run.steps.pop(), event.timestamp)
        span = run.span
        span.set_attributes(
            {
                "gen_ai.usage.input_tokens": event.prompt_tokens,
                "gen_ai.usage.output_tokens": event.completion_tokens,
                "llm.token_count.prompt": event.prompt_tokens,
                "llm.token_count.completion": event.completion_tokens,
                "llm.token_count.total": event.prompt_tokens + event.completion_tokens,
                "purpose_desktop.run.status": event.status,
                "purpose_desktop.run.steps": event.steps,
                "purpose_desktop.run.phi": event.phi,
            }
        )
        if self._contents and event.answer:
            span.set_attribute("gen_ai.output.messages", _text_messages("assistant", event.answer))
            span.set_attribute("output.value", event.answer)
        if event.status == "failed":
            span.set_attribute("error.type", "run_failed")
            span.set_status(Status(StatusCode.ERROR, run.error or "the run failed"))
        elif event.status == "completed":
            span.set_status(Status(StatusCode.OK))
        span.end(end_time=_ns(event.timestamp))
        self._after_run()

    def _note(self, event: Event, kind: str, message: str) -> None:
        """A warning or an error, as an event on the innermost open span where it happened."""
        run = self._runs.get(event.run_id)
        if run is None:
            return
        # A step that was scored is over, though it stays open for a person's override.
        step = next((step for step in reversed(run.steps) if not step.scored), None)
        span = run.span if step is None else step.span
        span.add_event(
            f"purpose_desktop.{kind}", {"message": message}, timestamp=_ns(event.timestamp)
        )
        if kind == "error":
            run.error = message

    # --- steps -----------------------------------------------------------------------

    def _agent_selected(self, event: AgentSelected) -> None:
        run = self._runs.get(event.run_id)
        if run is not None:
            run.models[event.agent] = event.model

    def _step_started(self, event: StepStarted) -> None:
        run = self._runs.get(event.run_id)
        if run is None:
            return
        # Steps that were scored are over (a teammate's, once the step that delegated goes on);
        # an open step of the same agent failed without a score: a new one starts.
        while run.steps and (run.steps[-1].scored or run.steps[-1].agent == event.agent):
            self._end_step(run.steps.pop(), event.timestamp)
        # What a call that failed before it was recorded streamed is not the new step's.
        run.streamed.pop(event.agent, None)
        run.thinking.pop(event.agent, None)
        parent = run.steps[-1].span if run.steps else run.span
        model = run.models.get(event.agent, "")
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": event.agent,
            "gen_ai.conversation.id": event.run_id,
            "openinference.span.kind": "AGENT",
            "purpose_desktop.step": event.step,
        }
        if model:
            attributes["gen_ai.provider.name"] = provider_of(model)
            attributes["gen_ai.request.model"] = model_name(model)
        span = self._tracer.start_span(
            f"invoke_agent {event.agent}",
            context=set_span_in_context(parent),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=_ns(event.timestamp),
        )
        run.steps.append(_Step(span, event.agent, event.step, event.timestamp, event.timestamp))

    def _step_event(self, event: Event, agent: str, number: int) -> _Step | None:
        """The open step an event of ``agent``'s step ``number`` belongs to, its time noted."""
        run = self._runs.get(event.run_id)
        step = None if run is None else run.step_of(agent, number)
        if step is not None:
            step.last = event.timestamp
        return step

    def _proposed(self, event: ActionProposed) -> None:
        step = self._step_event(event, event.agent, event.step)
        if step is None:
            return
        step.span.set_attributes(
            {
                "purpose_desktop.action.tool": event.tool,
                "purpose_desktop.action.parse_method": event.parse_method,
                "purpose_desktop.action.attempts": event.attempts,
            }
        )
        if self._contents:
            step.span.set_attribute("purpose_desktop.action.thought", event.thought)
            step.span.set_attribute("purpose_desktop.action.arguments", _json(event.arguments))

    def _reviewed(self, event: ActionReviewed) -> None:
        step = self._step_event(event, event.agent, event.step)
        if step is not None:
            step.span.set_attributes(
                {
                    "purpose_desktop.review.verdict": event.verdict,
                    "purpose_desktop.review.by": event.by,
                }
            )

    def _scored(self, event: Scored) -> None:
        step = self._step_event(event, event.agent, event.step)
        if step is None:
            return
        step.scored = True
        step.span.set_attributes(
            {"purpose_desktop.phi.before": event.phi_before, "purpose_desktop.phi": event.phi}
        )
        if event.flag:
            step.span.set_attribute("purpose_desktop.phi.flag", event.flag)
        if self._contents:
            step.span.set_attribute("purpose_desktop.phi.evidence", event.evidence)
        run = self._runs[event.run_id]
        # The teammates' steps this step waited for are over.
        while run.steps and run.steps[-1] is not step:
            self._end_step(run.steps.pop(), event.timestamp)

    def _overridden(self, event: ScoreOverridden) -> None:
        step = self._step_event(event, event.agent, event.step)
        if step is not None:
            step.span.set_attributes(
                {"purpose_desktop.phi": event.phi, "purpose_desktop.phi.critic": event.critic_phi}
            )

    @staticmethod
    def _end_step(step: _Step, now: float) -> None:
        # A step ends with its last event (its score, or a person's override of it); one that
        # never got that far ends when the next began.
        end = step.last if step.scored else max(step.last, now)
        step.span.set_attributes(
            {
                "gen_ai.usage.input_tokens": step.input_tokens,
                "gen_ai.usage.output_tokens": step.output_tokens,
            }
        )
        step.span.end(end_time=_ns(end))

    # --- model and tool calls ------------------------------------------------------

    def _token(self, event: TokenStreamed) -> None:
        run = self._runs.get(event.run_id)
        if run is not None and self._contents:
            run.streamed.setdefault(event.agent, []).append(event.text)

    def _thinking(self, event: ThinkingStreamed) -> None:
        run = self._runs.get(event.run_id)
        if run is not None and self._contents:
            run.thinking.setdefault(event.agent, []).append(event.text)

    def _model_call(self, event: CostRecorded) -> None:
        run = self._runs.get(event.run_id)
        if run is None:
            return
        parent, parent_started = (
            (run.span, run.started) if event.purpose == "route" else run.parent(event.agent)
        )
        name = model_name(event.model)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider_of(event.model),
            "gen_ai.request.model": name,
            "gen_ai.agent.name": event.agent,
            "gen_ai.conversation.id": event.run_id,
            "gen_ai.usage.input_tokens": event.prompt_tokens,
            "gen_ai.usage.output_tokens": event.completion_tokens,
            "openinference.span.kind": "LLM",
            "llm.model_name": name,
            "llm.token_count.prompt": event.prompt_tokens,
            "llm.token_count.completion": event.completion_tokens,
            "llm.token_count.total": event.prompt_tokens + event.completion_tokens,
            "purpose_desktop.call.purpose": event.purpose,
        }
        if event.cost:
            attributes["purpose_desktop.cost"] = event.cost
        streamed = "".join(run.streamed.pop(event.agent, ()))
        reasoning = "".join(run.thinking.pop(event.agent, ()))
        if self._contents and (streamed or reasoning) and event.purpose == "act":
            attributes["gen_ai.output.messages"] = _text_messages("assistant", streamed, reasoning)
            if streamed:
                attributes["output.value"] = streamed
        # The event comes when the call ends and says how long it took; a call never starts
        # before the span it belongs in.
        started = max(event.timestamp - event.seconds, parent_started)
        span = self._tracer.start_span(
            f"chat {name}",
            context=set_span_in_context(parent),
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=_ns(started),
        )
        span.end(end_time=_ns(event.timestamp))
        step = None if event.purpose == "route" else run.step_of(event.agent)
        if step is not None:
            step.input_tokens += event.prompt_tokens
            step.output_tokens += event.completion_tokens
            step.last = max(step.last, event.timestamp)

    def _tool_started(self, event: ToolStarted) -> None:
        run = self._runs.get(event.run_id)
        step = self._step_event(event, event.agent, event.step)
        if run is None:
            return
        parent = step.span if step is not None else run.span
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": event.tool,
            "gen_ai.tool.type": "function",
            "gen_ai.tool.call.id": f"{event.run_id}-{event.step}",
            "gen_ai.agent.name": event.agent,
            "gen_ai.conversation.id": event.run_id,
            "openinference.span.kind": "TOOL",
            "tool.name": event.tool,
        }
        if self._contents:
            arguments = _json(event.arguments)
            attributes["gen_ai.tool.call.arguments"] = arguments
            attributes["input.value"] = arguments
        span = self._tracer.start_span(
            f"execute_tool {event.tool}",
            context=set_span_in_context(parent),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=_ns(event.timestamp),
        )
        run.tools[(event.agent, event.step)] = span

    def _tool_finished(self, event: ToolFinished) -> None:
        run = self._runs.get(event.run_id)
        self._step_event(event, event.agent, event.step)
        if run is None or (event.agent, event.step) not in run.tools:
            return
        span = run.tools[(event.agent, event.step)]
        if self._contents:
            span.set_attribute("gen_ai.tool.call.result", event.output)
            span.set_attribute("output.value", event.output)
        if not event.ok:
            span.set_attribute("error.type", "tool_error")
            span.set_status(Status(StatusCode.ERROR, "the tool failed"))
        self._end_tool(run, (event.agent, event.step), event.timestamp)

    @staticmethod
    def _end_tool(run: _Run, key: tuple[str, int], now: float) -> None:
        run.tools.pop(key).end(end_time=_ns(now))


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), ensure_ascii=False, default=str)
