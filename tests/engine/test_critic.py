"""The critic's rules hold whatever its model says."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from purpose_desktop.engine.critic import UNBACKED_ANSWER_CAP, Critic
from purpose_desktop.engine.learning.memory import ScoreAnchor
from purpose_desktop.engine.trajectory import CRITIC_UNANSWERED, State
from purpose_desktop.models.messages import ChatMessage, GenerationOptions, Usage
from purpose_desktop.models.scripted import FunctionModel
from tests.support.scripted_team import memory_at


def critic_model(*answers: tuple[int, int]) -> FunctionModel:
    """Answers each score with the next (score, number of the observation cited)."""
    queue = list(answers)

    def reply(messages: Sequence[ChatMessage], options: GenerationOptions) -> str:
        score, cited = queue.pop(0) if len(queue) > 1 else queue[0]
        return json.dumps({"score": score, "observation": cited})

    return FunctionModel(reply)


def score(critic: Critic, state: State, before: float, model: FunctionModel) -> tuple[float, str]:
    usages: list[Usage] = []
    result = asyncio.run(critic.score("team", state, before, model, usages.append))
    return result.phi, result.flag


STATE = State("What is 17 * 23?", ("391",))


def test_the_same_state_gets_the_same_score_without_asking_again(tmp_path: Path) -> None:
    critic = Critic(memory_at(tmp_path / "m.sqlite3"))
    model = critic_model((5, 1), (2, 1))
    assert score(critic, STATE, 0.0, model)[0] == 5.0
    assert score(critic, State("What is 17 * 23?", ("391",)), 0.0, model)[0] == 5.0
    assert len(model.calls) == 1


def test_nothing_observed_scores_zero_without_a_model_call(tmp_path: Path) -> None:
    model = critic_model((9, 1))
    assert score(Critic(memory_at(tmp_path / "m.sqlite3")), State("t"), 0.0, model)[0] == 0.0
    assert model.calls == []


def test_the_critic_sees_observations_only(tmp_path: Path) -> None:
    model = critic_model((5, 1))
    score(Critic(memory_at(tmp_path / "m.sqlite3")), STATE, 0.0, model)
    prompt = "\n".join(m.content for m in model.calls[0][0])
    assert "Observation 1: 391" in prompt
    assert "thought" not in prompt.lower()


def test_a_score_that_cites_no_observation_cannot_rise_much(tmp_path: Path) -> None:
    model = critic_model((4, 0))
    phi, flag = score(Critic(memory_at(tmp_path / "m.sqlite3")), STATE, 2.0, model)
    assert phi == 3.0
    assert "no evidence" in flag


def test_the_evidence_is_the_cited_observation_and_nothing_else_can_be_cited(
    tmp_path: Path,
) -> None:
    model = critic_model((6, 2))
    state = State("What is 17 * 23 + 1?", ("391", "392"))
    result = asyncio.run(
        Critic(memory_at(tmp_path / "m.sqlite3")).score(
            "team", state, 2.0, model, lambda usage: None
        )
    )
    assert (result.phi, result.evidence, result.flag) == (6.0, "Observation 2: 392", "")
    schema = model.calls[0][1].json_schema
    assert schema is not None and schema["properties"]["observation"]["enum"] == [0, 1, 2]
    # An observation that is not there is no answer: the critic could not answer.
    wrong = asyncio.run(
        Critic(memory_at(tmp_path / "n.sqlite3")).score(
            "team", state, 0.0, critic_model((9, 3)), lambda usage: None
        )
    )
    assert wrong.evidence == "(the critic could not answer)" and wrong.phi == 1.0


def test_an_answer_no_observation_backs_is_capped(tmp_path: Path) -> None:
    model = critic_model((10, 1))
    state = State("What is 17 * 23?", ("391",), answer="about 400")
    phi, flag = score(Critic(memory_at(tmp_path / "m.sqlite3")), state, 5.0, model)
    assert phi == UNBACKED_ANSWER_CAP
    assert "not backed" in flag
    backed = State("What is 17 * 23?", ("391",), answer="391")
    assert score(Critic(memory_at(tmp_path / "n.sqlite3")), backed, 5.0, model)[0] == 10.0


def test_an_implausible_jump_is_checked_again_and_the_cautious_score_kept(
    tmp_path: Path,
) -> None:
    model = critic_model((10, 1), (4, 1))
    phi, flag = score(Critic(memory_at(tmp_path / "m.sqlite3")), STATE, 1.0, model)
    assert len(model.calls) == 2
    assert phi == 4.0
    assert "implausible jump 1 → 10" in flag


def test_an_override_sets_the_state_and_shifts_similar_ones(tmp_path: Path) -> None:
    memory = memory_at(tmp_path / "m.sqlite3")
    critic = Critic(memory)
    model = critic_model((3, 1))
    assert score(critic, STATE, 0.0, model)[0] == 3.0
    anchor = ScoreAnchor("team", STATE.task, STATE.text(), 3.0, 8.0, "correct", "run-1")
    asyncio.run(critic.record_override(anchor, STATE))
    assert score(critic, STATE, 0.0, model)[0] == 8.0
    similar = State("What is 17 * 23 please tell me", ("391",))
    assert score(critic, similar, 0.0, model)[0] > 5.0
    unrelated = State("Write a poem about the sea", ("waves",))
    assert score(critic, unrelated, 0.0, critic_model((3, 1)))[0] == 3.0


def test_a_persons_score_outranks_the_critic_for_that_state_in_every_later_run(
    tmp_path: Path,
) -> None:
    memory = memory_at(tmp_path / "m.sqlite3")
    anchor = ScoreAnchor("team", STATE.task, STATE.text(), 3.0, 9.0, "right", "run-1")
    asyncio.run(Critic(memory).record_override(anchor, STATE))
    # A new critic (the app started again) asks no model for that state: the person's 9 stands.
    model = critic_model((2, 1))
    result = asyncio.run(Critic(memory).score("team", STATE, 0.0, model, lambda usage: None))
    assert (result.phi, result.evidence) == (9.0, "set by a person: right")
    assert model.calls == []


def test_the_stand_in_for_a_critic_that_could_not_answer_is_never_kept(tmp_path: Path) -> None:
    answering = False

    def reply(messages: Sequence[ChatMessage], options: GenerationOptions) -> str:
        return json.dumps({"score": 7, "observation": 1}) if answering else "not a score"

    model = FunctionModel(reply)
    critic = Critic(memory_at(tmp_path / "m.sqlite3"))
    stand_in = asyncio.run(critic.score("team", STATE, 0.0, model, lambda usage: None))
    assert (stand_in.evidence, stand_in.flag) == (CRITIC_UNANSWERED, "the critic could not answer")
    # Asked again, the critic's model is asked again, and its real score is kept.
    answering = True
    judged = asyncio.run(critic.score("team", STATE, 0.0, model, lambda usage: None))
    assert (judged.phi, judged.evidence) == (7.0, "Observation 1: 391")


def test_a_persons_score_of_a_state_outranks_many_more_similar_anchors(tmp_path: Path) -> None:
    """However many similar states a person scored since, their score of this one stands."""
    memory = memory_at(tmp_path / "m.sqlite3")
    answered = State(STATE.task, STATE.observations, "391")
    first = ScoreAnchor("team", STATE.task, answered.text(), 3.0, 10.0, "right", "run-0")
    asyncio.run(memory.add_anchor(first))
    for number in range(8):  # shorter, wordier, newer: the ranking would put them first
        other = State(STATE.task, STATE.observations, f"{number}")
        anchor = ScoreAnchor("team", STATE.task, other.text(), 8.0, 0.0, "wrong", f"run-{number}")
        asyncio.run(memory.add_anchor(anchor))
    model = critic_model((2, 1))
    result = asyncio.run(Critic(memory).score("team", answered, 0.0, model, lambda usage: None))
    assert (result.phi, model.calls) == (10.0, [])


def test_an_anchor_on_another_answer_does_not_pull_this_one(tmp_path: Path) -> None:
    """A wrong answer a person scored 0 says nothing of a different answer to the same task;
    a person's high score of the same answer in a similar state does shift it."""
    memory = memory_at(tmp_path / "m.sqlite3")
    wrong = State(STATE.task, STATE.observations, "17")
    asyncio.run(
        memory.add_anchor(ScoreAnchor("team", STATE.task, wrong.text(), 9.0, 0.0, "no", "r1"))
    )
    right = State(STATE.task, STATE.observations, "391")
    scored = asyncio.run(
        Critic(memory).score("team", right, 0.0, critic_model((6, 1)), lambda usage: None)
    )
    assert (scored.phi, scored.calibrated_by) == (6.0, 0)

    like = State("What is 17 * 23 now?", STATE.observations, "391")
    asyncio.run(
        memory.add_anchor(ScoreAnchor("team", like.task, like.text(), 6.0, 10.0, "yes", "r2"))
    )
    raised = asyncio.run(
        Critic(memory).score("team", right, 0.0, critic_model((6, 1)), lambda usage: None)
    )
    assert raised.phi > 6.0 and raised.calibrated_by == 1
