"""How fast the run journal records events, and what recording costs a run's stream.

    python benchmarks/store_write.py [--events 200000] [--checkpoint-every 500] [--json]

1. Sustained write rate: one run's worth of token events (with a checkpoint every
   ``--checkpoint-every`` events, as a run writes one per step) handed to the journal as fast
   as the engine can emit them; the rate is events over the time until the last is committed.
   Target: at least 20 000 events/s.
2. What recording costs the stream: the same events emitted through an ``EventStream`` to a
   subscriber, with the journal as its sink and without; the ratio of the two times on the
   event loop (recording is a queue put there; the writing happens on the journal's thread).

3. How fast the queries the UI pages through answer at that size: a page of a run's events
   from its middle, a page of the runs list among ``--runs`` runs, and cost totals by agent,
   model and day over their calls (medians of 20).

Memory search latency at 100 000 experiences is ``benchmarks/memory_retrieval.py``'s; run with
``--memory`` to print it here as well.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.recording.checkpoint import Checkpoint, Frame
from purpose_desktop.engine.recording.journal import RunHeader
from purpose_desktop.store.opening import Store, open_store
from purpose_desktop.store.run_journal import SqlRunJournal

TARGET_EVENTS_PER_S = 20_000
TEAM_SPEC = json.dumps(
    {"name": "bench", "agents": [{"name": "a", "role": "r", "model": "bundled:smollm2-135m"}]}
)


def header(run_id: str) -> RunHeader:
    return RunHeader(run_id, "bench", TEAM_SPEC, None, "stream many tokens")


async def emit_tokens(
    stream: ev.EventStream,
    run_id: str,
    count: int,
    journal: SqlRunJournal | None,
    checkpoint_every: int,
) -> float:
    """Emit ``count`` token events (and a checkpoint every so many); seconds on the loop."""
    started = time.perf_counter()
    for index in range(1, count + 1):
        stream.emit(ev.TokenStreamed(agent="a", text=" token"))
        if journal is not None and index % checkpoint_every == 0:
            step = index // checkpoint_every
            journal.checkpoint(Checkpoint(run_id, step, (Frame("a", "stream", steps_taken=step),)))
        if index % 1000 == 0:
            await asyncio.sleep(0)  # let the subscriber's delivery task run, as a run would
    return time.perf_counter() - started


@contextlib.contextmanager
def recording(path: Path) -> Iterator[tuple[Store, SqlRunJournal]]:
    """A new store at ``path`` and a journal writing to it, both closed at the end."""
    store = open_store(path)
    journal = SqlRunJournal(lambda: store.engine)
    try:
        yield store, journal
    finally:
        journal.close()
        store.engine.dispose()


def recorded_stream(
    journal: SqlRunJournal, subscribers: list[ev.Subscriber] | None = None
) -> ev.EventStream:
    """The stream of a new run that ``journal`` records."""
    run_id = os.urandom(16).hex()
    journal.begin(header(run_id))
    return ev.EventStream(run_id, subscribers, sink=journal.record)


async def sustained_rate(folder: Path, count: int, checkpoint_every: int) -> dict[str, Any]:
    with recording(folder / "rate.sqlite3") as (store, journal):
        stream = recorded_stream(journal)
        run_id = stream.run_id
        started = time.perf_counter()
        await emit_tokens(stream, run_id, count, journal, checkpoint_every)
        await journal.flush()
        seconds = time.perf_counter() - started
        await stream.aclose()
        stored = store.runs.run_now(run_id).summary.events
    if stored != count:
        raise RuntimeError(f"{stored} of {count} events were stored")
    return {
        "events": count,
        "seconds": round(seconds, 3),
        "events_per_s": round(count / seconds),
        "target_events_per_s": TARGET_EVENTS_PER_S,
    }


async def query_latency(folder: Path, runs: int, events_per_run: int) -> dict[str, Any]:
    """Fill a store with ``runs`` short runs (a few calls each) and one long one, then time
    the UI's queries on it."""
    with recording(folder / "queries.sqlite3") as (store, journal):
        stream = recorded_stream(journal)
        long_run = stream.run_id
        await emit_tokens(stream, long_run, events_per_run, None, events_per_run)
        await stream.aclose()
        for index in range(runs):
            short = recorded_stream(journal)
            for call in range(4):
                short.emit(
                    ev.CostRecorded(
                        agent=f"agent{call % 3}",
                        model=f"m{index % 5}",
                        purpose="act",
                        prompt_tokens=300,
                        completion_tokens=40,
                        seconds=0.5,
                        cost=0.0,
                    )
                )
            short.emit(
                ev.RunFinished(
                    status="completed",
                    answer="a",
                    steps=2,
                    phi=5.0,
                    prompt_tokens=1200,
                    completion_tokens=160,
                    seconds=2.0,
                )
            )
            await short.aclose()
        await journal.flush()
        queries = store.runs
        middle = events_per_run // 2
        timings = {
            "events_page_ms": _median_ms(
                lambda: queries.events_now(long_run, after_seq=middle, limit=200)
            ),
            "runs_page_ms": _median_ms(lambda: queries.list_runs_now(offset=runs // 2, limit=50)),
            **{
                f"cost_totals_by_{by}_ms": _median_ms(lambda by=by: queries.cost_totals_now(by))
                for by in ("agent", "model", "day")
            },
        }
    return {"runs": runs + 1, "events_in_run": events_per_run, "cost_rows": runs * 4, **timings}


def _median_ms(query: Any, repeats: int = 20) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        query()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2)


async def stream_cost(folder: Path, count: int, checkpoint_every: int) -> dict[str, Any]:
    received: list[int] = [0, 0]

    def subscriber(slot: int) -> ev.Subscriber:
        def take(event: ev.Event) -> None:
            received[slot] += 1

        return take

    bare = ev.EventStream("bare", [subscriber(0)])
    bare_s = await emit_tokens(bare, "bare", count, None, checkpoint_every)
    await bare.aclose()
    with recording(folder / "stream.sqlite3") as (_, journal):
        recorded = recorded_stream(journal, [subscriber(1)])
        recorded_s = await emit_tokens(recorded, recorded.run_id, count, journal, checkpoint_every)
        await recorded.aclose()
        await journal.flush()
    assert received == [count, count]
    return {
        "events": count,
        "without_journal_s": round(bare_s, 3),
        "with_journal_s": round(recorded_s, 3),
        "ratio": round(recorded_s / bare_s, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument(
        "--memory", action="store_true", help="also measure memory search at 100 000 experiences"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results: dict[str, Any] = {
            "sustained": asyncio.run(sustained_rate(folder, args.events, args.checkpoint_every)),
            "stream": asyncio.run(stream_cost(folder, args.events, args.checkpoint_every)),
            "queries": asyncio.run(query_latency(folder, args.runs, args.events)),
        }
        if args.memory:
            import memory_retrieval  # this script's folder is on the path

            results["memory_search"] = asyncio.run(memory_retrieval.run([100_000], 200, 7, folder))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        rate = results["sustained"]
        print(
            f"Sustained write rate: {rate['events_per_s']:,} events/s "
            f"({rate['events']:,} events in {rate['seconds']} s; target "
            f"{TARGET_EVENTS_PER_S:,})"
        )
        stream = results["stream"]
        print(
            f"Emitting on the event loop: {stream['with_journal_s']} s with the journal, "
            f"{stream['without_journal_s']} s without ({stream['ratio']}x)"
        )
        queries = results["queries"]
        print(
            f"Queries with {queries['runs']:,} runs, {queries['cost_rows']:,} calls and "
            f"{queries['events_in_run']:,} events in one run (median ms): "
            + ", ".join(
                f"{k.removesuffix('_ms')} {v}" for k, v in queries.items() if k.endswith("_ms")
            )
        )
        if "memory_search" in results:
            print(json.dumps(results["memory_search"], indent=2))
    return 0 if results["sustained"]["events_per_s"] >= TARGET_EVENTS_PER_S else 1


if __name__ == "__main__":
    sys.exit(main())
