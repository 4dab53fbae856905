"""The critic: the purpose function Φ(state), a score from 0 to 10 with its evidence.

A small model judges, but the rules that keep it honest are code, not prompt:

- the same state always gets the same score (a cache by the state's hash);
- only observations count: the critic never sees the actors' thoughts, and its evidence is
  the number of an observation, so it can cite nothing else; a score that cites none cannot
  rise by more than 1;
- a proposed final answer that no observation backs scores at most :data:`UNBACKED_ANSWER_CAP`;
- a jump of more than ``jump_limit`` is flagged and scored again, keeping the cautious value;
- a step whose observation failed (a person rejected it, the tool failed or does not exist)
  never raises Φ, whatever the model makes of it;
- a person's corrections of similar states (anchors) shift the score towards theirs, except
  where the anchor judged another answer (or an answer where the state has none, or the other
  way round): a wrong answer scored 0 says nothing of a different answer to the same task,
  which would otherwise be pulled down with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from purpose_desktop.engine.context import fit
from purpose_desktop.engine.learning.memory import MemoryStore, ScoreAnchor
from purpose_desktop.engine.review import half_steps
from purpose_desktop.engine.text import content_words, shorten, similarity
from purpose_desktop.engine.trajectory import (
    CRITIC_UNANSWERED,
    State,
    answer_in,
    person_evidence,
)
from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ChatModel
from purpose_desktop.models.messages import ChatMessage, GenerationOptions, Usage
from purpose_desktop.models.structured import generate_json

log = logging.getLogger(__name__)

UNBACKED_ANSWER_CAP = 5.0
FAILED_STEP_FLAG = "a failed step cannot raise Φ"
ANSWER_TOKENS = 24  # {"score": 10, "observation": 12}: a short answer cannot be cut off
ANCHOR_SIMILARITY = 0.4  # below this a person's correction says little about the state
EVIDENCE_CHARS = 120
OBSERVATION_KEY = "observation"

INSTRUCTIONS = (
    'Answer with JSON: {"score": integer 0-10, "observation": integer}.\n'
    "Rate how far the observations get towards finishing the task: 0 = nothing useful "
    "observed, 10 = the task is done and an observation shows it. Only observations count: "
    '"observation" is the number of the observation your score rests on, 0 if none.'
)


def score_schema(observations: int) -> dict[str, object]:
    """The critic's answer for a state with ``observations`` observations. The evidence is
    the number of one of them: a small model asked to quote one rambles past its token
    limit, and a number cannot cite what was never observed."""
    return {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "enum": list(range(11))},
            OBSERVATION_KEY: {"type": "integer", "enum": list(range(observations + 1))},
        },
        "required": ["score", OBSERVATION_KEY],
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class Score:
    """Φ of a state. ``flag`` says why the score was limited or re-checked; ``calibrated_by``
    counts the human anchors that shifted it."""

    phi: float
    evidence: str
    flag: str = ""
    cached: bool = False
    calibrated_by: int = 0


UsageCallback = Callable[[Usage], None]


class Critic:
    """Scores states for every run of the runner that owns it; the cache lives as long."""

    def __init__(self, memory: MemoryStore, *, jump_limit: float = 5.0) -> None:
        self._memory = memory
        self._jump_limit = jump_limit
        self._cache: dict[tuple[str, str], Score] = {}

    async def score(
        self,
        team: str,
        state: State,
        phi_before: float,
        model: ChatModel,
        on_usage: UsageCallback,
        *,
        failed: bool = False,
    ) -> Score:
        """Φ of ``state`` for ``team``, asking ``model`` when the state is new.

        ``failed`` says the step that led to ``state`` failed (its observation is an error or
        a person's rejection): then the score is at most ``phi_before``.
        """
        score = await self._score(team, state, phi_before, model, on_usage)
        if failed and score.phi > phi_before:
            flag = "; ".join(filter(None, (score.flag, FAILED_STEP_FLAG)))
            return replace(score, phi=phi_before, flag=flag)
        return score

    async def _score(
        self,
        team: str,
        state: State,
        phi_before: float,
        model: ChatModel,
        on_usage: UsageCallback,
    ) -> Score:
        key = (team, state.digest())
        if key in self._cache:
            return replace(self._cache[key], cached=True)
        if not state.observations and state.answer is None:
            return self._remember(key, Score(0.0, "nothing observed yet"))
        anchors = await self._memory.find_anchors(team, state.text(), limit=3)
        # A person who scored this very state has the last word on it, in every later run.
        person = next((anchor for anchor in anchors if anchor.state == state.text()), None)
        if person is not None:
            return self._remember(key, _set_by_person(person))
        phi, evidence, cites = await self._judge(state, anchors, model, on_usage)
        if evidence == CRITIC_UNANSWERED:
            # A stand-in, not a judgement: not kept, so the state is scored again next time.
            return Score(phi, evidence, "the critic could not answer")
        flags: list[str] = []
        observed = " ".join(state.observations)
        if phi > phi_before + 1 and not cites:
            phi = min(phi, phi_before + 1)
            flags.append("no evidence from observations")
        if state.answer is not None and not _backed(state.answer, observed):
            phi = min(phi, UNBACKED_ANSWER_CAP)
            flags.append("the answer is not backed by any observation")
        if abs(phi - phi_before) > self._jump_limit:
            again, _, _ = await self._judge(state, anchors, model, on_usage, seed=7)
            flags.append(f"implausible jump {phi_before:g} → {phi:g}, re-checked: {again:g}")
            phi = min(phi, again, key=lambda value: abs(value - phi_before))
        phi, used = _calibrate(phi, state, anchors)
        return self._remember(key, Score(half_steps(phi), evidence, "; ".join(flags), False, used))

    def forget(self, team: str) -> None:
        """Drop the team's cached scores (a person's correction changes how it is scored)."""
        for key in [key for key in self._cache if key[0] == team]:
            del self._cache[key]

    async def record_override(self, anchor: ScoreAnchor, state: State) -> None:
        """Keep a person's score for ``state`` and let it shape how similar states score."""
        await self._memory.add_anchor(anchor)
        self.forget(anchor.team)
        self._cache[(anchor.team, state.digest())] = _set_by_person(anchor)

    def _remember(self, key: tuple[str, str], score: Score) -> Score:
        self._cache[key] = score
        return score

    async def _judge(
        self,
        state: State,
        anchors: Sequence[ScoreAnchor],
        model: ChatModel,
        on_usage: UsageCallback,
        seed: int | None = None,
    ) -> tuple[float, str, bool]:
        """The model's score, its evidence as a person reads it, and whether it cites an
        observation."""
        examples = [
            f"A person rated a similar state {a.human_score:g}/10"
            + (f" ({a.reason})" if a.reason else "")
            + f":\n{a.state}"
            for a in anchors
        ]
        messages = [
            ChatMessage("system", "\n\n".join([INSTRUCTIONS, *examples])),
            ChatMessage("user", state.text()),
        ]
        options = GenerationOptions(
            max_tokens=ANSWER_TOKENS, temperature=0.0 if seed is None else 0.7, seed=seed
        )
        try:
            messages, _ = await fit(model, messages, ANSWER_TOKENS)
            output = await generate_json(
                model, messages, score_schema(len(state.observations)), options
            )
        except ModelError as exc:
            log.info("The critic's answer was unusable: %s", exc)
            return (5.0 if state.answer is not None else 1.0), CRITIC_UNANSWERED, False
        on_usage(output.usage)
        cited = int(output.value[OBSERVATION_KEY])
        return float(output.value["score"]), _evidence(state, cited), cited > 0


def _set_by_person(anchor: ScoreAnchor) -> Score:
    return Score(anchor.human_score, person_evidence(anchor.reason))


def _evidence(state: State, cited: int) -> str:
    """The observation numbered ``cited`` (0: none), quoted."""
    if not cited:
        return "(no observation cited)"
    return f"Observation {cited}: {shorten(state.observations[cited - 1], EVIDENCE_CHARS)}"


def _backed(answer: str, observed: str) -> bool:
    words = set(content_words(answer))
    return bool(words) and bool(words & set(content_words(observed)))


def _calibrate(phi: float, state: State, anchors: Sequence[ScoreAnchor]) -> tuple[float, int]:
    """Shift ``phi`` by the corrections people made on similar states, weighted by likeness."""
    weighted = [
        (similarity(anchor.state, state.text()), anchor)
        for anchor in anchors
        if not _judged_another_answer(anchor, state)
    ]
    weighted = [(weight, anchor) for weight, anchor in weighted if weight >= ANCHOR_SIMILARITY]
    if not weighted:
        return phi, 0
    total = sum(weight for weight, _ in weighted)
    correction = sum(w * (a.human_score - a.critic_score) for w, a in weighted) / total
    strongest = max(weight for weight, _ in weighted)
    return phi + correction * strongest, len(weighted)


def _judged_another_answer(anchor: ScoreAnchor, state: State) -> bool:
    """Whether ``anchor`` scored a proposed answer other than the one ``state`` proposes, or
    one where ``state`` proposes none, or none where it does: a score of a final answer says
    little of the steps towards one, and the other way round."""
    return answer_in(anchor.state) != state.answer
