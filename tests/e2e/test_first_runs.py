"""A person's first runs from the terminal on the bundled SmolLM2, from a fresh home folder:
the README's two sample runs, a team holding every built-in tool, and every action rejected."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.config import HOME_ENV
from purpose_desktop.engine.tools.builtin import BUILTIN_TOOLS

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[2]
TEAMS = REPO / "resources" / "teams"
PRIMARY_COLOURS = ("red", "yellow", "blue")


def purpose_desktop(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "purpose_desktop", *args],
        input="",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, HOME_ENV: str(home)},
    )


def answer_of(stdout: str) -> str:
    return stdout.partition("\nAnswer:\n")[2].strip()


def test_the_readme_colours_example_names_primary_colours(tmp_path: Path) -> None:
    result = purpose_desktop(
        "run",
        str(TEAMS / "example.yaml"),
        "--task",
        "Name three primary colours.",
        home=tmp_path / "home",
    )
    assert result.returncode == 0, result.stderr
    answer = answer_of(result.stdout).lower()
    named = [colour for colour in PRIMARY_COLOURS if re.search(rf"\b{colour}\b", answer)]
    assert len(named) >= 2, answer


def test_the_readme_arithmetic_example_answers_391(tmp_path: Path) -> None:
    result = purpose_desktop(
        "run", str(TEAMS / "arithmetic.yaml"), "--task", "What is 17 * 23?", home=tmp_path / "home"
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"\b391\b", answer_of(result.stdout)), result.stdout[-2000:]


@pytest.mark.parametrize("model", ["bundled:smollm2-135m", "bundled:gemma3-270m"])
def test_an_agent_holding_all_seven_tools_completes(tmp_path: Path, model: str) -> None:
    team = tmp_path / "all-tools.yaml"
    team.write_text(
        f"name: All tools\nagents:\n  - name: worker\n"
        "    role: You complete the task with the tools, then finish with the answer.\n"
        f"    model: {model}\n    tools: [{', '.join(t.name for t in BUILTIN_TOOLS)}]\n"
        "    max_steps: 4\n    review: never\n",
        encoding="utf-8",
    )
    result = purpose_desktop("run", str(team), "--task", "What is 17 * 23?", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Run completed" in result.stderr


class Terminal:
    """Answers the review questions a run asks on stderr: every action is rejected with a
    reason, every score kept."""

    REPLIES = (("[a]pprove", "r"), ("Reason: ", "not this one"), ("score 0-10", ""))

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process
        self.text = ""
        self.rejections = 0
        self._thread = threading.Thread(target=self._answer, daemon=True)
        self._thread.start()

    def _answer(self) -> None:
        assert self._process.stderr is not None and self._process.stdin is not None
        pending = ""
        while char := self._process.stderr.read(1):
            self.text += char
            pending += char
            for prompt, reply in self.REPLIES:
                if pending.endswith(prompt):
                    self.rejections += reply == "r"
                    self._process.stdin.write(reply + "\n")
                    self._process.stdin.flush()
                    pending = ""

    def join(self) -> None:
        self._thread.join(timeout=30)


def events_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_with_every_action_rejected_none_is_proposed_twice_and_phi_never_rises(
    tmp_path: Path,
) -> None:
    team = tmp_path / "arithmetic-reviewed.yaml"
    team.write_text(
        (TEAMS / "arithmetic.yaml")
        .read_text(encoding="utf-8")
        .replace("review: risky", "review: always")
        .replace("review: never", "review: always"),
        encoding="utf-8",
    )
    events = tmp_path / "events.jsonl"
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "purpose_desktop",
            "run",
            str(team),
            "--task",
            "What is 17 * 23?",
            "--events",
            str(events),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, HOME_ENV: str(tmp_path / "home")},
    ) as process:
        terminal = Terminal(process)
        process.wait(timeout=300)
        terminal.join()
    assert terminal.rejections >= 2, terminal.text[-3000:]

    recorded = events_of(events)
    rejected = {
        (e["agent"], e["step"])
        for e in recorded
        if e["type"] == "ActionReviewed" and e["verdict"] == "rejected"
    }
    assert len(rejected) == terminal.rejections
    for event in recorded:
        if event["type"] == "Scored" and (event["agent"], event["step"]) in rejected:
            assert event["phi"] <= event["phi_before"], event
    proposed = [
        (e["agent"], e["tool"], json.dumps(e["arguments"], sort_keys=True))
        for e in recorded
        if e["type"] == "ActionProposed"
    ]
    assert len(proposed) == len(set(proposed)), proposed
    # Nothing was approved, so the run could not complete, and it says why.
    assert process.returncode != 0
    assert any(e["type"] == "RunFinished" and e["status"] == "failed" for e in recorded)
