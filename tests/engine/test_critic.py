"""The critic's rules hold whatever its model says."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from purpose_desktop.engine.critic import UNBACKED_ANSWER_CAP, Critic
from purpose_desktop.engine.memory import ScoreAnchor
from purpose_desktop.engine.trajectory import State
from purpose_desktop.models.messages import ChatMessage, GenerationOptions, Usage
from purpose_desktop.models.scripted import FunctionModel
from tests.engine.scripted_team import memory_at


def critic_model(*answers: tuple[int, str]) -> FunctionModel:
    queue = list(answers)

    def reply(messages: Sequence[ChatMessage], options: GenerationOptions) -> str:
        score, evidence = queue.pop(0) if len(queue) > 1 else queue[0]
        return json.dumps({"score": score, "evidence": evidence})

    return FunctionModel(reply)


def score(critic: Critic, state: State, before: float, model: FunctionModel) -> tuple[float, str]:
    usages: list[Usage] = []
    result = asyncio.run(critic.score("team", state, before, model, usages.append))
    return result.phi, result.flag


STATE = State("What is 17 * 23?", ("391",))


def test_the_same_state_gets_the_same_score_without_asking_again(tmp_path: Path) -> None:
    critic = Critic(memory_at(tmp_path / "m.sqlite3"))
    model = critic_model((5, "391"), (2, "391"))
    assert score(critic, STATE, 0.0, model)[0] == 5.0
    assert score(critic, State("What is 17 * 23?", ("391",)), 0.0, model)[0] == 5.0
    assert len(model.calls) == 1


def test_nothing_observed_scores_zero_without_a_model_call(tmp_path: Path) -> None:
    model = critic_model((9, "great"))
    assert score(Critic(memory_at(tmp_path / "m.sqlite3")), State("t"), 0.0, model)[0] == 0.0
    assert model.calls == []


def test_the_critic_sees_observations_only(tmp_path: Path) -> None:
    model = critic_model((5, "391"))
    score(Critic(memory_at(tmp_path / "m.sqlite3")), STATE, 0.0, model)
    prompt = "\n".join(m.content for m in model.calls[0][0])
    assert "Observation 1: 391" in prompt
    assert "thought" not in prompt.lower()


def test_evidence_that_cites_nothing_observed_cannot_raise_the_score(tmp_path: Path) -> None:
    model = critic_model((4, "I solved it perfectly"))
    phi, flag = score(Critic(memory_at(tmp_path / "m.sqlite3")), STATE, 2.0, model)
    assert phi == 3.0
    assert "no evidence" in flag


def test_an_answer_no_observation_backs_is_capped(tmp_path: Path) -> None:
    model = critic_model((10, "391"))
    state = State("What is 17 * 23?", ("391",), answer="about 400")
    phi, flag = score(Critic(memory_at(tmp_path / "m.sqlite3")), state, 5.0, model)
    assert phi == UNBACKED_ANSWER_CAP
    assert "not backed" in flag
    backed = State("What is 17 * 23?", ("391",), answer="391")
    assert score(Critic(memory_at(tmp_path / "n.sqlite3")), backed, 5.0, model)[0] == 10.0


def test_an_implausible_jump_is_checked_again_and_the_cautious_score_kept(
    tmp_path: Path,
) -> None:
    model = critic_model((10, "391"), (4, "391"))
    phi, flag = score(Critic(memory_at(tmp_path / "m.sqlite3")), STATE, 1.0, model)
    assert len(model.calls) == 2
    assert phi == 4.0
    assert "implausible jump 1 → 10" in flag


def test_an_override_sets_the_state_and_shifts_similar_ones(tmp_path: Path) -> None:
    memory = memory_at(tmp_path / "m.sqlite3")
    critic = Critic(memory)
    model = critic_model((3, "391"))
    assert score(critic, STATE, 0.0, model)[0] == 3.0
    anchor = ScoreAnchor("team", STATE.task, STATE.text(), 3.0, 8.0, "correct", "run-1")
    asyncio.run(critic.record_override(anchor, STATE))
    assert score(critic, STATE, 0.0, model)[0] == 8.0
    similar = State("What is 17 * 23 please tell me", ("391",))
    assert score(critic, similar, 0.0, model)[0] > 5.0
    unrelated = State("Write a poem about the sea", ("waves",))
    assert score(critic, unrelated, 0.0, critic_model((3, "waves")))[0] == 3.0
