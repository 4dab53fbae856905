"""A run whose process is killed (SIGKILL) mid-run loses nothing it committed, shows as
interrupted, and resumes as the same run: real processes, the real bundled model."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from purpose_desktop.config import HOME_ENV, Paths, example_team_file
from purpose_desktop.store.opening import open_store
from tests.support.cli import purpose_desktop

TIMEOUT = 240


class Terminal:
    """A ``purpose-desktop run`` process whose review questions the test answers."""

    def __init__(self, args: list[str], home: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "purpose_desktop", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, HOME_ENV: str(home)},
        )
        self.output = ""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def close(self) -> None:
        """Kill the process if it still runs, and close its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._reader.join(10)
        for pipe in (self.process.stdin, self.process.stderr):
            if pipe is not None:
                pipe.close()

    def _read(self) -> None:
        assert self.process.stderr is not None
        # Byte by byte: the questions end without a line break.
        while chunk := os.read(self.process.stderr.fileno(), 4096):
            with self._lock:
                self.output += chunk.decode("utf-8", "replace")

    def wait_for(self, text: str, after: int = 0) -> int:
        """Wait until ``text`` appears at or after position ``after``; where it ends."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            with self._lock:
                found = self.output.find(text, after)
            if found >= 0:
                return found + len(text)
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never came; the process said:\n{self.output}")

    def answer(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        self.process.stdin.flush()


def committed(database: Path) -> tuple[str, int, list[int], list[int]]:
    """The run's id, status-free facts as committed: last event, event seqs, checkpoints."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        run_id, last_seq = connection.execute("SELECT id, last_seq FROM runs").fetchone()
        seqs = [
            s
            for (s,) in connection.execute(
                "SELECT seq FROM events WHERE run_id = ? ORDER BY seq", (run_id,)
            )
        ]
        steps = [
            s
            for (s,) in connection.execute(
                "SELECT step FROM checkpoints WHERE run_id = ? ORDER BY step", (run_id,)
            )
        ]
    return run_id, last_seq, seqs, steps


def wait_for_checkpoint(database: Path, step: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if database.exists():
            try:
                if step in committed(database)[3]:
                    return
            except (sqlite3.OperationalError, TypeError):
                pass  # not created yet
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint after step {step} was committed")


@pytest.mark.model
def test_a_run_killed_mid_run_keeps_what_it_committed_and_resumes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    team = tmp_path / "team.yaml"
    # One agent, every step reviewed: the run waits at the terminal in each of its steps.
    team.write_text(
        example_team_file()
        .with_name("calculator.yaml")
        .read_text(encoding="utf-8")
        .replace("review: risky", "review: always"),
        encoding="utf-8",
    )
    database = Paths(home).database_file
    terminal = Terminal(["run", str(team), "--task", "What is 17 * 23?"], home)
    try:
        end = terminal.wait_for("proposes step 1: ")
        if terminal.output[end:].startswith("finish"):
            terminal.answer("r")
            terminal.answer("use the calculator first")
        else:
            terminal.answer("a")
            terminal.wait_for("Enter to keep", end)
            terminal.answer("")
        terminal.wait_for("proposes step 2: ", end)
        wait_for_checkpoint(database, 1)
        before = committed(database)
        terminal.process.send_signal(signal.SIGKILL)
        assert terminal.process.wait(10) == -signal.SIGKILL
    finally:
        terminal.close()

    # Nothing committed before the kill is lost; the numbering has no gaps.
    run_id, last_seq, seqs, steps = committed(database)
    assert (run_id, last_seq) == before[:2]
    assert seqs == list(range(1, last_seq + 1))
    assert steps[:2] == [0, 1]

    listing = purpose_desktop("runs", "list", "--json", home=home)
    assert listing.returncode == 0, listing.stderr
    (listed,) = [r for r in json.loads(listing.stdout) if r["id"] == run_id]
    assert listed["status"] == "interrupted"

    resumed = purpose_desktop("runs", "resume", run_id[:8], "--auto-approve", "--json", home=home)
    summary = json.loads(resumed.stdout)
    assert summary["run_id"] == run_id, resumed.stderr
    assert summary["status"] in ("completed", "failed"), resumed.stderr
    assert summary["steps"][0]["index"] == 1  # step 1 came from the checkpoint

    store = open_store(database)
    try:
        detail = store.runs.run_now(run_id)
        events = store.runs.events_now(run_id, limit=100_000)
    finally:
        store.engine.dispose()
    assert detail.summary.status == summary["status"]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    kinds = [type(e).__name__ for e in events]
    assert kinds[last_seq] == "RunResumed"  # right after the last event committed before
    assert kinds[-1] == "RunFinished"
