"""How a run ended, in words for the person who ran it: its status, its answer and, when it
did not finish well, why and what to do next.

:class:`OutcomeReader` follows a run's events (live or replayed) and writes the report when
the run finishes, from what :class:`~purpose_desktop.engine.events.RunFinished` and the events
before it carry: the last error, any model that could not be had, and the last score.

A run that completed is not always right: a small model finishes with answers nothing backs.
When the final score is :data:`DOUBTFUL_PHI` or less the report says so (``doubtful``), with the
critic's reason, so that a green "Completed" is never the only word on a doubtful answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.critic import UNBACKED_ANSWER_CAP
from purpose_desktop.engine.recording.journal import RecordingStopped

# The agent loop's words for its two common failures (see ``AgentLoop._steps`` and
# ``Actor.propose``); tests run the real loop into each, so a change there is noticed here.
_STEP_LIMIT = re.compile(r"^(?P<agent>.+?) reached its limit of (?P<limit>\d+) steps")
_NO_ACTION = re.compile(r"^(?P<agent>.+?) could not produce an action: (?P<why>.*)$", re.DOTALL)
_INVALID = re.compile(
    r"^The model (?P<model>.+?) gave no usable action.*?prompt: (?P<why>.*)$", re.DOTALL
)
_MODEL = re.compile(r"^The model (?P<model>.+?) gave ")

_RESUME_ADVICE = "Resume it from the Runs list to go on after its last finished step."

#: A completed run whose final Φ is at most this is reported as doubtful: the critic (or the
#: person) judged it half done or less. The critic caps an answer that no observation backs at
#: this, and puts it in when it could not answer at all.
DOUBTFUL_PHI = UNBACKED_ANSWER_CAP
_DOUBT_ADVICE = (
    "Check the answer before you rely on it. To correct scores like this one, set the agent's "
    "review to “always” in the Team pane: you then score each step, and the team learns from "
    "your scores."
)


@dataclass(frozen=True)
class OutcomeReport:
    """What a run came to. ``reason`` says why it did not complete and ``advice`` what to try
    next; for a run that completed both are empty, unless its answer is :attr:`doubtful`."""

    status: ev.RunStatus
    answer: str
    details: str
    """Steps, final Φ, tokens and time, as one line ("4 steps · Φ 7 · 152 tokens in 3.2 s")."""
    reason: str = ""
    advice: str = ""
    doubtful: bool = False
    """The run completed with an answer its final score doubts (``reason`` says why)."""

    @property
    def headline(self) -> str:
        """The status as a person reads it: "Completed", "Failed", …"""
        return self.status.capitalize()


class OutcomeReader:
    """Follows one run's events in order; :meth:`read` returns the report at its end.

    A run resumed or forked starts a new part of the record: what was read before it is
    forgotten, so a replay of a run that was cancelled and then resumed reports how it
    finally ended.
    """

    def __init__(self) -> None:
        self._error = ""
        self._unavailable: tuple[str, str] | None = None  # (model, why)
        self._last_score: ev.Scored | ev.ScoreOverridden | None = None

    def read(self, event: ev.Event) -> OutcomeReport | None:
        """Take in ``event``; the run's report if it is the one that ends the run."""
        match event:
            case ev.RunStarted() | ev.RunResumed() | ev.RunForked():
                self._error, self._unavailable, self._last_score = "", None, None
            case ev.Scored() | ev.ScoreOverridden():
                self._last_score = event
            case ev.ErrorRaised(message=message):
                self._error = message
            case ev.ModelStatusChanged(state="unavailable", model=model, detail=detail):
                self._unavailable = (model, detail)
            case ev.RunFinished() as finished:
                return self._report(finished)
        return None

    def _report(self, finished: ev.RunFinished) -> OutcomeReport:
        details = _details(finished)
        if finished.status == "completed":
            if finished.steps and finished.phi <= DOUBTFUL_PHI:
                reason = _doubt(finished.phi, self._last_score)
                return OutcomeReport(
                    "completed", finished.answer, details, reason, _DOUBT_ADVICE, doubtful=True
                )
            return OutcomeReport("completed", finished.answer, details)
        if finished.status == "cancelled":
            return OutcomeReport(
                "cancelled",
                finished.answer,
                details,
                "It was cancelled before it finished.",
                _RESUME_ADVICE,
            )
        reason, advice = explain_failure(self._error, self._unavailable)
        return OutcomeReport("failed", finished.answer, details, reason, advice)


def explain_failure(error: str, unavailable: tuple[str, str] | None = None) -> tuple[str, str]:
    """Why a run failed and what to do next, from its error message and the model that could
    not be had (name and why), if one could not."""
    if (match := _STEP_LIMIT.match(error)) is not None:
        agent = match["agent"]
        return error, (
            f"Raise {agent}'s step limit (max steps) in the Team pane, or break "
            "the task into smaller ones."
        )
    if (match := _NO_ACTION.match(error)) is not None:
        why, agent = match["why"].strip(), match["agent"]
        invalid, named = _INVALID.match(why), _MODEL.match(why)
        than = f" than {named['model']}" if named is not None else ""
        return (
            (
                f"The model's answer was not a valid action: {invalid['why'].strip()}"
                if invalid is not None
                else why
            ),
            f"Try another model for {agent}{than}: a larger one keeps to the action "
            "format better. Or word the task more simply.",
        )
    if error.startswith(RecordingStopped.PREFIX):
        return error, (
            "Nothing more can be recorded until the app starts again: check the disk "
            "and the database, then start the app again and resume the run from "
            "its last saved step (Runs list)."
        )
    if unavailable is not None:
        model, why = unavailable
        return (
            error or f"The model {model} could not be used: {why}",
            f"Check {model} in the Models pane, or choose another model for the agent "
            "in the Team pane.",
        )
    if error:
        return error, "The timeline shows what happened before it stopped."
    return (
        "The run stopped without saying why.",
        "The timeline shows the last thing that happened before it stopped.",
    )


def _doubt(phi: float, last: ev.Scored | ev.ScoreOverridden | None) -> str:
    """Why an answer scored ``phi`` is in doubt, from the last score of the run (``last``)."""
    if isinstance(last, ev.ScoreOverridden) and last.phi == phi:
        return f"You scored the answer Φ {phi:g} of 10, so it may be wrong."
    if isinstance(last, ev.Scored) and last.phi == phi:
        why = f" ({last.flag})" if last.flag else ""
        return f"The critic scored the answer Φ {phi:g} of 10{why}, so it may be wrong."
    # A resumed run that ended without a step of its own: who scored it is in the record.
    return f"The answer's final score is Φ {phi:g} of 10, so it may be wrong."


def _details(finished: ev.RunFinished) -> str:
    steps = f"{finished.steps} step" + ("" if finished.steps == 1 else "s")
    parts = [steps]
    if finished.steps:
        parts.append(f"Φ {finished.phi:g}")
    parts.append(f"{finished.completion_tokens} tokens in {finished.seconds:.1f} s")
    return " · ".join(parts)
