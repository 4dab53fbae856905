"""``purpose-desktop run``: a team's full loop at the terminal.

Tokens stream to stdout, progress lines to stderr, and a model's reasoning (written apart from
its answer) to stderr too, dimmed on a terminal, as ``ollama run`` shows it. Without
``--auto-approve`` the review gate asks at the terminal (reading input off the event loop, so
models keep streaming meanwhile).
``--events FILE.jsonl`` writes every event as one JSON line.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from purpose_desktop.config import Paths, Settings, load_settings
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.dispatch import EventDispatcher
from purpose_desktop.engine.event_text import describe_event
from purpose_desktop.engine.loop.run import RunOutcome
from purpose_desktop.engine.review import (
    ActionDecision,
    ActionReviewRequest,
    AutoApprove,
    ReviewGate,
    ScoreDecision,
    ScoreReviewRequest,
    checked_override,
    server_of,
)
from purpose_desktop.engine.trajectory import Action
from purpose_desktop.errors import UserError
from purpose_desktop.limits import LimitError, check_task
from purpose_desktop.safe_load import load_json

if TYPE_CHECKING:
    from purpose_desktop.app import AppParts


Start = Callable[["AppParts", list[ev.Subscriber], ReviewGate], Awaitable[RunOutcome]]


def run_command(
    team_file: Path, task: str, *, as_json: bool, auto_approve: bool, events_file: Path | None
) -> int:
    from purpose_desktop.engine.team_file import load_team

    check_task(task)  # before anything is opened or started
    team = load_team(team_file)

    async def start(
        services: AppParts, subscribers: list[ev.Subscriber], review: ReviewGate
    ) -> RunOutcome:
        return await services.runner.run(team, task, subscribers, review)

    return drive_run(start, as_json=as_json, auto_approve=auto_approve, events_file=events_file)


def drive_run(
    start: Start, *, as_json: bool, auto_approve: bool, events_file: Path | None = None
) -> int:
    """Build the services, run what ``start`` starts with them and show it at the terminal:
    the stream, terminal review unless ``auto_approve``, the summary (as JSON with
    ``as_json``), every event to ``events_file``. Exit code 0 when the run completed and was
    saved, 1 otherwise."""
    from purpose_desktop.app import build_app_parts

    writer = EventFileWriter.open(events_file) if events_file is not None else None
    services = build_app_parts()
    print_problems(services.settings_problems)
    printer = RunPrinter(sys.stdout, sys.stderr, quiet=as_json)
    subscribers: list[ev.Subscriber] = [printer]
    if writer is not None:
        subscribers.append(writer)
    review: ReviewGate = AutoApprove() if auto_approve else TerminalReview(sys.stdin, sys.stderr)

    async def go() -> int:
        try:
            outcome = await start(services, subscribers, review)
        finally:
            await services.aclose()
            if writer is not None:
                writer.close()
        if as_json:
            print(json.dumps(summary(outcome), indent=2, ensure_ascii=False))
        else:
            print_summary(outcome, sys.stderr)
        if outcome.record_error is not None and outcome.record_error not in printer.reported:
            print(f"error: {outcome.record_error}", file=sys.stderr)
        # A run that is not saved is not done: a script must not go on as if it were kept.
        return 0 if outcome.status == "completed" and outcome.record_error is None else 1

    return asyncio.run(go())


def print_problems(problems: Iterable[str]) -> None:
    """Say at the terminal what was wrong in the settings, one warning a line."""
    for problem in problems:
        print(f"purpose-desktop: warning: {problem}", file=sys.stderr)


def terminal_settings(paths: Paths) -> Settings:
    """The settings, with what was wrong in them said at the terminal."""
    problems: list[str] = []
    settings = load_settings(paths, problems)
    print_problems(problems)
    return settings


def event_record(event: ev.Event) -> dict[str, Any]:
    """An event as a JSON-ready dict, its type under ``"type"``."""
    return {"type": type(event).__name__, **dataclasses.asdict(event)}


class EventFileWriter:
    """Writes each event as a JSON line, flushed, so a killed run keeps what happened."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    @classmethod
    def open(cls, path: Path) -> EventFileWriter:
        try:
            return cls(path.open("w", encoding="utf-8"))
        except OSError as exc:
            raise UserError(f"Cannot write the events file {path}: {exc.strerror}") from None

    def __call__(self, event: ev.Event) -> None:
        self._stream.write(json.dumps(event_record(event), ensure_ascii=False) + "\n")
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()


def summary(outcome: RunOutcome) -> dict[str, Any]:
    costs = outcome.costs
    return {
        "run_id": outcome.run_id,
        "status": outcome.status,
        "agent": outcome.agent,
        "answer": outcome.answer,
        "error": outcome.error,
        "steps": [
            {
                "index": s.index,
                "agent": s.agent,
                "tool": s.action.tool,
                "arguments": dict(s.action.arguments),
                "observation": s.observation.text,
                "phi_before": s.phi_before,
                "phi_after": s.phi_after,
                "reward": s.reward,
            }
            for s in outcome.steps
        ],
        "phi_curve": list(outcome.phi_curve),
        "tokens": {
            "prompt": costs.total.prompt_tokens,
            "completion": costs.total.completion_tokens,
        },
        "seconds": costs.total.seconds,
        "calls": costs.total.calls,
        "cost": costs.total.cost,
        "by_agent": {name: dataclasses.asdict(t) for name, t in costs.by_agent.items()},
        "by_model": {name: dataclasses.asdict(t) for name, t in costs.by_model.items()},
    }


def print_summary(outcome: RunOutcome, out: TextIO) -> None:
    total = outcome.costs.total
    curve = " → ".join(f"{phi:g}" for phi in outcome.phi_curve)
    print(
        f"\nRun {outcome.status} after {len(outcome.steps)} step(s); Φ {curve}\n"
        f"Tokens: {total.prompt_tokens} in, {total.completion_tokens} out in {total.calls} "
        f"calls, {total.seconds:.1f} s of generation ({total.tokens_per_second:.0f} tokens/s)"
        + (f", cost {total.cost:.4f}" if total.cost else ""),
        file=out,
        flush=True,
    )


DIM = "\x1b[2m"
PLAIN = "\x1b[0m"


def _is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal, which shows DIM text dimmed (a file would keep the
    escape codes)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real file
        return False


class RunPrinter:
    """Prints a run's events as they happen: tokens to stdout, progress to stderr, reasoning
    to stderr under a line naming the agent (dimmed when stderr is a terminal), so stdout
    holds only what the agents answered."""

    def __init__(self, out: TextIO, err: TextIO, *, quiet: bool) -> None:
        self._out = out
        self._err = err
        self._quiet = quiet
        self._streaming = False
        self._thinking: str | None = None  # while reasoning is printed: its last piece
        self._dim = _is_terminal(err)
        self.reported: set[str] = set()
        """The error messages printed so far."""
        self._events = EventDispatcher()
        self._events.on(ev.ErrorRaised, self._error)
        if not quiet:
            self._events.on(ev.TokenStreamed, self._token)
            self._events.on(ev.ThinkingStreamed, self._thought)
            self._events.on(ev.RunStarted, lambda _: self._end_stream())
            self._events.on(ev.RunFinished, self._finished)

    def __call__(self, event: ev.Event) -> None:
        if self._thinking is not None and not isinstance(event, ev.ThinkingStreamed):
            self._end_thinking()
        if not self._events.dispatch(event) and not self._quiet:
            self._progress(event)

    def _error(self, event: ev.ErrorRaised) -> None:
        print(f"error: {event.message}", file=self._err, flush=True)
        self.reported.add(event.message)

    def _token(self, event: ev.TokenStreamed) -> None:
        self._out.write(event.text)
        self._out.flush()
        self._streaming = True

    def _thought(self, event: ev.ThinkingStreamed) -> None:
        if self._thinking is None:
            self._end_stream()
            self._err.write(f"{DIM if self._dim else ''}[{event.agent} is thinking]\n")
            self._thinking = ""
        self._err.write(event.text)
        self._err.flush()
        self._thinking = event.text or self._thinking

    def _end_thinking(self) -> None:
        ending = "" if not self._thinking or self._thinking.endswith("\n") else "\n"
        self._err.write(ending + (PLAIN if self._dim else ""))
        self._err.flush()
        self._thinking = None

    def _end_stream(self) -> None:
        if self._streaming:
            self._out.write("\n")
            self._streaming = False

    def _finished(self, event: ev.RunFinished) -> None:
        self._end_stream()
        if event.answer:
            print(f"\nAnswer:\n{event.answer.strip()}", file=self._out, flush=True)
        self._print_line(event)

    def _progress(self, event: ev.Event) -> None:
        self._end_stream()
        self._print_line(event)

    def _print_line(self, event: ev.Event) -> None:
        line = describe_event(event)
        if line is not None:
            print(f"[{line}]", file=self._err, flush=True)


Ask = Callable[[str], str]


class TerminalReview:
    """Asks at the terminal. Input is read on a thread so the run's other work goes on."""

    def __init__(self, stdin: TextIO, err: TextIO) -> None:
        self._stdin = stdin
        self._err = err
        self._lock = asyncio.Lock()  # one question at a time

    async def _ask(self, prompt: str) -> str:
        async with self._lock:
            print(prompt, end="", file=self._err, flush=True)
            line = await asyncio.to_thread(self._stdin.readline)
            if not line:
                raise UserError(
                    "The terminal closed while a review was pending; run with "
                    "--auto-approve to run without asking."
                )
            return line.strip()

    async def review_action(self, request: ActionReviewRequest) -> ActionDecision:
        action = request.action
        print(
            f"\n{request.agent} proposes step {request.step}: {action.tool} "
            f"{json.dumps(dict(action.arguments), ensure_ascii=False)}\n"
            f"  thought: {action.thought}",
            file=self._err,
            flush=True,
        )
        # Approvals kept for the team: of the tool, and of its MCP server's every tool.
        keep = ", always allow for the [t]eam" if request.tool and request.team else ""
        server = server_of(request.tool.name) if keep and request.tool else None
        keep += f", allow the [s]erver {server} for the team" if server else ""
        while True:
            answer = (
                await self._ask(f"[a]pprove, [e]dit, [r]eject, al[w]ays allow this tool{keep}? ")
            ).lower()
            if answer in ("", "a", "approve", "y", "yes"):
                return ActionDecision("approve")
            if answer in ("w", "always"):
                return ActionDecision("approve", always_allow=True)
            if keep and answer in ("t", "team"):
                return ActionDecision("approve", always_allow=True, remember="tool")
            if server and answer in ("s", "server"):
                return ActionDecision("approve", always_allow=True, remember="server")
            if answer in ("r", "reject", "n", "no"):
                reason = await self._ask("Reason: ")
                return ActionDecision("reject", reason=reason)
            if answer in ("e", "edit"):
                edited = await self._edit(action)
                if edited is not None:
                    return ActionDecision("edit", action=edited)

    async def _edit(self, action: Action) -> Action | None:
        text = await self._ask("Arguments as JSON: ")
        try:
            arguments = load_json(text)
        except json.JSONDecodeError as exc:
            print(f"Not JSON ({exc.msg}); try again.", file=self._err)
            return None
        except LimitError as exc:
            print(f"Not taken: {exc}; try again.", file=self._err)
            return None
        if not isinstance(arguments, dict):
            print('Give an object, like {"expression": "2+2"}.', file=self._err)
            return None
        return Action(action.tool, arguments, action.thought)

    async def review_score(self, request: ScoreReviewRequest) -> ScoreDecision:
        print(
            f"\nThe critic scores step {request.step}: Φ {request.phi_before:g} → "
            f"{request.phi:g} ({request.evidence})",
            file=self._err,
            flush=True,
        )
        while True:
            answer = await self._ask("Enter to keep, or a score 0-10 to override: ")
            if not answer:
                return ScoreDecision()
            try:
                phi = checked_override(float(answer))
            except ValueError as exc:
                print(exc, file=self._err)
                continue
            reason = await self._ask("Reason (optional): ")
            return ScoreDecision(phi, reason)
