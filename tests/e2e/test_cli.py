"""The ``purpose-desktop`` command as a user runs it: real subprocesses, an empty home folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from purpose_desktop import __version__
from purpose_desktop.config import HOME_ENV, Paths
from tests.support.cli import TIMEOUT, purpose_desktop
from tests.support.file_keyring import file_keyring_env


@pytest.fixture
def empty_home(tmp_path: Path) -> Path:
    folder = tmp_path / "fresh-home"
    assert not folder.exists()
    return folder


def test_version(empty_home: Path) -> None:
    result = purpose_desktop("--version", home=empty_home)
    assert result.returncode == 0
    assert result.stdout.strip() == f"purpose-desktop {__version__}"


@pytest.mark.model
def test_run_streams_real_tokens_and_prints_the_answer(
    example_team: Path, empty_home: Path
) -> None:
    result = purpose_desktop(
        "run", str(example_team), "--task", "Name a primary colour.", home=empty_home
    )
    assert result.returncode == 0, result.stderr
    streamed, _, answer = result.stdout.partition("\nAnswer:\n")
    # The agent's answer streams token by token, and is printed again at the end.
    assert answer.strip() and answer.strip() in streamed
    assert "smollm2-135m ready" in result.stderr
    assert "Run completed" in result.stderr
    assert "Φ 0 → " in result.stderr  # the summary's score curve
    # Everything the app wrote is inside the home folder it was given.
    assert Paths(empty_home).log_file.is_file()


@pytest.mark.model
def test_run_json_summary(example_team: Path, empty_home: Path) -> None:
    result = purpose_desktop(
        "run",
        str(example_team),
        "--task",
        "Say hello.",
        "--json",
        "--auto-approve",
        home=empty_home,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "completed"
    assert summary["answer"].strip()
    assert summary["tokens"]["completion"] > 0
    assert summary["phi_curve"][0] == 0.0
    assert len(summary["phi_curve"]) == len(summary["steps"]) + 1
    assert summary["steps"][-1]["tool"] == "finish"
    assert summary["by_agent"]["helper"]["calls"] == summary["calls"]


@pytest.mark.model
def test_run_writes_events_and_asks_at_the_terminal(empty_home: Path, tmp_path: Path) -> None:
    from purpose_desktop.config import example_team_file

    team = tmp_path / "team.yaml"
    team.write_text(
        example_team_file()
        .with_name("arithmetic.yaml")
        .read_text(encoding="utf-8")
        .replace("review: risky", "review: always"),
        encoding="utf-8",
    )
    events_file = tmp_path / "events.jsonl"
    # Reject the first action with a reason, then approve everything and keep every score.
    answers = "r\nuse the calculator\n" + "a\n\n" * 6
    result = purpose_desktop(
        "run",
        str(team),
        "--task",
        "What is 17 * 23?",
        "--events",
        str(events_file),
        home=empty_home,
        stdin=answers,
    )
    assert "proposes step 1" in result.stderr
    assert "[a]pprove, [e]dit, [r]eject" in result.stderr
    records = [json.loads(line) for line in events_file.read_text(encoding="utf-8").splitlines()]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    reviewed = [r for r in records if r["type"] == "ActionReviewed"]
    assert (reviewed[0]["verdict"], reviewed[0]["reason"]) == ("rejected", "use the calculator")
    assert records[-1]["type"] == "RunFinished"


def test_missing_team_file(empty_home: Path, tmp_path: Path) -> None:
    result = purpose_desktop("run", str(tmp_path / "nope.yaml"), "--task", "x", home=empty_home)
    assert result.returncode == 2
    assert "Team file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_team_file_names_line_and_field(empty_home: Path, tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(
        "name: T\nagents:\n  - name: a\n    role: r\n    model: bundled:x\n    max_steps: lots\n",
        encoding="utf-8",
    )
    result = purpose_desktop("run", str(team), "--task", "x", home=empty_home)
    assert result.returncode == 2
    assert "line 6: agents[0].max_steps" in result.stderr
    assert "Traceback" not in result.stderr


def test_model_file_that_cannot_be_found(empty_home: Path, tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(
        "name: T\nagents:\n  - name: a\n    role: r\n    model: gone.gguf\n", encoding="utf-8"
    )
    result = purpose_desktop("run", str(team), "--task", "x", home=empty_home)
    assert result.returncode == 1
    assert "Model file not found: 'gone.gguf'" in result.stderr
    assert "Did you mean" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bundled_model_named_without_its_scheme_is_suggested(
    empty_home: Path, tmp_path: Path
) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(
        "name: T\nagents:\n  - name: a\n    role: r\n    model: SmolLM2-135M\n", encoding="utf-8"
    )
    result = purpose_desktop("run", str(team), "--task", "x", home=empty_home)
    assert result.returncode == 1
    assert (
        "Model file not found: 'SmolLM2-135M' (looked for "
        f"{tmp_path / 'SmolLM2-135M'}, " in result.stderr
    )
    assert "Did you mean the bundled model 'bundled:smollm2-135m'?" in result.stderr


def test_models_list_json(empty_home: Path) -> None:
    result = purpose_desktop("models", "list", "--json", home=empty_home)
    assert result.returncode == 0, result.stderr
    entries = {entry["reference"]: entry for entry in json.loads(result.stdout)}
    smol = entries["bundled:smollm2-135m"]
    assert smol["architecture"] == "llama"
    assert smol["context_length"] == 8192
    assert smol["error"] is None
    assert smol["instruction_tuned"] is True
    assert smol["memory_bytes"] > smol["size_bytes"]  # weights plus the context cache
    assert entries["bundled:gemma3-270m"]["architecture"] == "gemma3"
    assert entries["bundled:gemma3-270m"]["instruction_tuned"] is False
    # The Gemma chunks are joined into the home folder, nowhere else.
    assert Path(entries["bundled:gemma3-270m"]["path"]).is_relative_to(empty_home)


def test_models_list_shows_why_a_file_is_unusable(empty_home: Path) -> None:
    models = Paths(empty_home).models_dir
    models.mkdir(parents=True)
    (models / "broken.gguf").write_text("not a model", encoding="utf-8")
    result = purpose_desktop("models", "list", home=empty_home)
    assert result.returncode == 0
    assert "broken.gguf" in result.stdout
    assert "unusable: " in result.stdout
    assert "not a GGUF model file" in result.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="displays are a Linux concern")
def test_no_display_says_how_to_run_without_one(empty_home: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}
    }
    env[HOME_ENV] = str(empty_home)
    result = subprocess.run(
        [sys.executable, "-m", "purpose_desktop"],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 2
    assert "No display found" in result.stderr
    assert "xvfb-run purpose-desktop" in result.stderr
    assert "QT_QPA_PLATFORM=offscreen" in result.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 is a Linux concern")
def test_missing_x11_library_is_named_before_qt_aborts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from purpose_desktop import app
    from purpose_desktop.errors import NoDisplayError

    broken = tmp_path / "libqxcb.so"
    broken.write_text("not a library", encoding="utf-8")
    monkeypatch.setattr(app, "_qt_xcb_plugin", lambda: broken)
    with pytest.raises(NoDisplayError, match=r"a system library Qt needs is missing \(.*libqxcb"):
        app.check_display({"DISPLAY": ":99"})
    # Offscreen needs no X11 libraries at all.
    app.check_display({"DISPLAY": ":99", "QT_QPA_PLATFORM": "offscreen"})


@pytest.mark.model
def test_the_command_doubles_as_the_model_worker_of_a_frozen_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from purpose_desktop.models.bundled import smollm2_path
    from purpose_desktop.models.worker_entry import WORKER_ARGUMENT, worker_command

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert worker_command() == [sys.executable, WORKER_ARGUMENT]
    monkeypatch.undo()
    load = {
        "model_path": str(smollm2_path()),
        "n_ctx": 512,
        "n_threads": 2,
        "n_batch": 512,
        "chat_format": None,
    }
    chat = {
        "op": "chat",
        "id": 1,
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 8,
        "temperature": 0.0,
    }
    result = subprocess.run(
        [sys.executable, "-m", "purpose_desktop", WORKER_ARGUMENT],
        input=json.dumps(load) + "\n" + json.dumps(chat) + "\n",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert replies[0]["type"] == "ready"
    assert any(reply["type"] == "token" for reply in replies)
    assert replies[-1]["type"] == "done"


def test_models_add_checks_copies_and_lists_the_file(empty_home: Path, tmp_path: Path) -> None:
    from purpose_desktop.models.bundled import smollm2_path

    source = tmp_path / "my-model.gguf"
    source.write_bytes(smollm2_path().read_bytes())
    added = purpose_desktop("models", "add", str(source), home=empty_home)
    assert added.returncode == 0, added.stderr
    assert "Added my-model.gguf" in added.stdout and "model: my-model.gguf" in added.stdout
    listed = purpose_desktop("models", "list", "--json", home=empty_home)
    references = [entry["reference"] for entry in json.loads(listed.stdout)]
    assert "my-model.gguf" in references

    broken = tmp_path / "broken.gguf"
    broken.write_text("not a model", encoding="utf-8")
    refused = purpose_desktop("models", "add", str(broken), home=empty_home)
    assert refused.returncode == 2
    assert "not a GGUF model file" in refused.stderr
    assert not (Paths(empty_home).models_dir / "broken.gguf").exists()


def test_models_key_saves_and_removes_a_key_in_the_keyring(
    empty_home: Path, tmp_path: Path
) -> None:
    store = tmp_path / "keyring.json"
    env = file_keyring_env(store)
    saved = subprocess.run(
        [sys.executable, "-m", "purpose_desktop", "models", "key", "set", "lab"],
        input="sk-secret\n",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, HOME_ENV: str(empty_home), **env},
    )
    assert saved.returncode == 0, saved.stderr
    assert json.loads(store.read_text()) == {"purpose-desktop/lab": "sk-secret"}
    assert "sk-secret" not in saved.stdout + saved.stderr
    home_files = [p for p in empty_home.rglob("*") if p.is_file()]
    assert not any("sk-secret" in p.read_text(errors="replace") for p in home_files)
    removed = purpose_desktop("models", "key", "remove", "lab", home=empty_home, env=env)
    assert removed.returncode == 0 and "Removed" in removed.stdout
    assert json.loads(store.read_text()) == {}


def test_models_key_without_a_keyring_says_so_and_saves_nothing(empty_home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "purpose_desktop", "models", "key", "set", "lab"],
        input="sk-secret\n",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={
            **os.environ,
            HOME_ENV: str(empty_home),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        },
    )
    assert result.returncode == 2
    assert "No system keyring is available" in result.stderr
    home_files = [p for p in empty_home.rglob("*") if p.is_file()]
    assert not any("sk-secret" in p.read_text(errors="replace") for p in home_files)
