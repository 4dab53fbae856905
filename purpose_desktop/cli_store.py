"""``purpose-desktop runs | memory | teams``: what the store keeps, at the terminal.

``runs`` lists, shows, resumes, exports and imports runs, and saves one as an HTML report;
``memory`` exports and imports the teams' memory; ``teams`` saves team files in the database,
lists, exports and deletes them, and checks a team file's models against the memory budget.
Only ``runs resume`` starts the model machinery; ``teams check`` reads model files' headers
and opens no database; the others open the database alone. What the person can fix (an
unknown run, a bad file) is a :class:`~purpose_desktop.errors.UserError`:
one line, exit code 2.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.event_text import describe_event
from purpose_desktop.engine.recording.event_codec import ENVELOPE, encode_event
from purpose_desktop.engine.text import shorten
from purpose_desktop.services import exchange_text

if TYPE_CHECKING:
    from purpose_desktop.app import AppParts
    from purpose_desktop.engine.loop.run import RunOutcome
    from purpose_desktop.engine.recording.journal import StoredStatus
    from purpose_desktop.engine.recording.run_records import CostTotalRecord, RunDetail, RunSummary
    from purpose_desktop.engine.review import ReviewGate
    from purpose_desktop.engine.trajectory import Step
    from purpose_desktop.services.run_report import SavedReport
    from purpose_desktop.services.store import StoreService
    from purpose_desktop.store.opening import Store

SHORT_ID = 8
T = TypeVar("T")


def on_store(command: Callable[[StoreService], Coroutine[Any, Any, T]]) -> T:
    """What ``command`` makes of the services over the database the settings name, without
    any model machinery: the database is opened (and migrated) when the command first uses
    it, and closed after."""
    from purpose_desktop.app import store_target
    from purpose_desktop.cli_run import terminal_settings
    from purpose_desktop.config import Paths
    from purpose_desktop.services.store import StoreService
    from purpose_desktop.store.opening import open_store

    paths = Paths.from_environment()
    paths.ensure()
    target = store_target(paths, terminal_settings(paths))
    opened: list[Store] = []

    def open_once() -> Store:
        if not opened:
            store = open_store(target)
            if store.recovery_notice is not None:
                print(f"purpose-desktop: {store.recovery_notice}", file=sys.stderr)
            opened.append(store)
        return opened[0]

    try:
        return asyncio.run(command(StoreService(open_once)))
    finally:
        for store in opened:
            store.engine.dispose()


# --- runs ----------------------------------------------------------------------------


def runs_list(*, as_json: bool, status: StoredStatus | None, limit: int) -> int:
    from purpose_desktop.services.runs import RunsService

    runs = on_store(lambda store: RunsService(store).list_runs(limit=limit, status=status))
    if as_json:
        _print_json([dataclasses.asdict(run) for run in runs])
        return 0
    if not runs:
        which = f"{status} runs" if status else "runs"
        print(f"No {which} yet. Start one with: purpose-desktop run TEAM_FILE --task TASK")
        return 0
    print(
        f"{'RUN':<{SHORT_ID}}  {'STATUS':<11}  {'TEAM':<16} {'STEPS':>5} {'Φ':>4} "
        f"{'TOKENS':>7}  {'STARTED':<16}  TASK"
    )
    for run in runs:
        # Upper case: an interrupted run waits for the person, unlike the others.
        shown = "INTERRUPTED" if run.status == "interrupted" else run.status
        print(
            f"{short(run.id):<{SHORT_ID}}  {shown:<11}  {shorten(run.team, 16):<16} "
            f"{run.steps:>5} {run.phi:>4g} {run.prompt_tokens + run.completion_tokens:>7}  "
            f"{_when(run.started_at)[:16]:<16}  {shorten(run.task, 60)}"
        )
    for run in runs:
        if run.status == "interrupted":
            print(
                f"Run {short(run.id)} was interrupted; go on with:  "
                f"purpose-desktop runs resume {short(run.id)}"
            )
    return 0


def runs_show(run_id: str, *, as_json: bool, with_events: bool) -> int:
    from purpose_desktop.services.runs import RunsService

    report = on_store(lambda store: RunsService(store).report(run_id, with_events=with_events))
    detail, costs, events = report.detail, report.costs, report.events
    if as_json:
        record: dict[str, Any] = {
            "run": dataclasses.asdict(detail.summary),
            "steps": [_step_record(step) for step in detail.steps],
            "overrides": [dataclasses.asdict(o) for o in detail.overrides],
            "costs": [dataclasses.asdict(c) for c in costs],
        }
        if with_events:
            record["events"] = [encode_event(event) for event in events]
        _print_json(record)
        return 0
    print_run(detail, costs, sys.stdout)
    if with_events:
        print_events(events, sys.stdout)
    return 0


def runs_resume(run_id: str, *, as_json: bool, auto_approve: bool, events_file: Path | None) -> int:
    async def resume(
        parts: AppParts, subscribers: list[ev.Subscriber], review: ReviewGate
    ) -> RunOutcome:
        # The journal finds runs by their whole id; a person may give the start of it.
        run = (await RunsService(parts.services.store).run(run_id)).summary
        return await parts.runner.resume(run.id, subscribers, review)

    from purpose_desktop.cli_run import drive_run
    from purpose_desktop.services.runs import RunsService

    return drive_run(resume, as_json=as_json, auto_approve=auto_approve, events_file=events_file)


def runs_export(run_id: str, path: Path) -> int:
    from purpose_desktop.services.runs import RunsService

    exported = on_store(lambda store: RunsService(store).export(run_id, path))
    print(exchange_text.run_exported(exported, path))
    return 0


def runs_import(path: Path) -> int:
    from purpose_desktop.services.runs import RunsService

    run = on_store(lambda store: RunsService(store).import_file(path))
    print(
        f"{exchange_text.run_imported(run)}\n"
        f"See it with:  purpose-desktop runs show {short(run.id)}"
    )
    return 0


def runs_report(run_id: str, path: Path) -> int:
    from purpose_desktop.config import Paths
    from purpose_desktop.services.costs import CostsService
    from purpose_desktop.services.run_report import RunReportService

    prices = Paths.from_environment().prices_file

    def report(store: StoreService) -> Coroutine[Any, Any, SavedReport]:
        return RunReportService(store, CostsService(store, prices)).save(run_id, path)

    saved = on_store(report)
    print(exchange_text.report_saved(saved))
    return 0


def print_run(detail: RunDetail, costs: Sequence[CostTotalRecord], out: TextIO) -> None:
    """A run as ``runs show`` prints it: what it was, its steps, overrides and totals."""
    run = detail.summary
    _print_header(run, out)
    if detail.steps:
        print("\nSteps:", file=out)
    for step in detail.steps:
        _print_step(step, out)
    if detail.overrides:
        print("\nScore overrides:", file=out)
    for override in detail.overrides:
        print(
            f"  step {override.step}, {override.agent}: Φ {override.phi:g} (the critic said "
            f"{override.critic_phi:g})" + (f": {override.reason}" if override.reason else ""),
            file=out,
        )
    print(
        f"\nTotals: {run.steps} step(s), Φ {run.phi:g}, {run.prompt_tokens} tokens in, "
        f"{run.completion_tokens} out, {run.seconds:.1f} s"
        + (f", cost {run.cost:.4f}" if run.cost else "")
        + f", {run.events} events",
        file=out,
    )
    for cost in costs:
        print(
            f"  {cost.key}: {cost.calls} call(s), {cost.prompt_tokens} tokens in, "
            f"{cost.completion_tokens} out, {cost.seconds:.1f} s of generation"
            + (f", cost {cost.cost:.4f}" if cost.cost else ""),
            file=out,
        )


def _print_header(run: RunSummary, out: TextIO) -> None:
    finished = "" if run.finished_at is None else f", finished {_when(run.finished_at)}"
    lines = [
        f"Run {run.id}: {run.status}",
        f"  team {run.team}" + (f", agent {run.agent}" if run.agent else ""),
        f"  task: {run.task}",
        f"  started {_when(run.started_at)}{finished}",
    ]
    if run.parent_run_id is not None:
        lines.append(
            f"  forked from run {short(run.parent_run_id)} after step {run.forked_from_step}"
        )
    if run.status == "interrupted":
        lines.append(f"  go on with:  purpose-desktop runs resume {short(run.id)}")
    if run.answer:
        lines.append(f"  answer: {run.answer.strip()}")
    if run.error:
        lines.append(f"  error: {run.error}")
    print("\n".join(lines), file=out)


def _print_step(step: Step, out: TextIO) -> None:
    arguments = json.dumps(dict(step.action.arguments), ensure_ascii=False)
    mark = "→" if step.observation.ok else "failed:"
    print(
        f"  {step.index}. {step.agent}: {step.action.tool} {shorten(arguments, 300)}\n"
        f"     {mark} {shorten(step.observation.text, 300)}\n"
        f"     Φ {step.phi_before:g} → {step.phi_after:g}"
        + (f": {shorten(step.evidence, 200)}" if step.evidence else ""),
        file=out,
    )


def print_events(events: Sequence[ev.Event], out: TextIO) -> None:
    """Every event on a line of its own, numbered; a stretch of an agent's streamed tokens, or
    of its reasoning, on one."""
    print("\nEvents:", file=out)
    for (streamed, agent), group in groupby(events, key=_stream_of):
        batch = list(group)
        if streamed:
            seqs = f"{batch[0].seq}-{batch[-1].seq}"
            written = "".join(
                e.text for e in batch if isinstance(e, ev.TokenStreamed | ev.ThinkingStreamed)
            )
            print(f"{seqs:>9}  {agent} {streamed}: {shorten(written, 200)}", file=out)
            continue
        for event in batch:
            print(f"{event.seq:>9}  {describe_event(event) or _fields(event)}", file=out)


def _stream_of(event: ev.Event) -> tuple[str, str]:
    """What a stretch of streamed text is ("wrote" for tokens, "thought" for reasoning; ""
    for any other event) and whose."""
    if isinstance(event, ev.TokenStreamed):
        return "wrote", event.agent
    if isinstance(event, ev.ThinkingStreamed):
        return "thought", event.agent
    return "", ""


def _fields(event: ev.Event) -> str:
    record = encode_event(event)
    kind = record.pop("type")
    for name in ENVELOPE:
        record.pop(name)
    return f"{kind} {shorten(json.dumps(record, ensure_ascii=False), 160)}"


def _step_record(step: Step) -> dict[str, Any]:
    return {
        "index": step.index,
        "agent": step.agent,
        "tool": step.action.tool,
        "arguments": dict(step.action.arguments),
        "thought": step.action.thought,
        "observation": step.observation.text,
        "ok": step.observation.ok,
        "phi_before": step.phi_before,
        "phi_after": step.phi_after,
        "evidence": step.evidence,
        "reward": step.reward,
    }


# --- memory --------------------------------------------------------------------------


def memory_export(path: Path, team: str | None) -> int:
    from purpose_desktop.services.memory_files import MemoryFilesService

    counts = on_store(lambda store: MemoryFilesService(store).export(path, team))
    print(exchange_text.memory_exported(counts, path, team))
    return 0


def memory_import(path: Path) -> int:
    from purpose_desktop.services.memory_files import MemoryFilesService

    done = on_store(lambda store: MemoryFilesService(store).import_file(path))
    print(exchange_text.memory_imported(done, path))
    return 0


# --- teams ---------------------------------------------------------------------------


def teams_save(team_file: Path) -> int:
    from purpose_desktop.services.teams import TeamsService

    saved = on_store(lambda store: TeamsService(store).save(team_file))
    print(exchange_text.team_saved(saved, team_file))
    return 0


def teams_list(*, as_json: bool, limit: int) -> int:
    from purpose_desktop.services.teams import TeamsService

    teams = on_store(lambda store: TeamsService(store).list_teams(limit=limit))
    if as_json:
        _print_json([dataclasses.asdict(team) for team in teams])
        return 0
    if not teams:
        print("No teams are saved. Save one with: purpose-desktop teams save TEAM_FILE")
    for team in teams:
        agents = ", ".join(f"{agent.name} ({agent.model})" for agent in team.agents)
        print(
            f"{team.name}: {agents}  saved {_when(team.updated_at)[:16]}"
            + (f"\n  {shorten(team.description, 100)}" if team.description else "")
        )
    return 0


def teams_export(name: str, path: Path) -> int:
    from purpose_desktop.services.teams import TeamsService

    on_store(lambda store: TeamsService(store).export(name, path))
    print(exchange_text.team_exported(name, path))
    return 0


def teams_delete(name: str) -> int:
    from purpose_desktop.services.teams import TeamsService

    on_store(lambda store: TeamsService(store).delete(name))
    print(f"Deleted team {name}.")
    return 0


def teams_check(team_file: Path, *, as_json: bool) -> int:
    """Whether the team's local models fit the memory budget for models together: 0 when
    they do, 1 when they do not (or one cannot be measured)."""
    from purpose_desktop.cli_run import terminal_settings
    from purpose_desktop.config import Paths
    from purpose_desktop.services.teams import check_team_file

    paths = Paths.from_environment()
    paths.ensure()
    settings = terminal_settings(paths)
    fit = asyncio.run(
        check_team_file(
            team_file,
            paths.models_dir,
            context_size=settings.context_size,
            memory_mib=settings.model_memory_mib,
        )
    )
    if as_json:
        _print_json(dataclasses.asdict(fit))
    else:
        print("\n".join(fit.lines))
    return 0 if fit.fits else 1


# --- helpers -------------------------------------------------------------------------


def short(run_id: str) -> str:
    """The first characters of a run's id: enough to name it in commands."""
    return run_id[:SHORT_ID]


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))
