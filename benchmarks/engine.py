"""The agent engine's own cost per step, and how often SmolLM2-135M's actions parse first time.

    python benchmarks/engine.py [--steps 50] [--tasks 6] [--json]

Overhead: a one-agent team on an instant scripted model (its replies take microseconds) runs
``--steps`` calculator steps against a real SQLite memory that already holds a few hundred
heuristics and experiences, so every step retrieves memory, chooses tools, builds and fits the
prompt, parses, reviews, runs the tool, scores and emits events. The time per step is the
engine's overhead: there is no model time to exclude. Target: under 5 ms per step.

First-try parsing: the arithmetic sample team on the bundled SmolLM2-135M takes ``--tasks``
tasks; every action is generated under the llama.cpp grammar and the share that parsed as JSON
on the first attempt is printed. Target: 100 %.

Memory retrieval at 10 000 and 100 000 experiences is measured by ``memory_retrieval.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from purpose_desktop.config import example_team_file
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.learning.memory import Experience, Heuristic, Tier
from purpose_desktop.engine.loop.run import TeamRunner
from purpose_desktop.engine.specs import LoadedTeam
from purpose_desktop.engine.team_file import load_team, parse_team
from purpose_desktop.models.messages import ChatMessage, GenerationOptions
from purpose_desktop.models.pool import LocalModelPool
from purpose_desktop.models.router import ModelRouter
from purpose_desktop.models.scripted import FunctionModel, ScriptedProvider
from purpose_desktop.store.database import open_database
from purpose_desktop.store.memory_store import DatabaseMemoryStore
from purpose_desktop.store.migrations import migrate

REPO = Path(__file__).resolve().parent.parent
OVERHEAD_TARGET_MS = 5.0
TASKS = (
    "What is 17 * 23?",
    "Multiply 12 by 8.",
    "What is 345 + 678?",
    "Add 19 and 24.",
    "What is 1024 / 16?",
    "Calculate 7 times 6.",
    "What is 99 - 45?",
    "What is 13 * 13?",
)


def memory(folder: Path) -> DatabaseMemoryStore:
    engine = open_database(folder / "memory.sqlite3")
    migrate(engine)
    return DatabaseMemoryStore(engine)


async def fill(store: DatabaseMemoryStore, team: str, count: int) -> None:
    for index in range(count):
        await store.add_heuristic(
            Heuristic(
                team,
                Tier.TOOL,
                f"What is {index} * {index + 1}?",
                f'{{"tool": "calculator", "expression": "{index}*{index + 1}"}} worked',
            )
        )
    await store.add_experiences(
        Experience(
            team,
            f"What is {i} plus {i * 3}?",
            "calculator → finish",
            "completed",
            7.0,
            2,
            f"run-{i}",
        )
        for i in range(count)
    )


def overhead(steps: int) -> dict[str, Any]:
    overhead_run(3)  # warm-up: first use compiles schemas and grammars, imports modules
    return overhead_run(steps)


def overhead_run(steps: int) -> dict[str, Any]:
    counter = itertools.count(1)

    def reply(messages: Sequence[ChatMessage], options: GenerationOptions) -> str:
        schema = options.json_schema or {}
        if "score" in schema.get("properties", {}):
            return '{"score": 4, "evidence": "observed"}'
        return json.dumps(
            {"tool": "calculator", "expression": f"{next(counter)}*3", "thought": "keep going"}
        )

    text = (
        "name: Bench\nagents:\n  - name: solver\n    role: Work it out.\n    model: m\n"
        f"    tools: [calculator, note, read_file]\n    review: never\n"
        f"    max_steps: {steps}\n"
    )
    team = LoadedTeam(spec=parse_team(text, Path("bench.yaml")), source=REPO / "bench.yaml")
    with tempfile.TemporaryDirectory() as folder:
        store = memory(Path(folder))
        asyncio.run(fill(store, "Bench", 300))
        runner = TeamRunner(
            ScriptedProvider({"m": FunctionModel(reply)}), store, workspaces_dir=Path(folder) / "ws"
        )
        seen: list[ev.Event] = []
        started = time.perf_counter()
        outcome = asyncio.run(
            runner.run(team, "What is 3 times the next number?", [seen.append], learn=False)
        )
        seconds = time.perf_counter() - started
    per_step = seconds / len(outcome.steps) * 1000
    return {
        "steps": len(outcome.steps),
        "events": len(seen),
        "seconds": round(seconds, 3),
        "ms_per_step": round(per_step, 3),
        "target_ms": OVERHEAD_TARGET_MS,
        "meets_target": per_step < OVERHEAD_TARGET_MS,
    }


def first_try_parsing(tasks: int) -> dict[str, Any]:
    team = load_team(example_team_file().with_name("arithmetic.yaml"))
    proposed: list[ev.ActionProposed] = []

    def keep(event: ev.Event) -> None:
        if isinstance(event, ev.ActionProposed):
            proposed.append(event)

    async def scenario(folder: Path) -> list[str]:
        pool = LocalModelPool(folder, n_ctx=2048, n_threads=2)
        router = ModelRouter(pool, folder, n_ctx=2048)
        runner = TeamRunner(router, memory(folder), workspaces_dir=folder / "ws")
        try:
            return [(await runner.run(team, task, [keep])).status for task in TASKS[:tasks]]
        finally:
            await router.aclose()

    with tempfile.TemporaryDirectory() as folder:
        statuses = asyncio.run(scenario(Path(folder)))
    first = sum(1 for e in proposed if e.attempts == 1 and e.parse_method == "json")
    return {
        "tasks": len(statuses),
        "completed": statuses.count("completed"),
        "actions": len(proposed),
        "parsed_first_try": first,
        "share": round(first / len(proposed), 3) if proposed else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=6)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {"overhead": overhead(args.steps), "parsing": first_try_parsing(args.tasks)}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    o, p = result["overhead"], result["parsing"]
    print(
        f"Engine overhead: {o['ms_per_step']} ms per step over {o['steps']} steps "
        f"({o['events']} events; target < {OVERHEAD_TARGET_MS} ms)"
    )
    print(
        f"First-try parsing with SmolLM2-135M: {p['parsed_first_try']}/{p['actions']} "
        f"actions ({(p['share'] or 0) * 100:.0f} %), {p['completed']}/{p['tasks']} tasks "
        "completed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
