"""A run whose recording breaks in the middle always ends: as failed with the reason when the
journal's writer dies, with exit code 1 when its database refuses the writes (read-only), and
what was committed stays.
Real ``purpose-desktop run`` processes on the bundled model."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from purpose_desktop.config import HOME_ENV, Paths, example_team_file

TIMEOUT = 240
FAULTY = Path(__file__).with_name("journal_faults.py")


def run_with_fault(fault: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(FAULTY),
            fault,
            "run",
            str(example_team_file()),
            "--auto-approve",
            "--task",
            "Name three primary colours.",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, HOME_ENV: str(home)},
    )


def committed(home: Path) -> tuple[list[int], list[int]]:
    """The stored run's event numbers and checkpointed steps."""
    database = Paths.from_environment({HOME_ENV: str(home)}).database_file
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        (run_id,) = connection.execute("SELECT id FROM runs").fetchone()
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
    return seqs, steps


@pytest.mark.model
def test_a_run_whose_journal_writer_is_killed_ends_as_failed(tmp_path: Path) -> None:
    result = run_with_fault("kill", tmp_path)

    assert result.returncode == 1, result.stderr
    assert (
        "error: The run could not be recorded: the journal's writer failed (SystemExit"
        in result.stderr
    )
    assert "Run failed" in result.stderr
    assert "Traceback" not in result.stderr
    seqs, steps = committed(tmp_path)
    assert steps[:1] == [0]  # the first checkpoint was committed before the writer died
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.model
def test_a_run_whose_database_turns_read_only_exits_1_saying_it_was_not_saved(
    tmp_path: Path,
) -> None:
    result = run_with_fault("read-only", tmp_path)

    assert result.returncode == 1, result.stderr
    assert (
        "error: The run could not be saved: attempt to write a readonly database" in result.stderr
    )
    assert "Traceback" not in result.stderr
    seqs, steps = committed(tmp_path)
    assert steps == [0]
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.parametrize("task", ["", "   \n\t", "What is \udcff?"])
def test_a_task_that_is_empty_or_not_text_is_refused_before_anything_runs(
    tmp_path: Path, task: str
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "purpose_desktop",
            "run",
            str(example_team_file()),
            "--auto-approve",
            "--task",
            task,
        ],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, HOME_ENV: str(tmp_path)},
    )
    assert result.returncode == 2
    lines = result.stderr.decode("utf-8", "replace").splitlines()
    assert len(lines) == 1 and lines[0].startswith("purpose-desktop: The task "), lines
    assert not Paths.from_environment({HOME_ENV: str(tmp_path)}).database_file.exists()
