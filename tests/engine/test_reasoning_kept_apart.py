"""A model's reasoning in an agent that calls tools: streamed as events of its own and kept
with each step, but never read as the action, never given to the critic, and never part of
the agent's later prompts. A scripted model reasons before each action, so every prompt it
was given can be searched for that reasoning."""

from __future__ import annotations

import asyncio
from pathlib import Path

from purpose_desktop.engine import events as ev
from purpose_desktop.models.scripted import ScriptedProvider
from tests.support.reasoning_runs import ReasoningModel
from tests.support.scripted_team import act, one_agent_team, role_of, runner, team_model

REASONING = [
    "Seventeen twenties are 340; plus seventeen threes, 51. Call it SECRET-ONE.",
    "The calculator said 391. Call it SECRET-TWO.",
]


def test_reasoning_is_kept_with_each_step_and_out_of_every_later_prompt(tmp_path: Path) -> None:
    model = ReasoningModel(
        team_model([act("calculator", expression="17*23"), act("finish", answer="391")]),
        list(REASONING),
    )
    events: list[ev.Event] = []
    outcome = asyncio.run(
        runner(tmp_path, ScriptedProvider({"m": model})).run(
            one_agent_team(tmp_path), "Multiply 17 by 23.", [events.append]
        )
    )

    assert outcome.status == "completed", outcome.error
    assert outcome.answer == "391"
    # Streamed apart from the answer's tokens, and each step keeps its own.
    streamed = "".join(e.text for e in events if isinstance(e, ev.ThinkingStreamed))
    assert streamed == "".join(REASONING)
    tokens = "".join(e.text for e in events if isinstance(e, ev.TokenStreamed))
    assert "SECRET" not in tokens
    assert [s.thinking for s in outcome.steps] == REASONING
    assert [s.action.tool for s in outcome.steps] == ["calculator", "finish"]
    assert all("SECRET" not in s.action.thought for s in outcome.steps)

    # What the model was given: the critic's two states and the agent's second prompt, which
    # holds the first step's action and observation, hold none of the reasoning.
    roles = [role_of(options) for _messages, options in model.calls]
    assert roles == ["act", "score", "act", "score"]
    second_prompt = "\n".join(m.content for m in model.calls[2][0])
    assert "391" in second_prompt  # the first step's observation is there
    for messages, _options in model.calls:
        assert all("SECRET" not in message.content for message in messages)
