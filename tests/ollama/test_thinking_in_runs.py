"""A model's reasoning in a run: streamed as events of its own, kept with the step and the
run's record, carried by an exported run, and never given to the critic or to the agent's
later prompts.

No Ollama daemon can be installed where the tests run, so the stand-in server of this folder
answers for it, generating with the real bundled SmolLM2; its ``think_tokens`` switch sends
the first tokens the model generates as reasoning (in Ollama's ``thinking`` field, or between
``<think>`` tags in the answer), as a reasoning model's server does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.recording.checkpoint import decode_checkpoint
from purpose_desktop.engine.recording.replay import replay
from purpose_desktop.store.database import reading
from purpose_desktop.store.opening import Store, open_store
from purpose_desktop.store.run_files import export_run, import_run
from sqlalchemy import text
from tests.support.reasoning_runs import run_reasoning_team, thinking_in

from .conftest import FakeOllama

pytestmark = pytest.mark.model

THINK_TOKENS = 10


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "store.sqlite3")
    yield opened
    opened.engine.dispose()


def tokens_in(events: Sequence[ev.Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, ev.TokenStreamed))


def prompt_text(request: dict[str, Any]) -> str:
    """Everything a chat request put in front of the model."""
    return "\n".join(str(m.get("content", "")) for m in request["body"]["messages"])


@pytest.mark.parametrize("style", ["field", "tags"])
def test_reasoning_is_shown_and_kept_but_never_given_to_the_critic(
    fake_ollama: FakeOllama, store: Store, tmp_path: Path, style: str
) -> None:
    before = len(fake_ollama.requests())
    fake_ollama.set_faults(think_tokens=THINK_TOKENS, think_style=style)
    outcome, seen = run_reasoning_team(fake_ollama, store, tmp_path)

    asked, *scoring = fake_ollama.requests()[before:]
    assert asked["faults"]["think_tokens"] == THINK_TOKENS  # the agent's call had the switch
    pieces = asked["pieces"]
    assert len(pieces) > THINK_TOKENS, pieces
    thinking, answer = "".join(pieces[:THINK_TOKENS]), "".join(pieces[THINK_TOKENS:])
    assert thinking.strip()

    # Streamed apart: the reasoning as events of its own, the answer alone as tokens.
    assert thinking_in(seen) == thinking
    assert tokens_in(seen) == answer
    assert outcome.status == "completed", outcome.error
    assert outcome.answer == answer.strip()
    (step,) = outcome.steps
    assert step.thinking == thinking
    assert step.action.arguments["answer"] == answer.strip()

    # The critic scored the answer, and what it was given holds none of the reasoning.
    assert scoring, "the critic was never asked"
    for request in scoring:
        prompt = prompt_text(request)
        assert f"Proposed final answer: {answer.strip()}" in prompt, prompt
        assert thinking.strip() not in prompt, prompt

    # Recorded with the run: the events as emitted, the step's reasoning in its checkpoint.
    assert store.runs.events_now(outcome.run_id) == seen
    with reading(store.engine) as connection:
        last = connection.execute(
            text("SELECT data FROM checkpoints WHERE run_id = :id ORDER BY step DESC LIMIT 1"),
            {"id": outcome.run_id},
        ).scalar_one()
    assert [s.thinking for s in decode_checkpoint(last).steps] == [thinking]

    # A past run replayed shows it again.
    replayed: list[ev.Event] = []
    asyncio.run(replay(store.runs.stream_events(outcome.run_id), [replayed.append]))
    assert thinking_in(replayed) == thinking

    # Exported, the run carries it; imported elsewhere, it is there again.
    exported = tmp_path / "run.jsonl"
    export_run(store.engine, outcome.run_id, exported)
    records = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert "".join(r["text"] for r in records if r.get("type") == "ThinkingStreamed") == thinking
    other = open_store(tmp_path / "other.sqlite3")
    try:
        import_run(other.engine, exported)
        assert thinking_in(other.runs.events_now(outcome.run_id)) == thinking
    finally:
        other.engine.dispose()


def test_a_step_that_only_thought_fails_and_the_next_prompt_does_not_carry_its_reasoning(
    fake_ollama: FakeOllama, store: Store, tmp_path: Path
) -> None:
    # A reasoning model can spend its every token thinking: that is no answer.
    before = len(fake_ollama.requests())
    fake_ollama.set_faults(think_tokens=1000, think_style="field")
    outcome, seen = run_reasoning_team(
        fake_ollama, store, tmp_path, max_steps=2, max_answer_tokens=24
    )

    first, second, *_ = fake_ollama.requests()[before:]
    thinking = "".join(first["pieces"])
    assert thinking.strip()
    warnings = [e.message for e in seen if isinstance(e, ev.WarningRaised)]
    assert any("gave an empty answer" in message for message in warnings), warnings
    # The reasoning was streamed and kept with the run, though the step gave nothing.
    assert thinking_in(seen) == thinking
    assert thinking_in(store.runs.events_now(outcome.run_id)) == thinking
    # The agent's next prompt is built without it, and the step that answered thought nothing.
    assert thinking.strip() not in prompt_text(second)
    assert outcome.status == "completed", outcome.error
    (step,) = outcome.steps
    assert step.index == 2
    assert step.thinking == ""
