"""``purpose-desktop bench step``: where the time of one agent step goes.

A fixed task runs on the bundled team ``calculator.yaml`` (its agent on SmolLM2 with the
calculator; learning off, so every repeat starts from the same memory). Every model call the
engine makes is recorded on its way through a wrapper around the model service: when it started,
its first token, its end and its usage (prompt tokens sent and evaluated). A step runs from the
engine's ``StepStarted`` to the next step's (the last ends with the run), so it holds the
agent's call, the critic's and everything the engine does around them (retrieving memories,
running the tool, recording). The runs share one memory database, as the app's do; each round
of the tasks has a runner of its own, so none finds an earlier round's scores cached.

Three comparisons, each measured in the same invocation:

- the floor: raw llama-cpp-python, in a process of its own once the runs are over, answering
  each recorded call after evaluating its system message alone (the warm prefix a cache gives),
  without a grammar. Its time to the first token plus the recorded answer's length at its own
  generation rate is the floor of that call; a step's floor is the sum over its calls.
- the engine alone: the same team with scripted models that answer at once, so a step's time
  is the engine's overhead (after one round not counted, which fills the database's caches).
- a grammar's cost: the agent's prompt with all seven built-in tools, answered with and
  without the action schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from purpose_desktop.bench.stream import answer_rate
from purpose_desktop.bench.summary import MedianRange
from purpose_desktop.config import example_team_file
from purpose_desktop.engine.critic import INSTRUCTIONS
from purpose_desktop.engine.events import Event, StepStarted
from purpose_desktop.engine.loop.action_schema import action_schema
from purpose_desktop.engine.loop.prompts import head_messages, system_prompt
from purpose_desktop.engine.loop.run import TeamRunner
from purpose_desktop.engine.loop.run_context import ModelService
from purpose_desktop.engine.specs import LoadedTeam
from purpose_desktop.engine.team_file import load_team
from purpose_desktop.engine.tools.builtin import BUILTIN_TOOLS
from purpose_desktop.models.base import ChatModel, ModelTraits, StatusCallback
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamDone,
    StreamEvent,
    TokenDelta,
    Usage,
)
from purpose_desktop.models.pool import LocalModelPool
from purpose_desktop.models.router import ModelRouter
from purpose_desktop.models.scripted import FunctionModel, ScriptedProvider
from purpose_desktop.store.database import open_database
from purpose_desktop.store.memory_store import DatabaseMemoryStore
from purpose_desktop.store.migrations import migrate

TASKS = (
    "What is 17 * 23?",
    "A box holds 12 eggs. How many eggs are in 7 boxes?",
)
SCRIPTED = "scripted"
GRAMMAR_ROUNDS = 3
"""Answers with and without the action schema after each repeat's runs."""
TARGETS = {
    "constrained_ratio": ">= 0.85",
    "evaluated_share_from_step_2": "<= 0.3",
    "step_over_floor": "<= 1.3",
    "scripted_overhead_median_ms": "< 5",
    "scripted_overhead_max_ms": "< 20",
}


@dataclass(frozen=True)
class _Call:
    purpose: str  # "act" or "score"
    messages: tuple[ChatMessage, ...]
    started: float
    first_token: float | None
    ended: float
    usage: Usage

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass(frozen=True)
class StepTiming:
    """One step of one run. Times in milliseconds."""

    task: int
    step: int
    prompt_sent: int
    prompt_evaluated: int
    first_token_ms: float
    tokens_per_s: float
    critic_ms: float
    overhead_ms: float
    total_ms: float
    floor_ms: float = 0.0

    @property
    def over_floor(self) -> float:
        return self.total_ms / self.floor_ms if self.floor_ms else float("nan")


@dataclass(frozen=True)
class StepBenchmark:
    model: str
    n_threads: int
    repeats: int
    max_steps: int
    steps: tuple[StepTiming, ...]
    evaluated_share_from_step_2: MedianRange
    step_over_floor: MedianRange
    first_token_ms: MedianRange
    critic_ms: MedianRange
    overhead_ms: MedianRange
    scripted_overhead_median_ms: float
    scripted_overhead_max_ms: float
    constrained_tokens_per_s: MedianRange
    unconstrained_tokens_per_s: MedianRange
    constrained_ratio: MedianRange
    targets: dict[str, bool] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["steps"] = [
            {**asdict(step), "over_floor": round(step.over_floor, 3)} for step in self.steps
        ]
        return result


class _Recorded:
    """A chat model that records each call in ``calls``; anything else goes to ``model``, so
    the engine sees the same capabilities (context size, token counting) it would without."""

    def __init__(self, model: ChatModel, calls: list[_Call]) -> None:
        self._model = model
        self._calls = calls
        self.name = model.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    async def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        started = time.perf_counter()
        first: float | None = None
        async for event in self._model.stream_chat(messages, options):
            if isinstance(event, TokenDelta) and first is None:
                first = time.perf_counter()
            if isinstance(event, StreamDone):
                purpose = "score" if messages[0].content.startswith(INSTRUCTIONS) else "act"
                self._calls.append(
                    _Call(
                        purpose, tuple(messages), started, first, time.perf_counter(), event.usage
                    )
                )
            yield event


@dataclass
class _Recording:
    """The model service with every call recorded."""

    models: ModelService
    calls: list[_Call] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def use(
        self, reference: str, base_dir: Path, on_status: StatusCallback
    ) -> AsyncIterator[ChatModel]:
        async with self.models.use(reference, base_dir, on_status) as model:
            yield _Recorded(model, self.calls)

    async def traits(self, reference: str, base_dir: Path) -> ModelTraits:
        return await self.models.traits(reference, base_dir)


Step = tuple[StepTiming, list[_Call]]
"""A step's timing and the model calls it made."""


def _steps(task: int, calls: Sequence[_Call], starts: Sequence[float], ended: float) -> list[Step]:
    """The run's calls grouped into its steps: a step runs from the engine's ``StepStarted``
    (``starts``) to the next step's, the last to ``ended``, and holds the calls that started
    in it (an action, retries, the critic's score; a step the engine finished by rule has the
    critic's call alone)."""
    steps = []
    for number, (start, end) in enumerate(zip(starts, [*starts[1:], ended], strict=True), start=1):
        group = [call for call in calls if start <= call.started < end]
        if not group:
            continue
        acts = [call for call in group if call.purpose == "act"]
        first = acts[0] if acts else group[0]
        generated = sum(call.usage.completion_tokens - 1 for call in acts)
        generating = sum(call.ended - (call.first_token or call.ended) for call in acts)
        steps.append(
            (
                StepTiming(
                    task=task,
                    step=number,
                    prompt_sent=sum(call.usage.prompt_tokens for call in group),
                    prompt_evaluated=sum(call.usage.prompt_evaluated or 0 for call in group),
                    first_token_ms=1000 * ((first.first_token or first.ended) - first.started),
                    tokens_per_s=generated / generating if generating > 0 else float("nan"),
                    critic_ms=1000 * sum(call.seconds for call in group if call.purpose == "score"),
                    overhead_ms=1000 * (end - start - sum(call.seconds for call in group)),
                    total_ms=1000 * (end - start),
                ),
                group,
            )
        )
    return steps


class _Runs:
    """One memory database for a benchmark's runs on one kind of model, as the app has one for
    all its runs; learning off. Each round of the tasks has a runner of its own, so no round
    finds the critic's scores of an earlier one in the runner's cache."""

    def __init__(self, models: ModelService, folder: Path) -> None:
        self._recording = _Recording(models)
        self._engine = open_database(folder / "memory.sqlite3")
        migrate(self._engine)
        self._memory = DatabaseMemoryStore(self._engine)
        self._workspaces = folder / "workspaces"

    async def tasks(self, team: LoadedTeam) -> list[Step]:
        """Each task once with ``team``; the steps of every run."""
        steps: list[Step] = []
        # Events carry wall-clock times; calls are timed on the performance counter.
        wall_to_counter = time.perf_counter() - time.time()
        starts: list[float] = []

        def note_step(event: Event) -> None:
            if isinstance(event, StepStarted):
                starts.append(event.timestamp + wall_to_counter)

        runner = TeamRunner(
            self._recording, self._memory, workspaces_dir=self._workspaces, max_answer_tokens=96
        )
        for number, task in enumerate(TASKS, start=1):
            self._recording.calls, starts[:] = [], []
            await runner.run(team, task, [note_step], learn=False)
            steps += _steps(number, self._recording.calls, starts, time.perf_counter())
        return steps

    def close(self) -> None:
        self._engine.dispose()


async def _scripted_steps(team: LoadedTeam, repeats: int, folder: Path) -> list[Step]:
    """The steps of ``repeats`` rounds of the tasks on the scripted model, after one round
    not counted: the first runs on a database fill caches (the statements compiled for it,
    the tools) that the app fills once."""
    provider = ScriptedProvider({SCRIPTED: FunctionModel(_scripted_reply, SCRIPTED)})
    runs = _Runs(provider, folder)
    try:
        await runs.tasks(team)
        return [step for _ in range(repeats) for step in await runs.tasks(team)]
    finally:
        runs.close()


def _on_model(team: LoadedTeam, model: str, max_steps: int) -> LoadedTeam:
    """``team`` with every agent on ``model``, taking at most ``max_steps`` steps."""
    agents = tuple(
        agent.model_copy(update={"max_steps": max_steps, "model": model})
        for agent in team.spec.agents
    )
    spec = team.spec.model_copy(update={"agents": agents, "default_model": model})
    return team.model_copy(update={"spec": spec})


def _scripted_reply(messages: Sequence[ChatMessage], options: GenerationOptions) -> str:
    """An answer with no model time: the calculator, then finishing; the critic's score."""
    if messages[0].content.startswith(INSTRUCTIONS):
        return '{"score": 7, "observation": 1}'
    if len(messages) <= 2:  # nothing observed yet
        return '{"tool": "calculator", "thought": "", "expression": "17 * 23"}'
    return '{"tool": "finish", "thought": "", "answer": "391"}'


# The floor: raw llama-cpp-python answers each call after evaluating its system message alone.
# An answer that ends before the app's did is carried on at this call's own generation rate.
RAW_SCRIPT = """
import json, sys, time
from llama_cpp import Llama
from purpose_desktop.models.llama_cpu import prepare_llama_cpp
prepare_llama_cpp()
path, n_ctx, n_threads, calls = json.loads(sys.stdin.read())
llm = Llama(path, n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads, n_batch=512,
            verbose=False)
floors = []
for messages, tokens in calls:
    llm.create_chat_completion(messages=messages[:1], max_tokens=1, temperature=0.0)
    started = time.perf_counter()
    first, last, count = None, None, 0
    for chunk in llm.create_chat_completion(messages=messages, max_tokens=tokens,
                                            temperature=0.0, stream=True):
        if chunk["choices"][0]["delta"].get("content"):
            count += 1
            last = time.perf_counter()
            first = first or last
    first = first or time.perf_counter()
    per_token = (last - first) / (count - 1) if count > 1 else None
    floors.append((first - started, per_token))
rates = [p for _, p in floors if p] or [0.0]
rates.sort()
typical = rates[len(rates) // 2]
print(json.dumps([ttft + max(0, n - 1) * (p or typical)
                  for (ttft, p), (_, n) in zip(floors, calls)]))
"""


def _floors(path: Path, n_ctx: int, n_threads: int, calls: Sequence[_Call]) -> list[float]:
    """Seconds of the raw floor of each call, in a process of its own."""
    replay = [
        (
            [{"role": m.role, "content": m.content} for m in call.messages],
            max(1, call.usage.completion_tokens),
        )
        for call in calls
    ]
    result = subprocess.run(
        [sys.executable, "-c", RAW_SCRIPT],
        input=json.dumps([str(path), n_ctx, n_threads, replay]),
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"raw llama-cpp-python failed: {result.stderr[-1000:]}")
    return [float(value) for value in json.loads(result.stdout.strip().splitlines()[-1])]


async def _grammar_rates(model: ChatModel, team: LoadedTeam) -> tuple[float, float]:
    """Tokens/s on the agent's prompt with every built-in tool, with the action schema and
    without."""
    agent = team.spec.agents[0]
    system = system_prompt(agent, BUILTIN_TOOLS, (), (), ())
    messages = head_messages(system, TASKS[0])
    plain = GenerationOptions(max_tokens=64, temperature=0.0)
    constrained = replace(plain, json_schema=action_schema(BUILTIN_TOOLS))
    return (
        await answer_rate(model, constrained, messages),
        await answer_rate(model, plain, messages),
    )


async def measure_step(
    model_path: Path,
    *,
    repeats: int,
    max_steps: int,
    n_threads: int,
    n_ctx: int = 2048,
    models_dir: Path,
) -> StepBenchmark:
    """Run the benchmark described in the module docstring."""
    team = _on_model(
        load_team(example_team_file().with_name("calculator.yaml")), str(model_path), max_steps
    )
    pool = LocalModelPool(models_dir, n_ctx=n_ctx, n_threads=n_threads)
    router = ModelRouter(pool, models_dir, n_ctx=n_ctx)
    measured: list[Step] = []
    rates: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        real = _Runs(router, Path(folder) / "real")
        try:
            for _ in range(repeats):
                measured += await real.tasks(team)
                async with router.use(str(model_path), Path(folder), lambda _: None) as model:
                    rates += [await _grammar_rates(model, team) for _ in range(GRAMMAR_ROUNDS)]
        finally:
            real.close()
            await router.aclose()
        calls = [call for _, group in measured for call in group]
        floors = await asyncio.to_thread(_floors, model_path, n_ctx, n_threads, calls)
        floor_of = {id(call): floor for call, floor in zip(calls, floors, strict=True)}
        steps = [
            replace(step, floor_ms=1000 * sum(floor_of[id(call)] for call in group))
            for step, group in measured
        ]
        scripted_steps = await _scripted_steps(
            _on_model(team, SCRIPTED, max_steps), max(repeats, 5), Path(folder) / "scripted"
        )
    overhead = [step.overhead_ms for step, _ in scripted_steps]
    later = [step for step in steps if step.step >= 2 and step.prompt_sent]
    result = StepBenchmark(
        model=model_path.name,
        n_threads=n_threads,
        repeats=repeats,
        max_steps=max_steps,
        steps=tuple(steps),
        evaluated_share_from_step_2=MedianRange.of(
            [step.prompt_evaluated / step.prompt_sent for step in later]
        ),
        step_over_floor=MedianRange.of([step.over_floor for step in steps]),
        first_token_ms=MedianRange.of([step.first_token_ms for step in steps]),
        critic_ms=MedianRange.of([step.critic_ms for step in steps]),
        overhead_ms=MedianRange.of([step.overhead_ms for step in steps]),
        scripted_overhead_median_ms=round(statistics.median(overhead), 3),
        scripted_overhead_max_ms=round(max(overhead), 3),
        constrained_tokens_per_s=MedianRange.of([c for c, _ in rates]),
        unconstrained_tokens_per_s=MedianRange.of([u for _, u in rates]),
        constrained_ratio=MedianRange.of([c / u for c, u in rates]),
    )
    return replace(
        result,
        targets={
            "constrained_ratio": result.constrained_ratio.median >= 0.85,
            "evaluated_share_from_step_2": result.evaluated_share_from_step_2.median <= 0.3,
            "step_over_floor": result.step_over_floor.median <= 1.3,
            "scripted_overhead_median_ms": result.scripted_overhead_median_ms < 5,
            "scripted_overhead_max_ms": result.scripted_overhead_max_ms < 20,
        },
    )


def format_report(result: StepBenchmark) -> str:
    """The steps as a table, then the summary with each target and whether it holds."""
    lines = [
        f"{result.model}, {result.n_threads} threads, {result.repeats} repeats of "
        f"{len(TASKS)} tasks, at most {result.max_steps} steps each",
        f"{'task':>4}{'step':>5}{'eval/sent':>12}{'ttft ms':>9}{'tok/s':>7}"
        f"{'critic ms':>10}{'engine ms':>10}{'total ms':>9}{'floor ms':>9}{'÷floor':>7}",
    ]
    for s in result.steps:
        lines.append(
            f"{s.task:>4}{s.step:>5}{f'{s.prompt_evaluated}/{s.prompt_sent}':>12}"
            f"{s.first_token_ms:>9.0f}{s.tokens_per_s:>7.1f}{s.critic_ms:>10.0f}"
            f"{s.overhead_ms:>10.1f}{s.total_ms:>9.0f}{s.floor_ms:>9.0f}"
            f"{s.over_floor:>7.2f}"
        )
    summary = {
        "constrained_ratio": result.constrained_ratio,
        "evaluated_share_from_step_2": result.evaluated_share_from_step_2,
        "step_over_floor": result.step_over_floor,
    }
    lines.append("median (min-max):")
    for name, spread in summary.items():
        held = "holds" if result.targets[name] else "missed"
        lines.append(
            f"  {name}: {spread.median:.3f} ({spread.low:.3f}-{spread.high:.3f}), "
            f"target {TARGETS[name]}: {held}"
        )
    for name, spread in (
        ("first_token_ms", result.first_token_ms),
        ("critic_ms", result.critic_ms),
        ("overhead_ms", result.overhead_ms),
    ):
        lines.append(f"  {name}: {spread.median:.1f} ({spread.low:.1f}-{spread.high:.1f})")
    for name in ("scripted_overhead_median_ms", "scripted_overhead_max_ms"):
        held = "holds" if result.targets[name] else "missed"
        lines.append(f"  {name}: {getattr(result, name):.2f}, target {TARGETS[name]}: {held}")
    return "\n".join(lines)
