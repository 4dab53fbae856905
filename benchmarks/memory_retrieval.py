"""How fast a team's memory answers as it grows: the latency of ``find_experiences`` and
``find_heuristics`` on a SQLite store with 10 000 and then 100 000 experiences.

    python benchmarks/memory_retrieval.py [--sizes 10000 100000] [--queries 200] [--json]

A temporary database is filled with experiences written from seeded word lists (tasks,
summaries, file names, made-up identifiers; a few teams), and with a tenth as many heuristics.
Each size then answers the same varied queries, one at a time, the way the engine calls the
store: from the event loop, through a worker thread. Reports the median, 95th percentile and
maximum per call.

Target: p95 under 20 ms with 100 000 experiences.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Literal

from purpose_desktop.engine.learning.memory import Experience, Heuristic, Tier
from purpose_desktop.store.database import open_database
from purpose_desktop.store.memory_store import DatabaseMemoryStore
from purpose_desktop.store.migrations import migrate

P95_TARGET_MS = 20.0
TEAMS = ("research", "coding", "support", "writing", "data")
HEURISTICS_PER_EXPERIENCE = 0.1
BATCH = 5_000

VERBS = [
    "write",
    "fix",
    "refactor",
    "summarise",
    "translate",
    "parse",
    "test",
    "deploy",
    "review",
    "debug",
    "profile",
    "document",
    "migrate",
    "rename",
    "extract",
    "merge",
    "split",
    "validate",
    "clean",
    "plot",
    "compare",
    "classify",
    "search",
    "download",
    "upload",
    "compress",
    "convert",
    "schedule",
    "draft",
    "answer",
    "explain",
    "outline",
    "optimise",
    "benchmark",
    "index",
    "tag",
    "sort",
    "filter",
    "count",
    "estimate",
    "forecast",
    "audit",
    "monitor",
    "archive",
    "restore",
    "email",
    "invoice",
    "reconcile",
    "label",
    "annotate",
    "cite",
]
OBJECTS = [
    "function",
    "module",
    "test",
    "report",
    "invoice",
    "email",
    "dataset",
    "chart",
    "table",
    "query",
    "endpoint",
    "script",
    "notebook",
    "pipeline",
    "config",
    "schema",
    "migration",
    "spreadsheet",
    "paragraph",
    "article",
    "summary",
    "abstract",
    "contract",
    "ticket",
    "issue",
    "commit",
    "branch",
    "release",
    "changelog",
    "readme",
    "tutorial",
    "slide",
    "presentation",
    "survey",
    "interview",
    "transcript",
    "recipe",
    "budget",
    "forecast",
    "timeline",
    "roadmap",
    "playlist",
    "inventory",
    "catalogue",
    "log",
    "dashboard",
    "metric",
    "alert",
    "backup",
    "image",
    "thumbnail",
    "caption",
    "subtitle",
    "glossary",
    "bibliography",
    "citation",
]
QUALIFIERS = [
    "python",
    "rust",
    "javascript",
    "typescript",
    "sql",
    "csv",
    "json",
    "yaml",
    "markdown",
    "html",
    "latex",
    "pdf",
    "excel",
    "german",
    "french",
    "spanish",
    "japanese",
    "legal",
    "medical",
    "financial",
    "quarterly",
    "monthly",
    "weekly",
    "customer",
    "internal",
    "public",
    "legacy",
    "broken",
    "slow",
    "flaky",
    "large",
    "small",
    "nested",
    "duplicate",
    "missing",
    "unicode",
    "encrypted",
    "compressed",
    "remote",
    "local",
    "async",
    "concurrent",
    "unit",
    "integration",
    "regression",
    "nightly",
    "draft",
    "final",
]
TOOLS = [
    "read_file",
    "write_file",
    "web_search",
    "run_python",
    "shell",
    "fetch_url",
    "list_dir",
    "grep",
    "calculator",
    "sql_query",
    "send_email",
    "calendar",
    "translate_text",
    "ocr",
    "http_get",
    "git_diff",
]
FINDINGS = [
    "timeout",
    "encoding",
    "error",
    "off-by-one",
    "header",
    "missing",
    "null",
    "value",
    "wrong",
    "delimiter",
    "rate",
    "limit",
    "permission",
    "denied",
    "stale",
    "cache",
    "bad",
    "date",
    "format",
    "empty",
    "result",
    "truncated",
    "output",
    "wrong",
    "column",
    "duplicate",
    "row",
    "memory",
    "limit",
    "slow",
    "query",
    "ambiguous",
    "question",
    "unclear",
    "request",
    "conflicting",
    "sources",
]
OUTCOMES: list[Literal["completed", "failed", "cancelled"]] = ["completed", "failed", "cancelled"]
CONNECTORS = ["for", "in", "from", "with", "into", "about", "using", "before", "after"]
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "sa",
    "ti",
    "vo",
    "be",
    "da",
    "fe",
    "gu",
    "hi",
    "jo",
    "ku",
    "la",
    "ma",
    "no",
    "pe",
    "qui",
    "re",
    "so",
    "tu",
    "ve",
    "xa",
    "yo",
    "zu",
]


class Writer:
    """Plausible agent memory text, skewed like real text: a few words are common, most rare."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        # A long tail of project-specific names: people, products, files.
        self.names = [self._name() for _ in range(3000)]
        weights = [1 / (rank + 1) ** 0.9 for rank in range(len(self.names))]
        self.cumulative = list(itertools.accumulate(weights))

    def _name(self) -> str:
        return "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 4)))

    def _pick(self, words: list[str]) -> str:
        # Zipf-like: earlier words in each list are more common.
        index = min(int(self.rng.paretovariate(1.2)) - 1, len(words) - 1)
        return words[(index + self.rng.randrange(3)) % len(words)]

    def name(self) -> str:
        return self.rng.choices(self.names, cum_weights=self.cumulative)[0]

    def file(self) -> str:
        ext = self.rng.choice(["csv", "json", "py", "md", "pdf", "xlsx", "txt", "yaml"])
        return f"{self.name()}_{self.rng.randint(1, 2025)}.{ext}"

    def task(self) -> str:
        parts = [
            self._pick(VERBS).capitalize(),
            "the",
            self._pick(QUALIFIERS),
            self._pick(OBJECTS),
            self.rng.choice(CONNECTORS),
            self.rng.choice([self.file(), self.name(), self._pick(OBJECTS)]),
        ]
        if self.rng.random() < 0.6:
            parts += ["and", self._pick(VERBS), "the", self._pick(OBJECTS)]
        if self.rng.random() < 0.3:
            parts += ["for", self.name().capitalize()]
        return " ".join(parts) + self.rng.choice([".", "", "?", "!"])

    def summary(self) -> str:
        sentences = []
        for _ in range(self.rng.randint(2, 5)):
            sentences.append(
                f"Used {self.rng.choice(TOOLS)} to {self._pick(VERBS)} the "
                f"{self._pick(QUALIFIERS)} {self._pick(OBJECTS)}; hit a "
                f"{self.rng.choice(FINDINGS)} {self.rng.choice(FINDINGS)} and "
                f"{self.rng.choice(['fixed it', 'retried', 'gave up', 'asked the user'])} "
                f"(step {self.rng.randint(1, 40)}, {self.file()})."
            )
        return " ".join(sentences)

    def experience(self, index: int) -> Experience:
        return Experience(
            team=self.rng.choice(TEAMS),
            task=self.task(),
            summary=self.summary(),
            outcome=self.rng.choices(OUTCOMES, [6, 3, 1])[0],
            final_phi=round(self.rng.random(), 3),
            steps=self.rng.randint(1, 60),
            run_id=f"run-{index:07d}",
            q_value=round(self.rng.random(), 4),
        )

    def heuristic(self, index: int) -> Heuristic:
        return Heuristic(
            team=self.rng.choice(TEAMS),
            tier=self.rng.choice(list(Tier)),
            pattern=f"When asked to {self._pick(VERBS)} a {self._pick(QUALIFIERS)} "
            f"{self._pick(OBJECTS)} {self.rng.choice(CONNECTORS)} {self._pick(OBJECTS)}",
            strategy=f"Call {self.rng.choice(TOOLS)} first, check for a "
            f"{self.rng.choice(FINDINGS)}, then {self._pick(VERBS)} the {self._pick(OBJECTS)} "
            f"(seen in {self.name()}, #{index})",
            q_value=round(self.rng.random(), 4),
            uses=self.rng.randint(0, 30),
            pinned=self.rng.random() < 0.01,
        )

    def query(self) -> str:
        """What the engine searches with: a new task, sometimes with noise around it."""
        text = self.task()
        roll = self.rng.random()
        if roll < 0.15:
            text = f'{text} "{self.name()}" OR NOT ({self._pick(VERBS)}* AND -x): {self.file()}'
        elif roll < 0.3:
            text = f"{text} Context: {self.summary()}"
        elif roll < 0.35:
            text = self.name()
        return text


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    p95_index = max(0, round(0.95 * len(ordered)) - 1)
    return {
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[p95_index],
        "max_ms": ordered[-1],
    }


async def timed(calls: list[Callable[[], Awaitable[object]]], warmup: int = 5) -> dict[str, float]:
    for call in calls[:warmup]:
        await call()
    samples = []
    for call in calls:
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


async def fill(store: DatabaseMemoryStore, writer: Writer, start: int, stop: int) -> float:
    began = time.perf_counter()
    for first in range(start, stop, BATCH):
        last = min(first + BATCH, stop)
        await store.add_experiences(writer.experience(i) for i in range(first, last))
    heuristics_from = int(start * HEURISTICS_PER_EXPERIENCE)
    for i in range(heuristics_from, int(stop * HEURISTICS_PER_EXPERIENCE)):
        await store.add_heuristic(writer.heuristic(i))
    return time.perf_counter() - began


async def run(sizes: list[int], queries: int, seed: int, folder: Path) -> list[dict[str, object]]:
    engine = open_database(folder / "memory.sqlite3")
    migrate(engine)
    store = DatabaseMemoryStore(engine)
    writer = Writer(random.Random(seed))
    query_rng = random.Random(seed + 1)
    query_writer = Writer(random.Random(seed + 2))
    asked = [(query_rng.choice(TEAMS), query_writer.query()) for _ in range(queries)]
    results: list[dict[str, object]] = []
    filled = 0
    for size in sorted(sizes):
        fill_seconds = await fill(store, writer, filled, size)
        filled = size
        experiences = await timed(
            [partial(store.find_experiences, team, query, limit=3) for team, query in asked]
        )
        heuristics = await timed(
            [partial(store.find_heuristics, team, query, limit=5) for team, query in asked]
        )
        database = folder / "memory.sqlite3"
        result: dict[str, object] = {
            "experiences": size,
            "heuristics": int(size * HEURISTICS_PER_EXPERIENCE),
            "fill_s": round(fill_seconds, 2),
            "database_mib": round(database.stat().st_size / 2**20, 1),
            "find_experiences": {k: round(v, 3) for k, v in experiences.items()},
            "find_heuristics": {k: round(v, 3) for k, v in heuristics.items()},
        }
        results.append(result)
        print(f"  filled {size} experiences in {fill_seconds:.1f} s", file=sys.stderr)
    engine.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = asyncio.run(run(args.sizes, args.queries, args.seed, Path(folder)))
    largest = results[-1]
    worst_p95 = max(
        float(largest[kind]["p95_ms"])  # type: ignore[index]
        for kind in ("find_experiences", "find_heuristics")
    )
    summary = {
        "queries": args.queries,
        "sizes": results,
        "target": {"p95_ms_max": P95_TARGET_MS, "at_experiences": largest["experiences"]},
        "meets_target": worst_p95 < P95_TARGET_MS,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for result in results:
            print(
                f"{result['experiences']} experiences, {result['heuristics']} heuristics "
                f"({result['database_mib']} MiB):"
            )
            for kind in ("find_experiences", "find_heuristics"):
                figures = result[kind]
                assert isinstance(figures, dict)
                print(
                    f"  {kind}: p50 {figures['p50_ms']:.2f} ms, p95 {figures['p95_ms']:.2f} ms, "
                    f"max {figures['max_ms']:.2f} ms"
                )
        print(
            f"p95 at {largest['experiences']}: {worst_p95:.2f} ms (target < {P95_TARGET_MS:.0f} ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
