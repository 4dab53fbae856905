"""The command's model-facing parts as a user runs them: the streaming benchmark, a run that
keeps to its home folder and streams as it goes, and the probe's report of unusable files."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from purpose_desktop.bench.stream import StreamBenchmark
from purpose_desktop.config import HOME_ENV, Paths
from tests.support.cli import TIMEOUT, purpose_desktop

# Every variable that points a program at a per-user folder it may write to.
USER_FOLDERS = (
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "XDG_RUNTIME_DIR",
    "TMPDIR",
)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder below ``folder``, with size and modification time."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
    }


@pytest.mark.model
def test_bench_stream_smoke(tmp_path: Path) -> None:
    result = purpose_desktop(
        "bench", "stream", "--tokens", "16", "--runs", "1", "--json", home=tmp_path / "home"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert set(report) == {field.name for field in dataclasses.fields(StreamBenchmark)}
    assert (report["model"], report["tokens"], report["runs"]) == ("smollm2-135m", 16, 1)
    for key in ("ratio", "constrained_ratio", "raw_tokens_per_s", "app_tokens_per_s"):
        assert isinstance(report[key], float) and math.isfinite(report[key])
        assert report[key] > 0, key


@pytest.mark.model
def test_run_writes_nothing_outside_its_home(example_team: Path, tmp_path: Path) -> None:
    folders = {name: tmp_path / name.lower() for name in USER_FOLDERS}
    for folder in folders.values():
        folder.mkdir(mode=0o700)
    team_folder = tmp_path / "team"
    team_folder.mkdir()
    team = team_folder / example_team.name
    team.write_bytes(example_team.read_bytes())
    watched = [*folders.values(), team_folder]
    before = {folder: snapshot(folder) for folder in watched}
    home = tmp_path / "app-home"
    env = {name: str(folder) for name, folder in folders.items()}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "purpose_desktop",
            "run",
            str(team),
            "--task",
            "Say hello.",
            "--json",
            "--auto-approve",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=team_folder,
        env={**os.environ, **env, HOME_ENV: str(home)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["status"] == "completed"
    assert {folder: snapshot(folder) for folder in watched} == before
    # It did write: the database, the log and the joined bundled files are in its home.
    assert Paths(home).database_file.is_file() and Paths(home).log_file.is_file()


@pytest.mark.model
def test_tokens_are_recorded_while_the_run_is_going(example_team: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    command = [
        sys.executable,
        "-m",
        "purpose_desktop",
        "run",
        str(example_team),
        "--task",
        "Name three primary colours.",
        "--auto-approve",
        "--events",
        str(events),
    ]
    most_before_the_end = 0  # TokenStreamed lines seen with the run not yet finished
    with (tmp_path / "stdout").open("wb") as out, (tmp_path / "stderr").open("wb") as err:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env={**os.environ, HOME_ENV: str(tmp_path / "home")},
        )
        deadline = time.monotonic() + TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            lines = events.read_text(encoding="utf-8").splitlines() if events.exists() else []
            types = [json.loads(line)["type"] for line in lines if line.endswith("}")]
            if "RunFinished" not in types:
                most_before_the_end = max(most_before_the_end, types.count("TokenStreamed"))
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
        process.wait()
    assert process.returncode == 0, (tmp_path / "stderr").read_text(encoding="utf-8")[-2000:]
    assert most_before_the_end >= 3
    types = [json.loads(line)["type"] for line in events.read_text(encoding="utf-8").splitlines()]
    assert types[-1] == "RunFinished" and types.count("TokenStreamed") >= most_before_the_end


def test_models_probe_names_an_unusable_file_and_why(tmp_path: Path) -> None:
    home = tmp_path / "home"
    models = Paths(home).models_dir
    models.mkdir(parents=True)
    (models / "cut.gguf").write_bytes(b"GGUF")
    result = purpose_desktop(
        "models", "probe", home=home, env={"OLLAMA_HOST": "http://127.0.0.1:9"}
    )
    assert result.returncode == 0, result.stderr
    local = result.stdout.split("\nOllama")[0]
    assert "(2 bundled, 0 in the models folder, 1 unusable)" in local
    assert "    unusable: cut.gguf: " in local and "is truncated" in local
    assert "    cut.gguf\n" not in local
