"""``purpose-desktop runs | memory | teams`` as a user runs them: the installed executable in a
subprocess, on home folders of their own.

A scripted model cannot be used from another process, so the runs these commands look at are
recorded here first, by the real engine and journal with scripted models, into the home
folder's database; the one test that goes on with a run does it on the bundled SmolLM2.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.config import HOME_ENV, STORE_URL_ENV, Paths, example_team_file
from purpose_desktop.engine.team_file import load_team
from purpose_desktop.store.database import writing
from sqlalchemy import text
from tests.support.stores import record_cancelled_run, record_fork, record_run, store_at

TIMEOUT = 240
BUNDLED = "bundled:smollm2-135m"
EXECUTABLE = shutil.which("purpose-desktop", path=str(Path(sys.executable).parent))


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    command = [EXECUTABLE] if EXECUTABLE else [sys.executable, "-m", "purpose_desktop"]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, HOME_ENV: str(home)},
        stdin=subprocess.DEVNULL,
    )


def ok(*args: str, home: Path) -> str:
    result = cli(*args, home=home)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def refused(*args: str, home: Path) -> str:
    """The one line a failing command prints; it must exit with 2 and no traceback."""
    result = cli(*args, home=home)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def as_json(*args: str, home: Path) -> Any:
    return json.loads(ok(*args, "--json", home=home))


@dataclass(frozen=True)
class Recorded:
    home: Path
    run: str
    fork: str
    stopped: str
    """A run whose process died while it waited for a review."""


def _mark_dead(database: Path, run_id: str) -> None:
    """Make the run look as a run whose process was killed does: 'running', with the id of a
    process of this machine that has ended."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    with store_at(database) as store, writing(store.engine) as connection:
        connection.execute(
            text(
                "UPDATE runs SET status = 'running', host = :host, pid = :pid, "
                "process_started = 1 WHERE id = :id"
            ),
            {"host": socket.gethostname(), "pid": ended.pid, "id": run_id},
        )


@pytest.fixture
def recorded(tmp_path: Path) -> Recorded:
    home = tmp_path / "home"
    database = Paths(home).database_file
    with store_at(database) as store:
        run = record_run(store, tmp_path).run_id
        fork = record_fork(store, tmp_path, run).run_id
        stopped = record_cancelled_run(store, tmp_path)
    _mark_dead(database, stopped)
    return Recorded(home, run, fork, stopped)


@pytest.fixture
def other_home(tmp_path: Path) -> Path:
    return tmp_path / "other-home"


# --- runs list and show ----------------------------------------------------------------


def test_runs_list_newest_first_with_interrupted_runs_marked(recorded: Recorded) -> None:
    listed = ok("runs", "list", home=recorded.home)
    header, *rows = listed.splitlines()
    assert header.split()[:3] == ["RUN", "STATUS", "TEAM"]
    assert [row.split()[:2] for row in rows[:3]] == [
        [recorded.stopped[:8], "INTERRUPTED"],
        [recorded.fork[:8], "completed"],
        [recorded.run[:8], "completed"],
    ]
    assert "What is 17 * 23?" in rows[1]
    assert rows[3] == (
        f"Run {recorded.stopped[:8]} was interrupted; go on with:  "
        f"purpose-desktop runs resume {recorded.stopped[:8]}"
    )

    runs = as_json("runs", "list", home=recorded.home)
    assert [r["id"] for r in runs] == [recorded.stopped, recorded.fork, recorded.run]
    # The person's 7 for the working does not carry to the final answer's state: the critic's 5.
    assert runs[2]["steps"] == 2 and runs[2]["phi"] == 5.0
    completed = as_json("runs", "list", "--status", "completed", "--limit", "1", home=recorded.home)
    assert [r["id"] for r in completed] == [recorded.fork]


def test_runs_show_by_a_prefix_of_the_id(recorded: Recorded) -> None:
    shown = ok("runs", "show", recorded.run[:6], home=recorded.home)
    assert shown.startswith(f"Run {recorded.run}: completed\n  team T, agent solver\n")
    assert '  1. solver: calculator {"expression": "17*23"}\n     → 391\n     Φ 0 → 7' in shown
    assert "Score overrides:\n  step 1, solver: Φ 7 (the critic said 5): it is right" in shown
    assert "Totals: 2 step(s), Φ 5, " in shown
    assert "Events:" not in shown

    with_events = ok("runs", "show", recorded.run[:6], "--events", home=recorded.home)
    assert with_events.startswith(shown)
    assert "        1  Run started: T — What is 17 * 23?" in with_events
    assert 'solver wrote: {"tool": "calculator"' in with_events

    detail = as_json("runs", "show", recorded.fork, "--events", home=recorded.home)
    assert detail["run"]["parent_run_id"] == recorded.run
    assert [s["tool"] for s in detail["steps"]] == ["calculator", "finish"]
    assert detail["events"][0]["type"] == "RunStarted"
    assert len(detail["events"]) == detail["run"]["events"]


def test_unknown_runs_are_one_line_errors(recorded: Recorded) -> None:
    assert refused("runs", "show", "fff", home=recorded.home) == (
        "purpose-desktop: There is no run fff."
    )
    assert (
        refused("runs", "export", "fff", str(recorded.home / "x.jsonl"), home=recorded.home)
        == "purpose-desktop: There is no run fff."
    )
    assert "only an interrupted or cancelled run can be resumed" in refused(
        "runs", "resume", recorded.run[:8], "--auto-approve", home=recorded.home
    )


def test_an_id_with_characters_no_id_holds_names_no_run(recorded: Recorded) -> None:
    typo = f"{recorded.run[0]}-typo-{recorded.run[1]}-{recorded.run[2]}xyz"
    assert refused("runs", "show", typo, home=recorded.home) == (
        f"purpose-desktop: There is no run {typo}."
    )


# --- where the store is --------------------------------------------------------------------


def test_a_store_url_that_is_not_a_url_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "anywhere"
    folder.mkdir()
    command = [EXECUTABLE] if EXECUTABLE else [sys.executable, "-m", "purpose_desktop"]
    result = subprocess.run(
        [*command, "runs", "list"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=folder,
        stdin=subprocess.DEVNULL,
        env={**os.environ, HOME_ENV: str(tmp_path / "home"), STORE_URL_ENV: "runs-here"},
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "purpose-desktop: PURPOSE_DESKTOP_STORE_URL: 'runs-here' is not a database URL the app "
        "can use. Give sqlite:////ABSOLUTE/PATH/FILE.sqlite3 or postgresql://HOST/DATABASE."
    ]
    assert list(folder.iterdir()) == []


def test_a_store_url_in_a_folder_that_does_not_exist_creates_no_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    missing = tmp_path / "nonexistent" / "dir"
    (home / "settings.json").write_text(
        json.dumps({"store_url": f"sqlite:///{missing}/x.db"}), encoding="utf-8"
    )
    assert refused("runs", "list", home=home) == (
        f"purpose-desktop: {home / 'settings.json'}: store_url: the folder of {missing}/x.db "
        "does not exist; create it, or choose another place for the database."
    )
    assert not (tmp_path / "nonexistent").exists()


# --- runs export and import --------------------------------------------------------------


def test_an_exported_run_imports_into_another_home_and_shows_the_same(
    recorded: Recorded, other_home: Path, tmp_path: Path
) -> None:
    for run_id in (recorded.fork, recorded.stopped):
        path = tmp_path / f"{run_id}.jsonl"
        assert ok("runs", "export", run_id[:8], str(path), home=recorded.home).startswith(
            f"Exported run {run_id} ("
        )
        assert ok("runs", "import", str(path), home=other_home).startswith(
            f"Imported run {run_id}: "
        )
        for extra in ([], ["--events"], ["--json", "--events"]):
            assert ok("runs", "show", run_id[:8], *extra, home=other_home) == ok(
                "runs", "show", run_id[:8], *extra, home=recorded.home
            )
    original = as_json("runs", "list", home=recorded.home)
    assert as_json("runs", "list", home=other_home) == original[:2]
    assert "already stored" in refused("runs", "import", str(path), home=other_home)


def test_a_bad_run_file_is_refused_naming_the_line(
    recorded: Recorded, other_home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "run.jsonl"
    ok("runs", "export", recorded.run, str(path), home=recorded.home)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    line = next(i for i, r in enumerate(records) if r.get("type") == "Scored")
    records[line]["phi"] = "high"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert refused("runs", "import", str(path), home=other_home) == (
        f"purpose-desktop: {path}, line {line + 1}: Scored: phi: Input should be a valid "
        "number, unable to parse string as a number"
    )
    assert as_json("runs", "list", home=other_home) == []


@pytest.mark.model
def test_an_imported_run_goes_on_in_its_new_home_on_the_real_model(
    other_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    with store_at(Paths(home).database_file) as store:
        run_id = record_cancelled_run(store, tmp_path, model=BUNDLED)
    path = tmp_path / "stopped.jsonl"
    ok("runs", "export", run_id, str(path), home=home)
    ok("runs", "import", str(path), home=other_home)
    before = as_json("runs", "show", run_id, home=other_home)["run"]["events"]

    result = cli("runs", "resume", run_id[:8], "--auto-approve", "--json", home=other_home)
    assert result.returncode in (0, 1), result.stderr
    summary = json.loads(result.stdout)
    assert summary["run_id"] == run_id
    assert summary["steps"][0]["tool"] == "calculator"  # step 1, done before it stopped
    after = as_json("runs", "show", run_id, "--events", home=other_home)
    assert after["events"][before]["type"] == "RunResumed"
    assert after["run"]["status"] == summary["status"]


# --- memory ------------------------------------------------------------------------------


def test_memory_export_and_import_round_trip(
    recorded: Recorded, other_home: Path, tmp_path: Path
) -> None:
    exported, again = tmp_path / "memory.json", tmp_path / "again.json"
    said = ok("memory", "export", str(exported), "--team", "T", home=recorded.home)
    assert said.startswith("Exported the memory of team T (")
    document = json.loads(exported.read_text(encoding="utf-8"))
    learned = len(document["heuristics"])
    assert learned > 0 and document["experiences"] and document["score_anchors"]

    assert f"heuristics {learned} added, 0 merged" in ok(
        "memory", "import", str(exported), home=other_home
    )
    assert f"heuristics 0 added, {learned} merged" in ok(
        "memory", "import", str(exported), home=other_home
    )
    ok("memory", "export", str(again), home=other_home)
    copy = json.loads(again.read_text(encoding="utf-8"))
    for data in (document, copy):
        del data["exported_at"], data["team"]
    assert copy == document
    assert "No memory is stored for a team called 'nobody'" in refused(
        "memory", "export", str(tmp_path / "n.json"), "--team", "nobody", home=recorded.home
    )


def test_a_bad_memory_file_names_the_record(
    recorded: Recorded, other_home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "memory.json"
    ok("memory", "export", str(path), home=recorded.home)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["heuristics"][0]["q_value"] = -1
    path.write_text(json.dumps(document), encoding="utf-8")
    assert refused("memory", "import", str(path), home=other_home) == (
        f"purpose-desktop: {path}: heuristics[0].q_value: Input should be greater than or "
        "equal to 0"
    )
    blank = tmp_path / "blank.json"
    ok("memory", "export", str(blank), home=other_home)
    assert json.loads(blank.read_text(encoding="utf-8"))["heuristics"] == []


# --- teams -------------------------------------------------------------------------------


def test_teams_save_list_export_delete(other_home: Path, tmp_path: Path) -> None:
    team_file = example_team_file().with_name("arithmetic.yaml")
    assert ok("teams", "save", str(team_file), home=other_home) == (
        f"Saved team Arithmetic (2 agent(s)) from {team_file}.\n"
    )
    listed = as_json("teams", "list", home=other_home)
    assert [(t["name"], [a["name"] for a in t["agents"]]) for t in listed] == [
        ("Arithmetic", ["counter", "helper"])
    ]
    assert ok("teams", "list", home=other_home).startswith(
        "Arithmetic: counter (bundled:smollm2-135m), helper (bundled:smollm2-135m)"
    )

    exported = tmp_path / "exported.yaml"
    ok("teams", "export", "Arithmetic", str(exported), home=other_home)
    assert load_team(exported).spec == load_team(team_file).spec

    ok("teams", "delete", "Arithmetic", home=other_home)
    assert refused("teams", "delete", "Arithmetic", home=other_home) == (
        "purpose-desktop: No team called 'Arithmetic' is saved."
    )
    assert as_json("teams", "list", home=other_home) == []
