"""Runs recorded through the journal: what is stored, and resuming and forking from it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.loop.run import RunOutcome, TeamRunner
from purpose_desktop.engine.recording.replay import MAX_PAUSE_S, replay
from purpose_desktop.engine.trajectory import Action, State
from purpose_desktop.errors import UserError
from purpose_desktop.models.messages import ChatMessage
from purpose_desktop.models.scripted import ScriptedProvider
from purpose_desktop.store.database import reading
from purpose_desktop.store.opening import Store, open_store
from purpose_desktop.store.run_journal import SqlRunJournal
from sqlalchemy import text
from tests.support.recording import StallAtStep, run_until_stalled
from tests.support.scripted_team import act, make_team, one_agent_team, team_model


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "store.sqlite3")
    yield opened
    opened.engine.dispose()


@pytest.fixture
def journal(store: Store) -> Iterator[SqlRunJournal]:
    recorder = SqlRunJournal(lambda: store.engine)
    yield recorder
    recorder.close()


def recording_runner(
    tmp_path: Path, store: Store, journal: SqlRunJournal, models: dict[str, object]
) -> TeamRunner:
    return TeamRunner(
        ScriptedProvider(models),
        store.memory,  # type: ignore[arg-type]
        workspaces_dir=tmp_path / "workspaces",
        journal=journal,
    )


def kinds(events: Sequence[ev.Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_a_run_is_recorded_event_by_event_with_its_steps_costs_and_checkpoints(
    tmp_path: Path, store: Store, journal: SqlRunJournal
) -> None:
    model = team_model(
        [act("calculator", expression="17*23"), act("finish", answer="391")], score=6
    )
    runner = recording_runner(tmp_path, store, journal, {"m": model})
    seen: list[ev.Event] = []
    outcome = asyncio.run(runner.run(one_agent_team(tmp_path), "What is 17 * 23?", [seen.append]))
    assert outcome.status == "completed"
    assert outcome.record_error is None
    assert store.runs.events_now(outcome.run_id) == seen
    detail = store.runs.run_now(outcome.run_id[:8])
    summary = detail.summary
    assert (summary.status, summary.answer, summary.agent, summary.steps, summary.phi) == (
        "completed",
        "391",
        "solver",
        2,
        6.0,
    )
    assert summary.events == len(seen)
    assert summary.prompt_tokens == outcome.usage.prompt_tokens
    assert detail.steps == outcome.steps
    costs = [e for e in seen if isinstance(e, ev.CostRecorded)]
    (by_agent,) = store.runs.cost_totals_now("agent")
    assert (by_agent.key, by_agent.calls) == ("solver", len(costs))
    assert by_agent.completion_tokens == sum(e.completion_tokens for e in costs)
    with reading(store.engine) as connection:
        steps = (
            connection.execute(
                text("SELECT step FROM checkpoints WHERE run_id = :id ORDER BY step"),
                {"id": outcome.run_id},
            )
            .scalars()
            .all()
        )
    assert steps == [0, 1, 2]  # the start, then after every step


def test_a_cancelled_run_resumes_as_the_same_run_from_its_last_checkpoint(
    tmp_path: Path, store: Store, journal: SqlRunJournal
) -> None:
    actions = [act("calculator", expression="17*23"), act("calculator", expression="2+2")]
    runner = recording_runner(tmp_path, store, journal, {"m": team_model(actions, score=5)})
    team = one_agent_team(tmp_path, review="always")
    before: list[ev.Event] = []
    run_id = asyncio.run(
        run_until_stalled(runner, team, "What is 17 * 23?", StallAtStep(2), before)
    )
    assert store.runs.run_now(run_id).summary.status == "cancelled"

    # Step 1 is in the checkpoint; step 2 is taken again, now with a finishing action.
    resumed_runner = recording_runner(
        tmp_path, store, journal, {"m": team_model([act("finish", answer="391")], score=8)}
    )
    after: list[ev.Event] = []
    outcome = asyncio.run(resumed_runner.resume(run_id, [after.append]))
    assert (outcome.run_id, outcome.status, outcome.answer) == (run_id, "completed", "391")
    assert [s.action.tool for s in outcome.steps] == ["calculator", "finish"]
    assert outcome.steps[0].observation.text == "391"
    resumed = after[0]
    assert isinstance(resumed, ev.RunResumed) and resumed.from_step == 1
    stored = store.runs.events_now(run_id)
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
    assert stored == before + after
    # The second attempt at step 2 follows the first in the record.
    assert [e.step for e in stored if isinstance(e, ev.StepStarted)] == [1, 2, 2]
    detail = store.runs.run_now(run_id)
    assert detail.summary.status == "completed"
    assert [s.index for s in detail.steps] == [1, 2]
    with pytest.raises(UserError, match="only an interrupted or cancelled run"):
        asyncio.run(resumed_runner.resume(run_id))


def test_a_fork_goes_on_from_a_step_with_an_edited_action(
    tmp_path: Path, store: Store, journal: SqlRunJournal
) -> None:
    model = team_model(
        [act("calculator", expression="17*23"), act("finish", answer="391")], score=5
    )
    runner = recording_runner(tmp_path, store, journal, {"m": model})
    original = asyncio.run(runner.run(one_agent_team(tmp_path), "What is 17 * 23?"))
    original_events = store.runs.events_now(original.run_id)

    seen: list[ev.Event] = []
    fork = asyncio.run(
        runner.fork(
            original.run_id, 1, [seen.append], action=Action("finish", {"answer": "three hundred"})
        )
    )
    assert fork.run_id != original.run_id
    assert (fork.status, fork.answer) == ("completed", "three hundred")
    forked = seen[0]
    assert isinstance(forked, ev.RunForked)
    assert (forked.parent_run_id, forked.from_step, forked.edited) == (original.run_id, 1, "action")
    proposed = [e for e in seen if isinstance(e, ev.ActionProposed)]
    assert [(p.tool, p.parse_method) for p in proposed] == [("finish", "person")]

    stored = store.runs.events_now(fork.run_id)
    copied = stored[: forked.seq - 1]
    # The fork holds the original's events up to the end of step 1, then its own.
    assert [(type(e), e.seq) for e in copied] == [
        (type(e), e.seq) for e in original_events[: len(copied)]
    ]
    assert kinds(copied)[-1] == "Scored"
    assert stored[len(copied) :] == seen
    summary = store.runs.run_now(fork.run_id).summary
    assert (summary.parent_run_id, summary.forked_from_step) == (original.run_id, 1)
    assert [s.action.tool for s in store.runs.run_now(fork.run_id).steps] == [
        "calculator",
        "finish",
    ]
    # The original is untouched.
    assert store.runs.events_now(original.run_id) == original_events


def test_a_fork_with_an_edited_state_shows_the_agent_the_edited_observation(
    tmp_path: Path, store: Store, journal: SqlRunJournal
) -> None:
    model = team_model([act("calculator", expression="17*23"), act("finish", answer="391")])
    runner = recording_runner(tmp_path, store, journal, {"m": model})
    original = asyncio.run(runner.run(one_agent_team(tmp_path), "What is 17 * 23?"))

    prompts: list[str] = []

    def finish(messages: Sequence[ChatMessage]) -> str:
        prompts.append("\n".join(m.content for m in messages))
        return act("finish", answer="400")

    editing = recording_runner(tmp_path, store, journal, {"m": team_model(finish)})
    fork = asyncio.run(editing.fork(original.run_id, 1, state=State("What is 20 * 20?", ("400",))))
    assert fork.answer == "400"
    assert "What is 20 * 20?" in prompts[0]
    assert "400" in prompts[0] and "391" not in prompts[0]
    with pytest.raises(ValueError, match="observations"):
        asyncio.run(editing.fork(original.run_id, 1, state=State("x", ("a", "b"))))


def test_a_run_stopped_while_a_teammate_works_resumes_inside_the_teammates_turn(
    tmp_path: Path, store: Store, journal: SqlRunJournal
) -> None:
    team = make_team(
        "name: T\nagents:\n"
        "  - name: lead\n    role: Lead.\n    model: lead\n    tools: [calculator]\n"
        "    review: never\n"
        "  - name: helper\n    role: Help.\n    model: helper\n    tools: [calculator]\n"
        "    review: always\n",
        tmp_path,
    )
    lead = team_model([act("delegate", agent="helper", task="multiply 17 by 23")], route="lead")
    helper = team_model(
        [act("calculator", expression="17*23"), act("calculator", expression="1+1")]
    )
    runner = recording_runner(tmp_path, store, journal, {"lead": lead, "helper": helper})
    seen: list[ev.Event] = []
    run_id = asyncio.run(
        run_until_stalled(runner, team, "lead: what is 17 * 23?", StallAtStep(3), seen)
    )
    assert [(e.agent, e.step) for e in seen if isinstance(e, ev.StepStarted)] == [
        ("lead", 1),
        ("helper", 2),
        ("helper", 3),
    ]

    lead_after = team_model([act("finish", answer="391")])
    helper_after = team_model([act("finish", answer="391")])
    resumed_runner = recording_runner(
        tmp_path, store, journal, {"lead": lead_after, "helper": helper_after}
    )
    after: list[ev.Event] = []
    outcome: RunOutcome = asyncio.run(resumed_runner.resume(run_id, [after.append]))
    assert (outcome.status, outcome.answer) == ("completed", "391")
    # The helper goes on with its own step 3, answers, and the lead's step 1 ends with it.
    assert [(s.index, s.agent, s.action.tool) for s in outcome.steps] == [
        (2, "helper", "calculator"),
        (3, "helper", "finish"),
        (1, "lead", "delegate"),
        (4, "lead", "finish"),
    ]
    assert outcome.steps[2].observation.text == "helper answered: 391"
    assert not [e for e in after if isinstance(e, ev.AgentSelected)]
    assert [s.index for s in store.runs.run_now(run_id).steps] == [1, 2, 3, 4]


def test_a_finished_run_replays_event_by_event_as_recorded(
    tmp_path: Path, store: Store, journal: SqlRunJournal
) -> None:
    model = team_model([act("calculator", expression="17*23"), act("finish", answer="391")])
    runner = recording_runner(tmp_path, store, journal, {"m": model})
    seen: list[ev.Event] = []
    outcome = asyncio.run(runner.run(one_agent_team(tmp_path), "What is 17 * 23?", [seen.append]))
    replayed: list[ev.Event] = []

    async def slow(event: ev.Event) -> None:
        await asyncio.sleep(0)
        replayed.append(event)

    count = asyncio.run(replay(store.runs.stream_events(outcome.run_id, page=7), [slow]))
    assert count == len(seen)
    assert replayed == seen

    async def paced(speed: float) -> float:
        started = asyncio.get_running_loop().time()
        await replay(store.runs.stream_events(outcome.run_id), [], speed=speed)
        return asyncio.get_running_loop().time() - started

    # A tenth of the speed makes each pause ten times as long as the run's, each at most
    # MAX_PAUSE_S (a machine that stalled while recording made one gap long).
    gaps = [later.timestamp - earlier.timestamp for earlier, later in itertools.pairwise(seen)]
    expected = sum(min(max(gap, 0.0) * 10, MAX_PAUSE_S) for gap in gaps)
    assert asyncio.run(paced(0.1)) >= expected * 0.9
    assert asyncio.run(paced(0.1)) < expected + 1.0
    with pytest.raises(ValueError, match="speed"):
        asyncio.run(replay(store.runs.stream_events(outcome.run_id), [], speed=0))
