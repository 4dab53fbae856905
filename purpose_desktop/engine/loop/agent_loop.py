"""One agent's ReAct loop inside a run, step by step, with review, tools and the critic."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from purpose_desktop.engine.context import budget_for, counter_for, fit
from purpose_desktop.engine.critic import Critic, Score
from purpose_desktop.engine.events import (
    ActionProposed,
    ActionReviewed,
    AgentSelected,
    CallPurpose,
    Event,
    MemoryRetrieved,
    RecalledExperience,
    RecalledHeuristic,
    ReviewVerdict,
    RunContinued,
    RunPaused,
    RunStatus,
    Scored,
    ScoreOverridden,
    StepStarted,
    ThinkingStreamed,
    TokenStreamed,
    ToolFinished,
    ToolStarted,
    WarningRaised,
)
from purpose_desktop.engine.history import compact_history
from purpose_desktop.engine.learning import dead_ends, plans
from purpose_desktop.engine.learning.dead_ends import DeadEnds
from purpose_desktop.engine.learning.lessons import REJECTED_PREFIX
from purpose_desktop.engine.learning.memory import (
    Experience,
    Heuristic,
    MemoryStore,
    ScoreAnchor,
    Tier,
)
from purpose_desktop.engine.loop.actor import Actor, Proposal, StepFailed
from purpose_desktop.engine.loop.choices import (
    Choices,
    Refusal,
    failed_before,
    first_step_choices,
    misfit_handover,
    repeated_success,
    same_call,
)
from purpose_desktop.engine.loop.fallback import (
    answered_apart_from,
    answered_by_calculator,
    answered_by_repeat,
    answered_by_tools,
    rule_action,
)
from purpose_desktop.engine.loop.prompts import (
    answer_prompt,
    head_messages,
    simpler_messages,
    system_prompt,
)
from purpose_desktop.engine.loop.run_context import ModelService, RunContext
from purpose_desktop.engine.loop.task_paths import restore_paths
from purpose_desktop.engine.recording.checkpoint import Frame, PendingDelegation
from purpose_desktop.engine.review import (
    ActionReviewRequest,
    ScoreReviewRequest,
    asks_for_action,
    asks_for_score,
    checked_override,
)
from purpose_desktop.engine.text import kind_similarity
from purpose_desktop.engine.tools.base import Tool, ToolError
from purpose_desktop.engine.tools.calculator import CALCULATOR
from purpose_desktop.engine.tools.functions import call_tool
from purpose_desktop.engine.tools.selection import select_tools
from purpose_desktop.engine.trajectory import (
    DELEGATE,
    FINISH,
    Action,
    Exchange,
    Observation,
    State,
    Step,
    person_evidence,
)
from purpose_desktop.errors import ModelError
from purpose_desktop.models.base import ChatModel
from purpose_desktop.models.messages import ChatMessage, GenerationOptions, Usage
from purpose_desktop.models.structured import generate_json

if TYPE_CHECKING:
    from purpose_desktop.engine.specs import AgentSpec

MAX_DELEGATION_DEPTH = 1
MAX_FAILED_STEPS = 2
OBSERVATION_CHARS = 600  # of a tool's output shown to the model; small contexts fill fast
TOOLS_PER_STEP = 3
FINISH_HINT = "If this answers the task, finish with it."
HINT_TOKENS = 16
HEURISTICS_SHOWN = 3
RELEVANT = 0.4
"""How alike in kind (:func:`~purpose_desktop.engine.text.kind_similarity`: the words, numbers
left out, and one content word at least in common) a learned lesson's task and the task at hand
must be for the lesson to be shown. A small model copies what its prompt shows: a lesson from
an unrelated task ("calculator(expression=17) worked") leads it to the same call on this one."""
HEURISTICS_SPARE = 5  # found in case some are dead ends, which the prompt leaves out
BORROW_LOOKUP = 50
"""How many of the team's best procedural lessons are looked through for a plan to borrow."""
RESAMPLES = 2
"""How often an agent whose proposal a rule refuses is asked for another sample (at
``RESAMPLE_TEMPERATURE``), when nothing can be taken out of its choices, before the step fails;
the first of them also comes before anything is taken out."""
RESAMPLE_TEMPERATURE = 0.8


@dataclass
class _Turn:
    """One agent working on one task in a run: what it has seen and done so far."""

    run: RunContext
    agent: AgentSpec
    model: ChatModel
    task: str
    tools: tuple[Tool, ...]
    teammates: tuple[str, ...]
    depth: int
    exchanges: list[Exchange] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    phi: float = 0.0
    failed_steps: int = 0
    steps_taken: int = 0
    delegating: PendingDelegation | None = None
    experiences: list[Experience] | None = None  # found once: they match the task alone
    dead_ends: DeadEnds | None = None  # likewise
    borrowable: list[plans.LearnedPlan] | None = None  # found once, where first needed
    thinking: list[str] = field(default_factory=list)
    """The reasoning the model wrote during the step under way, for the step's record only:
    it stays out of :attr:`exchanges`, so no later prompt carries it."""

    def frame(self) -> Frame:
        return Frame(
            self.agent.name,
            self.task,
            self.depth,
            self.steps_taken,
            tuple(self.exchanges),
            tuple(self.observations),
            self.phi,
            self.failed_steps,
            self.delegating,
        )

    def restore(self, frame: Frame) -> None:
        self.exchanges = list(frame.exchanges)
        self.observations = list(frame.observations)
        self.phi = frame.phi
        self.failed_steps = frame.failed_steps
        self.steps_taken = frame.steps_taken
        self.delegating = frame.delegating

    def emit(self, event: Event) -> None:
        """Emit ``event``, one about this turn's agent, on the run's stream."""
        self.run.events.emit(event)

    def proposed(self, step: int, action: Action, parse_method: str, attempts: int) -> None:
        """Emit that the agent proposes ``action`` at ``step``, read as ``parse_method`` after
        ``attempts`` answers (a person's action: "person", 0)."""
        self.emit(
            ActionProposed(
                agent=self.agent.name,
                step=step,
                tool=action.tool,
                arguments=dict(action.arguments),
                thought=action.thought,
                parse_method=parse_method,
                attempts=attempts,
            )
        )

    def reviewed(
        self,
        step: int,
        action: Action,
        verdict: ReviewVerdict,
        by: Literal["person", "policy"],
        reason: str = "",
    ) -> None:
        """Emit the review's ``verdict`` on ``action`` (as it is carried out) at ``step``."""
        self.emit(
            ActionReviewed(
                agent=self.agent.name,
                step=step,
                verdict=verdict,
                tool=action.tool,
                arguments=dict(action.arguments),
                reason=reason,
                by=by,
            )
        )

    def tool(self, name: str) -> Tool | None:
        return next((tool for tool in self.tools if tool.name == name), None)

    def warn(self, message: str) -> None:
        self.run.events.emit(WarningRaised(message=message))

    def record(self, purpose: CallPurpose, usage: Usage) -> None:
        self.run.record_call(self.agent.name, self.agent.model, purpose, usage)


@dataclass(frozen=True)
class _Done:
    """What carrying out an action gave: the action as done, its observation, and the final
    answer when it finished."""

    action: Action
    observation: Observation
    answer: str | None = None


class AgentLoop:
    def __init__(
        self,
        models: ModelService,
        memory: MemoryStore,
        critic: Critic,
        *,
        max_answer_tokens: int,
    ) -> None:
        self._models = models
        self._memory = memory
        self._critic = critic
        self._max_answer_tokens = max_answer_tokens

    async def run(
        self,
        run: RunContext,
        agent: AgentSpec,
        task: str,
        depth: int = 0,
        *,
        resume: Sequence[Frame] = (),
        first_action: Action | None = None,
    ) -> tuple[RunStatus, str, str | None]:
        """Run ``agent`` on ``task`` until it finishes: (status, answer, error message).

        ``resume`` holds this turn's frame from a checkpoint (and the frames of the teammates
        it waits for) to go on from; ``first_action`` stands in for the next proposal.
        """
        teammates = (
            ()
            if depth >= MAX_DELEGATION_DEPTH
            else tuple(a.name for a in run.team.spec.agents if a.name != agent.name)
        )
        async with self._models.use(agent.model, run.team.base_dir, run.report_status) as model:
            tools = run.agent_tools.get(agent.name, ())
            turn = _Turn(run, agent, model, task, tools, teammates, depth)
            if resume:
                turn.restore(resume[0])
            run.turns.append(turn)
            try:
                if not resume:
                    run.checkpoint()  # the start, after the agent was chosen
                return await self._steps(turn, resume[1:], first_action)
            finally:
                run.turns.pop()

    async def _steps(
        self, turn: _Turn, waiting_for: Sequence[Frame], first_action: Action | None
    ) -> tuple[RunStatus, str, str | None]:
        run, agent = turn.run, turn.agent
        if turn.delegating is not None:
            # Resumed while a teammate worked on a subtask: it goes on, then this step ends.
            pending = turn.delegating
            observation = await self._delegate(turn, pending.action, waiting_for)
            done = _Done(pending.action, observation)
            await self._score(turn, done, pending.step, pending.heuristic_ids)
        while turn.steps_taken < agent.max_steps:
            await self._pause_point(run)
            turn.steps_taken += 1
            step = run.next_step()
            turn.thinking.clear()
            turn.emit(StepStarted(agent=turn.agent.name, step=step))
            heuristic_ids: tuple[int, ...] = ()
            try:
                if first_action is not None:
                    action = self._given(turn, first_action, step)
                    first_action = None
                else:
                    action, heuristic_ids = await self._propose(turn, step)
            except StepFailed as exc:
                turn.failed_steps += 1
                turn.warn(str(exc))
                run.checkpoint()
                if turn.failed_steps >= MAX_FAILED_STEPS:
                    return "failed", "", f"{agent.name} could not produce an action: {exc}"
                continue
            done = await self._act(turn, action, step, heuristic_ids)
            await self._score(turn, done, step, heuristic_ids)
            if done.answer is not None:
                return "completed", done.answer, None
        return (
            "failed",
            "",
            (f"{agent.name} reached its limit of {agent.max_steps} steps without finishing."),
        )

    @staticmethod
    async def _pause_point(run: RunContext) -> None:
        """Wait here, between steps, while the person has the run paused."""
        if not run.control.paused:
            return
        upcoming = run.last_step + 1
        run.events.emit(RunPaused(before_step=upcoming))
        await run.control.wait()
        run.events.emit(RunContinued(before_step=upcoming))

    # --- one step -------------------------------------------------------------------------

    async def _propose(self, turn: _Turn, step: int) -> tuple[Action, tuple[int, ...]]:
        """The agent's next action, and the ids of the heuristics that went into it."""
        team = turn.run.team.spec.name
        last = turn.observations[-1] if turn.observations else None
        query = turn.task if last is None else f"{turn.task} {last}"
        # Dead ends are kept to by the loop itself; the prompt's few lines go to advice.
        heuristics = [
            h
            for h in await self._memory.find_heuristics(
                team, query, limit=HEURISTICS_SHOWN + HEURISTICS_SPARE
            )
            if not dead_ends.is_lesson(h) and _relevant(h, turn.task)
        ][:HEURISTICS_SHOWN]
        if turn.experiences is None:
            turn.experiences = [
                e
                for e in await self._memory.find_experiences(team, turn.task, limit=2)
                if kind_similarity(e.task, turn.task) >= RELEVANT
            ]
            turn.run.recalled_experiences.update(e.id for e in turn.experiences if e.id)
        if turn.dead_ends is None:
            turn.dead_ends = DeadEnds.for_task(
                await self._memory.find_heuristics(
                    team, turn.task, tiers=(dead_ends.TIER,), limit=dead_ends.LOOKUP
                ),
                turn.task,
            )
        turn.emit(
            MemoryRetrieved(
                agent=turn.agent.name,
                step=step,
                heuristics=tuple(
                    RecalledHeuristic(h.id or 0, h.tier.value, h.strategy) for h in heuristics
                ),
                experiences=tuple(
                    RecalledExperience(e.id or 0, e.task, e.outcome) for e in turn.experiences
                ),
            )
        )
        planned = _planned(turn, heuristics)
        # A plan counts as used where it is followed: shown on a task it does not fit, or
        # refused on this one, how the run went says nothing of it.
        used = [h.id for h in heuristics if h.id is not None and plans.read_plan(h) is None]
        answered = answered_by_calculator(turn.task, turn.exchanges[-1] if turn.exchanges else None)
        if answered is not None and self._refusal(turn, answered, used) is None:
            turn.proposed(step, answered, "rule", attempts=0)
            return answered, tuple(used)
        if planned is not None and self._refusal(turn, planned[0], used) is None:
            turn.proposed(step, planned[0], "plan", attempts=0)
            turn.run.followed_plans.add(planned[1])
            return planned[0], (*used, planned[1])
        borrowed = await self._borrowed(turn, used)
        if borrowed is not None:
            # Not among the heuristics used: the plan is on trial on another kind of task.
            turn.proposed(step, borrowed, "plan", attempts=0)
            return borrowed, tuple(used)
        offered = Choices(
            select_tools(query, turn.tools, limit=TOOLS_PER_STEP),
            True,
            turn.teammates,
            finish_first=not turn.exchanges,
        )
        asking = _Asking(offered, _first_call(turn, offered) or offered)
        while True:
            proposal = await self._ask(turn, heuristics, asking)
            action = restore_paths(proposal.action, turn.task)
            if action is not proposal.action and not asking.paths_restored:
                asking.paths_restored = True
                turn.warn(
                    f"{turn.agent.name}'s call is read with the paths as the task gives them "
                    f"(it wrote {_changed(proposal.action, action)})."
                )
            refusal = self._refusal(turn, action, used)
            if refusal is None or not _ask_again(turn, asking, action, refusal):
                break
        ruled = _ruled_answer(turn, action, asking.told)
        if ruled is not None and self._refusal(turn, ruled[0], used) is None:
            turn.warn(ruled[1])
            turn.proposed(step, ruled[0], "rule", attempts=proposal.attempts)
            return ruled[0], tuple(used)
        turn.proposed(step, action, proposal.method, proposal.attempts)
        return action, tuple(used)

    async def _borrowed(self, turn: _Turn, used: list[int]) -> Action | None:
        """The next action of a plan borrowed from another kind of task, for a task whose own
        way was shown wrong before (it has dead ends), that no rule refuses; ``None`` for
        any other task (see :func:`~purpose_desktop.engine.learning.plans.borrowable`)."""
        assert turn.dead_ends is not None  # found before the first ask
        if not turn.dead_ends.heuristics:
            return None
        if turn.borrowable is None:
            turn.borrowable = plans.borrowable(
                await self._memory.find_heuristics(
                    turn.run.team.spec.name, "", tiers=(Tier.PROCEDURAL,), limit=BORROW_LOOKUP
                ),
                turn.task,
                {tool.name for tool in turn.tools},
            )
        for plan in turn.borrowable:
            action = plan.next_action(turn.task, turn.exchanges, ANSWERING_TOOLS)
            if action is not None and self._refusal(turn, action, used) is None:
                return action
        return None

    @staticmethod
    def _refusal(turn: _Turn, action: Action, used: list[int]) -> Refusal | None:
        """Why ``action`` is refused by rule (see :mod:`~purpose_desktop.engine.loop.choices`), or
        ``None``. A learned dead end that refuses it joins the heuristics ``used``."""
        assert turn.dead_ends is not None  # found before the first ask
        lesson = turn.dead_ends.lesson_for(action)
        if lesson is not None:
            if lesson.id is not None and lesson.id not in used:
                used.append(lesson.id)
            return Refusal(f"{lesson.strategy} (learned on this task before)", learned=True)
        refusal = failed_before(action, turn.run.steps) or repeated_success(action, turn.exchanges)
        if refusal is None and action.tool == DELEGATE:
            refusal = _misfit(turn, action)
        return refusal

    async def _ask(self, turn: _Turn, heuristics: Sequence[Heuristic], asking: _Asking) -> Proposal:
        """One proposal of the agent's model among ``asking.choices``."""
        choices, resample = asking.choices, asking.resamples
        last = turn.observations[-1] if turn.observations else None
        options = GenerationOptions(
            max_tokens=self._max_answer_tokens,
            temperature=RESAMPLE_TEMPERATURE if resample else 0.0,
            seed=resample or None,
        )
        actor = Actor(
            turn.model, choices.tools, choices.teammates, options, can_finish=choices.can_finish
        )

        def on_token(text: str) -> None:
            turn.emit(TokenStreamed(agent=turn.agent.name, text=text))

        def on_thinking(text: str) -> None:
            turn.thinking.append(text)
            turn.emit(ThinkingStreamed(agent=turn.agent.name, text=text))

        def on_usage(usage: Usage) -> None:
            turn.record("act", usage)

        if choices.answer_only and not turn.tools and not turn.teammates:
            # Only an agent that never has anything else to do: one whose choices were
            # narrowed to finishing has its earlier JSON actions in front of it, and is asked
            # in the same format.
            system = answer_prompt(turn.agent, heuristics, turn.experiences or ())
            messages = await self._fit(turn, head_messages(system, turn.task))
            return await actor.answer(messages, on_token, on_usage, on_thinking=on_thinking)
        system = system_prompt(
            turn.agent,
            choices.tools,
            choices.teammates,
            heuristics,
            turn.experiences or (),
            can_finish=choices.can_finish,
            finish_first=choices.finish_first,
        )
        messages = await self._fit(turn, head_messages(system, turn.task), asking.told)
        return await actor.propose(
            messages,
            simpler_messages(
                choices.tools,
                choices.teammates,
                turn.task,
                last,
                can_finish=choices.can_finish,
                finish_first=choices.finish_first,
            ),
            on_token=on_token,
            on_usage=on_usage,
            on_thinking=on_thinking,
            on_retry=lambda why: turn.warn(
                f"{turn.agent.name}'s answer could not be read as an action ({why}); "
                "asking again with a simpler prompt."
            ),
            fallback=rule_action(
                turn.task,
                turn.exchanges[-1] if turn.exchanges else None,
                choices.tools,
                can_finish=choices.can_finish,
            )
            or answered_by_repeat(asking.told),
        )

    @staticmethod
    def _given(turn: _Turn, action: Action, step: int) -> Action:
        """A person's action in place of the agent's proposal (a fork with an edited action)."""
        turn.proposed(step, action, "person", attempts=0)
        return action

    async def _fit(
        self, turn: _Turn, head: list[ChatMessage], told: Exchange | None = None
    ) -> list[ChatMessage]:
        reserved = self._max_answer_tokens + HINT_TOKENS
        fitted, warning = await fit(turn.model, head, reserved)
        if warning is not None:
            turn.warn(warning)
        exchanges = [*turn.exchanges, told] if told is not None else turn.exchanges
        messages = await compact_history(
            fitted, exchanges, budget_for(turn.model, reserved), counter_for(turn.model)
        )
        if turn.exchanges:
            # Small models keep calling tools after the answer is in front of them; a nudge
            # right after the latest observation gets most of them to finish.
            last = messages[-1]
            messages[-1] = ChatMessage(last.role, f"{last.content}\n{FINISH_HINT}")
        return messages

    async def _act(
        self, turn: _Turn, action: Action, step: int, heuristic_ids: tuple[int, ...]
    ) -> _Done:
        """Review and carry out ``action``."""
        reviewed = await self._review(turn, action, turn.tool(action.tool), step)
        if reviewed is None or isinstance(reviewed, str):
            reason = reviewed or "no reason given"
            return _Done(action, Observation(f"{REJECTED_PREFIX}: {reason}", ok=False))
        action = reviewed
        repeated = self._repeated(turn, action)
        if repeated is not None:
            return _Done(action, repeated)
        if action.tool == FINISH:
            answer = str(action.arguments.get("answer", ""))
            return _Done(action, Observation(f"Final answer: {answer}"), answer)
        if action.tool == DELEGATE:
            turn.delegating = PendingDelegation(step, action, heuristic_ids)
            return _Done(action, await self._delegate(turn, action))
        tool = turn.tool(action.tool)  # a person's edit may have named another tool
        if tool is None:
            return _Done(action, Observation(f"There is no tool called '{action.tool}'.", ok=False))
        return _Done(action, await self._call(turn, tool, action.arguments, step))

    @staticmethod
    def _repeated(turn: _Turn, action: Action) -> Observation | None:
        """Calling a tool exactly as in the step before, or handing over a subtask exactly as
        before in this turn, cannot tell anything new: it is not done again and the agent is
        told what it already got."""
        if action.tool == FINISH or not turn.exchanges:
            return None
        earlier = turn.exchanges if action.tool == DELEGATE else turn.exchanges[-1:]
        previous = next((e for e in reversed(earlier) if same_call(e.action, action)), None)
        return None if previous is None else _not_again(action, previous)

    async def _review(
        self, turn: _Turn, action: Action, tool: Tool | None, step: int
    ) -> Action | str | None:
        """The action to carry out, or the reason (possibly ``None``) it was rejected."""
        run = turn.run
        if not asks_for_action(turn.agent.review, tool, run.allowed):
            turn.reviewed(step, action, "approved", by="policy")
            return action
        decision = await run.review.review_action(
            ActionReviewRequest(
                run.run_id, turn.agent.name, step, action, tool, team=run.team.spec.name
            )
        )
        if decision.always_allow and tool is not None:
            run.always_allowed.add(tool.name)
        if decision.remember is not None and tool is not None:
            await run.remember(decision.remember, tool)
        if decision.verdict == "reject":
            turn.reviewed(step, action, "rejected", by="person", reason=decision.reason)
            return decision.reason or None
        final = decision.action if decision.verdict == "edit" and decision.action else action
        verdict: ReviewVerdict = "edited" if final is not action else "approved"
        turn.reviewed(step, final, verdict, by="person", reason=decision.reason)
        return final

    async def _call(
        self, turn: _Turn, tool: Tool, arguments: Mapping[str, Any], step: int
    ) -> Observation:
        turn.emit(
            ToolStarted(agent=turn.agent.name, step=step, tool=tool.name, arguments=dict(arguments))
        )
        started = time.monotonic()
        try:
            output, ok = await call_tool(tool, arguments, turn.run.tools), True
        except ToolError as exc:
            output, ok = str(exc), False
        turn.emit(
            ToolFinished(
                agent=turn.agent.name,
                step=step,
                tool=tool.name,
                ok=ok,
                output=output,
                seconds=time.monotonic() - started,
            )
        )
        if len(output) > OBSERVATION_CHARS:
            output = output[:OBSERVATION_CHARS] + f" … ({len(output)} characters in all)"
        return Observation(output, ok=ok)

    async def _delegate(
        self, turn: _Turn, action: Action, resume: Sequence[Frame] = ()
    ) -> Observation:
        """Hand ``action``'s subtask to the teammate it names (going on with the teammate's
        turn in ``resume``, if one is given) and tell what came of it."""
        name = str(action.arguments.get("agent", ""))
        subtask = str(action.arguments.get("task", ""))
        try:
            teammate = turn.run.team.spec.agent(name)
        except KeyError:
            return Observation(f"There is no teammate called '{name}'.", ok=False)
        if not resume:
            turn.run.events.emit(
                AgentSelected(
                    agent=teammate.name,
                    model=teammate.model,
                    reason=f"{turn.agent.name} handed it a subtask",
                )
            )
        status, answer, error = await self.run(
            turn.run, teammate, subtask, turn.depth + 1, resume=resume
        )
        if status != "completed":
            return Observation(f"{teammate.name} could not do it: {error}", ok=False)
        return Observation(f"{teammate.name} answered: {answer}")

    async def _score(
        self, turn: _Turn, done: _Done, step: int, heuristic_ids: tuple[int, ...]
    ) -> None:
        if done.answer is None:
            turn.observations.append(done.observation.text)
        scored = State(turn.task, tuple(turn.observations), done.answer)
        score: Score = await self._critic.score(
            turn.run.team.spec.name,
            scored,
            turn.phi,
            turn.model,
            lambda usage: turn.record("score", usage),
            failed=not done.observation.ok,
        )
        turn.emit(
            Scored(
                agent=turn.agent.name,
                step=step,
                phi_before=turn.phi,
                phi=score.phi,
                evidence=score.evidence,
                flag=score.flag,
                cached=score.cached,
                calibrated_by=score.calibrated_by,
            )
        )
        phi, evidence = score.phi, score.evidence
        if asks_for_score(turn.agent.review):
            phi, evidence = await self._review_score(turn, scored, done, score, step)
        turn.run.steps.append(
            Step(
                step,
                turn.agent.name,
                done.action,
                done.observation,
                turn.phi,
                phi,
                evidence,
                heuristic_ids,
                thinking="".join(turn.thinking),
            )
        )
        turn.exchanges.append(Exchange(done.action, done.observation, turn.agent.name))
        turn.phi = phi
        turn.delegating = None
        turn.run.checkpoint()

    async def _review_score(
        self, turn: _Turn, scored: State, done: _Done, score: Score, step: int
    ) -> tuple[float, str]:
        """The score the step keeps and its evidence: a person's, when they changed it."""
        run = turn.run
        decision = await run.review.review_score(
            ScoreReviewRequest(
                run.run_id,
                turn.agent.name,
                step,
                scored,
                done.action,
                done.observation,
                turn.phi,
                score.phi,
                score.evidence,
            )
        )
        if decision.phi is None:
            return score.phi, score.evidence
        phi = checked_override(decision.phi)
        turn.emit(
            ScoreOverridden(
                agent=turn.agent.name,
                step=step,
                critic_phi=score.phi,
                phi=phi,
                reason=decision.reason,
            )
        )
        await self._critic.record_override(
            ScoreAnchor(
                run.team.spec.name,
                scored.task,
                scored.text(),
                score.phi,
                phi,
                decision.reason,
                run.run_id,
            ),
            scored,
        )
        return phi, person_evidence(decision.reason)


ANSWERING_TOOLS = frozenset({CALCULATOR.name})
"""The tools whose output is an answer as it stands: a plan ending in one finishes with it."""


def _planned(turn: _Turn, heuristics: Sequence[Heuristic]) -> tuple[Action, int] | None:
    """The next action of the best trusted plan among ``heuristics`` (shown for a task of this
    kind) that fits the turn so far and calls only the agent's own tools, with the plan's
    heuristic id (see :mod:`~purpose_desktop.engine.learning.plans`)."""
    own = {tool.name for tool in turn.tools}
    for heuristic in heuristics:
        plan = plans.read_plan(heuristic)
        if plan is None or heuristic.id is None or heuristic.q_value < plans.TRUSTED:
            continue
        if any(call.tool not in own for call in plan.calls):
            continue  # a teammate's plan: this agent cannot follow it
        action = plan.next_action(turn.task, turn.exchanges, ANSWERING_TOOLS)
        if action is not None:
            return action, heuristic.id
    return None


def _relevant(heuristic: Heuristic, task: str) -> bool:
    """Whether ``heuristic`` is worth showing on ``task``: a person's own and pinned ones
    always are, distilled ones when they were learned on a task like it."""
    return (
        heuristic.source == "human"
        or heuristic.pinned
        or kind_similarity(heuristic.pattern, task) >= RELEVANT
    )


@dataclass
class _Asking:
    """One step's asks so far: the choices ``offered`` (the most relevant tools, finishing,
    the teammates), the ``choices`` of the next ask, narrowed by rule, how many
    ``resamples`` were asked for, the exchange the agent is ``told`` of after its own
    (though it is not one of its steps), and whether the person was told that a proposal's
    ``paths_restored``."""

    offered: Choices
    choices: Choices
    resamples: int = 0
    told: Exchange | None = None
    paths_restored: bool = False


def _ruled_answer(turn: _Turn, action: Action, told: Exchange | None) -> tuple[Action, str] | None:
    """The result the agent answers with instead of ``action``, an answer that cannot hold
    it (see :mod:`~purpose_desktop.engine.loop.fallback`), and the warning that says so;
    ``None`` when ``action`` stands. ``told`` is the result it was asked to answer with, if
    any."""
    name = turn.agent.name
    apart = answered_apart_from(action, told, turn.task, turn.exchanges)
    if apart is not None:
        return apart, (
            f"{name}'s answer holds nothing of what it was asked to answer with; "
            "it answers with that result instead."
        )
    echoed = answered_by_tools(action, turn.exchanges)
    if echoed is not None:
        return echoed, (
            f"{name}'s answer repeats what it thought before its tools gave their results; "
            "it answers with the last result instead."
        )
    return None


def _ask_again(turn: _Turn, asking: _Asking, action: Action, refusal: Refusal) -> bool:
    """Narrow ``asking`` for another ask after ``action`` was refused for ``refusal``;
    ``False`` when a learned lesson is overruled and the action stands instead.

    Raises :class:`StepFailed` when nothing is left to propose.
    """
    choices = asking.choices
    # The agent has what it asked for: it answers with it (or hands over), shown what its
    # call gave as if it had been made again. A small model copies an answer from a result
    # right above the ask; told "not run again", it wrote "The task is finished" as the
    # answer.
    answering = replace(choices, tools=())
    if refusal.answered is not None and answering != choices and answering.can_finish:
        turn.warn(f"{turn.agent.name} is asked to answer: {refusal.why}")
        asking.choices = answering
        asking.told = replace(refusal.answered, action=action)
        return True
    # A tool the first step's rule chose is refused: the model chooses among all the others
    # (after one more sample with the same choices, where other arguments may do and
    # finishing is among them). Finishing or a hand-over refused under the rule only takes
    # that away, as below.
    ruled = choices is not asking.offered and any(t.name == action.tool for t in choices.tools)
    widened = asking.offered.without(action) if ruled else None
    if widened is not None and (
        not refusal.other_arguments or asking.resamples or not choices.can_finish
    ):
        turn.warn(f"{turn.agent.name} is asked again without {action.tool}: {refusal.why}")
        asking.choices = asking.offered = widened
        return True
    narrowed = choices.without(action)
    # A call that failed or was rejected may need only other arguments: one other sample
    # first, with the same choices; the same proposal again takes it away.
    if narrowed is not None and (not refusal.other_arguments or asking.resamples):
        turn.warn(f"{turn.agent.name} is asked again without {action.tool}: {refusal.why}")
        asking.choices = narrowed
        return True
    if asking.resamples >= RESAMPLES:
        if refusal.learned:
            return False  # a lesson may be wrong: with nothing else to do, it is overruled
        raise StepFailed(f"{turn.agent.name} has nothing to propose but {refusal.why}.")
    asking.resamples += 1
    turn.warn(f"{turn.agent.name} is asked for another answer: {refusal.why}")
    return True


def _changed(written: Action, read: Action) -> str:
    """The arguments ``read`` holds otherwise than ``written``, as written."""
    return ", ".join(
        f"{key}={value!r}"
        for key, value in written.arguments.items()
        if read.arguments.get(key) != value
    )


def _not_again(action: Action, previous: Exchange) -> Observation:
    """What the agent is told of ``action``, the same call or hand-over as ``previous``."""
    handing = action.tool == DELEGATE
    return Observation(
        f"Not {'handed over' if handing else 'run'} again: the same "
        f"{'hand-over' if handing else 'call'} gave "
        f'"{previous.observation.text}". {FINISH_HINT}',
        ok=False,
    )


def _first_call(turn: _Turn, offered: Choices) -> Choices | None:
    """The rule's choices for a turn's first step (:func:`first_step_choices`), if any."""
    if turn.exchanges:
        return None
    return first_step_choices(turn.model, turn.task, turn.tools, offered)


def _misfit(turn: _Turn, action: Action) -> Refusal | None:
    try:
        teammate = turn.run.team.spec.agent(str(action.arguments.get("agent", "")))
    except KeyError:
        return None  # carried out, it tells the agent there is no such teammate
    subtask = str(action.arguments.get("task", ""))
    return misfit_handover(turn.agent, teammate, subtask, turn.run.agent_tools)


async def pick_with_model(
    models: ModelService,
    run: RunContext,
    reference: str,
    task: str,
    candidates: Sequence[AgentSpec],
) -> str | None:
    """The router model's choice among ``candidates`` (a constrained enum), or ``None``."""
    names = [agent.name for agent in candidates]
    schema = {
        "type": "object",
        "properties": {"agent": {"type": "string", "enum": names}},
        "required": ["agent"],
        "additionalProperties": False,
    }
    listing = "\n".join(
        f"- {a.name}: {a.role} (expertise: {', '.join(a.expertise) or 'general'})"
        for a in candidates
    )
    messages = [
        ChatMessage(
            "system",
            'Answer with JSON {"agent": NAME}: the agent best suited to '
            f"the task.\nAgents:\n{listing}",
        ),
        ChatMessage("user", f"Task: {task}"),
    ]
    try:
        async with models.use(reference, run.team.base_dir, run.report_status) as model:
            output = await generate_json(
                model, messages, schema, GenerationOptions(max_tokens=24, temperature=0.0)
            )
    except ModelError as exc:
        run.events.emit(WarningRaised(message=f"The router model could not choose: {exc}"))
        return None
    run.record_call("router", reference, "route", output.usage)
    return str(output.value["agent"])
