"""``purpose-desktop bench tools``: how well a model calls tools, the project's way and raw.

The corpus is hand-written requests (``tool_cases/cases.json``), each with the exact arguments
it should give one tool of a public MCP server, whose real schema is stored beside them
(``tool_cases/schemas.json``, written by ``scripts/tool_cases_schemas.py``), so the benchmark
runs offline. Each case is answered twice, greedily, on the same GGUF file:

- the project's path: the case's tool and up to three others (from the same server first) as
  engine tools, named ``SERVER.TOOL`` as MCP tools are, of which the agent loop's tool choice
  (``select_tools``) offers the most relevant few, best first, narrowed as at a turn's first
  step (``first_step_choices``) to the one the request clearly points at, or to the ones it
  points at most, beside finishing unless one of them is a tool the request needs; the
  agent's system prompt and task message as the agent loop writes them; the answer
  generated under the action schema's grammar by the model worker, then read as the agent
  loop reads it (``parse_action``, which checks it with ``validate_action``, and
  ``restore_paths``, which puts right a path of the request copied wrongly). Where finishing
  is offered, the model may finish instead of calling a tool, as an agent may, and where
  several tools are offered it must choose the tool as well as fill it in.
- raw llama-cpp-python, in a process of its own once the worker has stopped: a ``Llama`` given
  the tool's name and description and the request, and the tool's ``inputSchema`` as
  ``response_format={"type": "json_object", "schema": ...}``, as a user of llama-cpp-python
  would call it. It is told the tool, so it always has the right one.

Per path: the share of answers that are valid calls (against the schema of the tool named),
the share with the right tool, the share with exactly the right arguments, and tokens a
second from the first token to the last. Arguments are compared as parsed JSON, with one
allowance on both sides: an optional argument given as ``null`` or as its schema's default is
counted as left out, since it asks for the same call.

A case the project's path cannot offer (``action_schema`` refuses one of its tools) counts as
a failure with that reason; the run goes on.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from purpose_desktop.bench.stream import Answer, timed_answer
from purpose_desktop.engine.loop.action_schema import action_schema
from purpose_desktop.engine.loop.agent_loop import TOOLS_PER_STEP
from purpose_desktop.engine.loop.choices import Choices, first_step_choices
from purpose_desktop.engine.loop.parsing import ActionParseError, parse_action
from purpose_desktop.engine.loop.prompts import head_messages, system_prompt
from purpose_desktop.engine.loop.task_paths import restore_paths
from purpose_desktop.engine.specs import AgentSpec
from purpose_desktop.engine.tools.base import Tool, ToolContext
from purpose_desktop.engine.tools.names import mcp_tool_name
from purpose_desktop.engine.tools.selection import select_tools
from purpose_desktop.engine.trajectory import FINISH, Action
from purpose_desktop.models.base import ChatModel
from purpose_desktop.models.messages import GenerationOptions
from purpose_desktop.models.pool import LocalModelPool
from purpose_desktop.models.router import ModelRouter
from purpose_desktop.models.structured import validator_for

OTHER_TOOLS = 3
"""Tools offered beside the case's own, so that choosing the right one means something."""
MAX_TOKENS = 256
N_CTX = 2048
AGENT = AgentSpec(
    name="assistant",
    role="You help a person by calling the tool that does what they ask.",
    model="bench",
)

BenchPath = Literal["project", "raw"]
"""The project's path (action schema, model worker) or raw llama-cpp-python."""


@dataclass(frozen=True)
class StoredTool:
    """A tool as its server listed it when the schemas were collected."""

    server: str
    name: str
    description: str
    input_schema: Mapping[str, Any]


@dataclass(frozen=True)
class ToolCase:
    """What a person asks (``request``) and the call it should give."""

    server: str
    tool: str
    request: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True)
class CaseResult:
    """One case's answer on one path, numbered from 0 in the cases' order.

    ``valid``: the answer calls one of the tools offered, with arguments its schema accepts
    (a finish is not a call); ``tool`` is the tool or action it named ("" when none could be
    read); ``reason`` says why it fell short of the exact call ("" when it is exact).
    ``generating_s`` runs from the answer's first token to its last."""

    case: int
    path: BenchPath
    server: str
    expected_tool: str
    tool: str
    valid: bool
    right_tool: bool
    exact: bool
    reason: str
    tokens: int
    generating_s: float
    answer: str


@dataclass(frozen=True)
class NoToolResult:
    """The project's path on request ``request`` of those that need no tool: the tools it
    was ``offered``, the ``tool`` or action its answer named ("" when none could be read),
    and whether it ``finished`` without calling one, as it should."""

    request: int
    offered: tuple[str, ...]
    tool: str
    finished: bool
    answer: str


@dataclass(frozen=True)
class PathSummary:
    """One path's shares over ``cases`` (0 to 1) and its generation rate."""

    cases: int
    valid: float
    right_tool: float
    exact_arguments: float
    tokens_per_s: float
    failures: dict[str, int]


@dataclass(frozen=True)
class ToolCallBenchmark:
    model: str
    n_threads: int
    cases: int
    project: PathSummary
    raw: PathSummary
    results: tuple[CaseResult, ...]
    no_tool: tuple[NoToolResult, ...] = ()
    """The project's path on requests that need no tool (the raw path is told to call)."""

    @property
    def finished_without_tool(self) -> int:
        """How many of the requests that need no tool the project's path finished."""
        return sum(result.finished for result in self.no_tool)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "n_threads": self.n_threads,
            "cases": self.cases,
            "paths": {"project": asdict(self.project), "raw": asdict(self.raw)},
            "results": [asdict(result) for result in self.results],
            "no_tool": {
                "requests": len(self.no_tool),
                "finished": self.finished_without_tool,
                "results": [asdict(result) for result in self.no_tool],
            },
        }


# --- the corpus ---------------------------------------------------------------------------


def _data(name: str) -> Any:
    text = files("purpose_desktop.bench").joinpath("tool_cases", name).read_text("utf-8")
    return json.loads(text)


def load_schemas() -> dict[str, dict[str, StoredTool]]:
    """The stored tools, by server and then by tool name."""
    servers = _data("schemas.json")["servers"]
    return {
        server: {
            name: StoredTool(server, name, tool["description"], tool["inputSchema"])
            for name, tool in entry["tools"].items()
        }
        for server, entry in servers.items()
    }


def load_no_tool_requests() -> tuple[str, ...]:
    """Requests that need no tool (general questions and writing), in the file's order."""
    return tuple(str(request) for request in _data("no_tool.json"))


def load_cases() -> tuple[ToolCase, ...]:
    """Every case, in the file's order."""
    return tuple(
        ToolCase(case["server"], case["tool"], case["request"], case["arguments"])
        for case in _data("cases.json")
    )


def offered(
    number: int, case: ToolCase, schemas: Mapping[str, Mapping[str, StoredTool]]
) -> tuple[StoredTool, ...]:
    """The tools case ``number`` is offered: its own and :data:`OTHER_TOOLS` others, those
    of its server first (the ones after it in the server's list, wrapping round), then, for a
    server with few tools, the first ones of the other servers. The case's tool takes a
    place that changes from case to case, so that the first tool is not always the answer."""
    own = list(schemas[case.server].values())
    at = [tool.name for tool in own].index(case.tool)
    others = own[at + 1 :] + own[:at]
    for server, tools in schemas.items():
        if server != case.server:
            others += list(tools.values())[:1]
    chosen = others[:OTHER_TOOLS]
    chosen.insert(number % (len(chosen) + 1), own[at])
    return tuple(chosen)


async def _not_called(arguments: Mapping[str, Any], context: ToolContext) -> str:
    raise RuntimeError("The benchmark's tools are offered, never called.")


def engine_tool(tool: StoredTool) -> Tool:
    """``tool`` as the engine holds an MCP server's tool (it is never called here)."""
    return Tool(
        name=mcp_tool_name(tool.server, tool.name),
        description=tool.description,
        parameters=tool.input_schema,
        function=_not_called,
    )


# --- comparing arguments ------------------------------------------------------------------


def normalised(arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """``arguments`` without optional ones given as ``null`` or as their schema's default."""
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    kept = {}
    for key, value in arguments.items():
        spec = properties.get(key)
        if key not in required and isinstance(spec, Mapping) and _as_left_out(value, spec):
            continue
        kept[key] = value
    return kept


def _as_left_out(value: Any, spec: Mapping[str, Any]) -> bool:
    return value is None or ("default" in spec and same(value, spec["default"]))


def same(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value (2 and 2.0 alike), but a boolean is not a number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _arguments_reason(
    got: Mapping[str, Any], case: ToolCase, schema: Mapping[str, Any]
) -> tuple[bool, str]:
    exact = same(normalised(got, schema), normalised(case.arguments, schema))
    return exact, "" if exact else "wrong arguments"


# --- the project's path -------------------------------------------------------------------


async def project_case(
    model: ChatModel,
    number: int,
    case: ToolCase,
    schemas: Mapping[str, Mapping[str, StoredTool]],
) -> CaseResult:
    every = [engine_tool(t) for t in offered(number, case, schemas)]
    expected = mcp_tool_name(case.server, case.tool)

    def result(answer: Answer, tool: str, valid: bool, exact: bool, reason: str) -> CaseResult:
        return CaseResult(
            case=number,
            path="project",
            server=case.server,
            expected_tool=expected,
            tool=tool,
            valid=valid,
            right_tool=tool == expected,
            exact=exact,
            reason=reason,
            tokens=answer.tokens,
            generating_s=answer.generating_s,
            answer=answer.text,
        )

    proposal = await _propose(model, case.request, every)
    action = proposal.action
    if action is None:
        return result(proposal.answer, "", False, False, proposal.problem)
    if action.tool == FINISH:
        return result(proposal.answer, action.tool, False, False, f"no tool called: {FINISH}")
    if action.tool != expected:
        return result(proposal.answer, action.tool, True, False, "wrong tool")
    own = schemas[case.server][case.tool].input_schema
    exact, reason = _arguments_reason(action.arguments, case, own)
    return result(proposal.answer, action.tool, True, exact, reason)


async def no_tool_case(
    model: ChatModel, number: int, request: str, tools: Sequence[StoredTool]
) -> NoToolResult:
    """Request ``number`` of :func:`load_no_tool_requests`, offered ``tools`` (those of one
    of the cases, see :func:`no_tool_offer`), on the project's path."""
    every = [engine_tool(t) for t in tools]
    proposal = await _propose(model, request, every)
    tool = proposal.action.tool if proposal.action is not None else ""
    return NoToolResult(
        request=number,
        offered=tuple(t.name for t in every),
        tool=tool,
        finished=tool == FINISH,
        answer=proposal.answer.text,
    )


def no_tool_offer(number: int, requests: int, cases: int) -> int:
    """The case whose tools request ``number`` of the ``requests`` that need none is offered:
    evenly spread over the ``cases``, and so over the servers."""
    return number * cases // requests


@dataclass(frozen=True)
class _Proposal:
    """The model's answer at an agent's first step, read as an action; ``problem`` says why
    there is none (``action`` is ``None``)."""

    answer: Answer
    action: Action | None
    problem: str = ""


async def _propose(model: ChatModel, request: str, every: Sequence[Tool]) -> _Proposal:
    # As the agent loop does at a turn's first step: the few tools most relevant to the
    # task, best first, narrowed to the one it clearly points at or the ones it points at
    # most.
    most_relevant = Choices(select_tools(request, every, limit=TOOLS_PER_STEP), finish_first=True)
    choices = first_step_choices(model, request, every, most_relevant) or most_relevant
    try:
        schema = action_schema(choices.tools, can_finish=choices.can_finish)
        system = system_prompt(
            AGENT,
            choices.tools,
            (),
            (),
            (),
            can_finish=choices.can_finish,
            finish_first=choices.finish_first,
        )
    except ValueError as exc:
        return _Proposal(Answer("", 0, 0.0), None, f"cannot be offered: {exc}")
    options = GenerationOptions(max_tokens=MAX_TOKENS, temperature=0.0, json_schema=schema)
    answer = await timed_answer(model, head_messages(system, request), options)
    try:
        action = parse_action(answer.text, choices.tools, can_finish=choices.can_finish).action
    except ActionParseError as exc:
        return _Proposal(answer, None, f"not a valid action: {exc}")
    return _Proposal(answer, restore_paths(action, request))


async def _project_path(
    model_path: Path,
    models_dir: Path,
    cases: Sequence[ToolCase],
    requests: Sequence[str],
    *,
    schemas: Mapping[str, Mapping[str, StoredTool]],
    n_threads: int,
) -> tuple[list[CaseResult], list[NoToolResult]]:
    """Every case, then every request that needs no tool, on the model worker, as
    ``bench step`` runs the agent's model."""
    pool = LocalModelPool(models_dir, n_ctx=N_CTX, n_threads=n_threads)
    router = ModelRouter(pool, models_dir, n_ctx=N_CTX)
    results, no_tool = [], []
    with tempfile.TemporaryDirectory() as folder:
        try:
            async with router.use(str(model_path), Path(folder), lambda _: None) as model:
                for number, case in enumerate(cases):
                    results.append(await project_case(model, number, case, schemas))
                every_case, every_request = load_cases(), load_no_tool_requests()
                for number, request in enumerate(requests):
                    at = no_tool_offer(number, len(every_request), len(every_case))
                    tools = offered(at, every_case[at], schemas)
                    no_tool.append(await no_tool_case(model, number, request, tools))
        finally:
            await router.aclose()
    return results, no_tool


# --- raw llama-cpp-python -----------------------------------------------------------------

# As a user of llama-cpp-python would call a tool: its schema as the response format. A
# schema the library cannot turn into a grammar is that case's failure, not the run's. The
# llama.cpp is set up as in the app's worker (see models/llama_cpu.py).
RAW_SCRIPT = """
import json, sys, time
from llama_cpp import Llama
from purpose_desktop.models.llama_cpu import prepare_llama_cpp
prepare_llama_cpp()
path, n_ctx, n_threads, max_tokens, calls = json.loads(sys.stdin.read())
llm = Llama(path, n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads, n_batch=512,
            verbose=False)
answers = []
for messages, schema in calls:
    parts, first, last, error = [], None, 0.0, ""
    try:
        for chunk in llm.create_chat_completion(
            messages=messages, max_tokens=max_tokens, temperature=0.0, stream=True,
            response_format={"type": "json_object", "schema": schema},
        ):
            text = chunk["choices"][0]["delta"].get("content")
            if text:
                parts.append(text)
                last = time.perf_counter()
                first = first or last
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    answers.append(["".join(parts), len(parts), last - first if first else 0.0, error])
print(json.dumps(answers))
"""


def raw_messages(tool: StoredTool, request: str) -> list[dict[str, str]]:
    """The plain prompt of the raw path: the tool, what it does, and the request."""
    return [
        {
            "role": "system",
            "content": f"Call the tool {tool.name}: {tool.description.strip()}\n"
            "Reply with its arguments as one JSON object.",
        },
        {"role": "user", "content": request},
    ]


def _raw_answers(
    model_path: Path,
    cases: Sequence[ToolCase],
    schemas: Mapping[str, Mapping[str, StoredTool]],
    n_threads: int,
) -> list[tuple[Answer, str]]:
    calls = []
    for case in cases:
        tool = schemas[case.server][case.tool]
        calls.append((raw_messages(tool, case.request), dict(tool.input_schema)))
    result = subprocess.run(
        [sys.executable, "-c", RAW_SCRIPT],
        input=json.dumps([str(model_path), N_CTX, n_threads, MAX_TOKENS, calls]),
        capture_output=True,
        text=True,
        check=False,
        timeout=120 + 60 * len(cases),
    )
    if result.returncode != 0:
        raise RuntimeError(f"raw llama-cpp-python failed: {result.stderr[-1000:]}")
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    return [(Answer(text, int(n), float(s)), str(error)) for text, n, s, error in answers]


def raw_case(
    number: int, case: ToolCase, tool: StoredTool, answer: Answer, error: str
) -> CaseResult:
    """Case ``number``'s raw ``answer`` scored against ``tool``'s schema as it is (nothing
    repaired); ``error`` is what llama-cpp-python raised instead of answering ("" if
    nothing)."""

    def result(valid: bool, exact: bool, reason: str) -> CaseResult:
        return CaseResult(
            case=number,
            path="raw",
            server=case.server,
            expected_tool=mcp_tool_name(case.server, case.tool),
            tool=mcp_tool_name(case.server, case.tool),
            valid=valid,
            right_tool=True,
            exact=exact,
            reason=reason,
            tokens=answer.tokens,
            generating_s=answer.generating_s,
            answer=answer.text,
        )

    if error:
        return result(False, False, f"llama-cpp-python failed: {error}")
    try:
        value = json.loads(answer.text)
    except json.JSONDecodeError as exc:
        return result(False, False, f"not JSON: {exc.msg}")
    if not isinstance(value, dict):
        return result(False, False, "not a JSON object")
    problem = next(iter(validator_for(tool.input_schema).iter_errors(value)), None)
    if problem is not None:
        return result(False, False, f"not valid: {problem.message}")
    exact, reason = _arguments_reason(value, case, tool.input_schema)
    return result(True, exact, reason)


# --- the run ------------------------------------------------------------------------------


def _reason_kind(reason: str) -> str:
    return reason.split(":", 1)[0]


def summarise(results: Sequence[CaseResult]) -> PathSummary:
    """The shares and rate of one path's ``results``."""
    count = len(results)
    generated = sum(r.tokens - 1 for r in results if r.tokens > 1 and r.generating_s > 0)
    seconds = sum(r.generating_s for r in results if r.tokens > 1 and r.generating_s > 0)
    failures: dict[str, int] = {}
    for r in results:
        if r.reason:
            kind = _reason_kind(r.reason)
            failures[kind] = failures.get(kind, 0) + 1

    def share(flag: str) -> float:
        return round(sum(bool(getattr(r, flag)) for r in results) / count, 3) if count else 0.0

    return PathSummary(
        cases=count,
        valid=share("valid"),
        right_tool=share("right_tool"),
        exact_arguments=share("exact"),
        tokens_per_s=round(generated / seconds, 1) if seconds > 0 else 0.0,
        failures=dict(sorted(failures.items())),
    )


async def measure_tools(
    model_path: Path, *, models_dir: Path, n_threads: int, cases: int | None = None
) -> ToolCallBenchmark:
    """Run the benchmark described in the module docstring on the first ``cases`` cases and
    as many of the requests that need no tool (all when ``None``)."""
    schemas = load_schemas()
    chosen = load_cases()[:cases]
    requests = load_no_tool_requests()[:cases]
    project, no_tool = await _project_path(
        model_path, models_dir, chosen, requests, schemas=schemas, n_threads=n_threads
    )
    answers = await asyncio.to_thread(_raw_answers, model_path, chosen, schemas, n_threads)
    raw = [
        raw_case(number, case, schemas[case.server][case.tool], answer, error)
        for number, (case, (answer, error)) in enumerate(zip(chosen, answers, strict=True))
    ]
    return ToolCallBenchmark(
        model=model_path.name,
        n_threads=n_threads,
        cases=len(chosen),
        project=summarise(project),
        raw=summarise(raw),
        results=tuple(project + raw),
        no_tool=tuple(no_tool),
    )


def format_report(result: ToolCallBenchmark) -> str:
    """The two paths side by side, then what their failures were."""
    lines = [
        f"{result.model}, {result.n_threads} threads, {result.cases} cases",
        f"{'path':<24}{'valid':>7}{'right tool':>12}{'exact args':>12}{'tokens/s':>10}",
    ]
    for name, summary in (
        ("project (action schema)", result.project),
        ("raw llama-cpp-python", result.raw),
    ):
        lines.append(
            f"{name:<24}{summary.valid:>7.1%}{summary.right_tool:>12.1%}"
            f"{summary.exact_arguments:>12.1%}{summary.tokens_per_s:>10.1f}"
        )
    lines.append("(raw is told the tool; the project's path must also choose it)")
    if result.no_tool:
        lines.append(
            f"project finished without a tool on {result.finished_without_tool} of "
            f"{len(result.no_tool)} requests that need none"
        )
    for name, summary in (("project", result.project), ("raw", result.raw)):
        if summary.failures:
            counts = ", ".join(f"{kind} {count}" for kind, count in summary.failures.items())
            lines.append(f"{name} failures: {counts}")
    return "\n".join(lines)
