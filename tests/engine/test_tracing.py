"""Runs exported as OpenTelemetry traces, checked where the spans land: a local OTLP/HTTP
receiver that decodes what the real exporter sends (tests/support/otlp_receiver.py), since no
Langfuse or Phoenix server can be installed on the test machines."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from purpose_desktop.app import AppParts, build_app_parts
from purpose_desktop.config import Paths, Settings, save_settings
from purpose_desktop.engine.recording import trace_config, trace_export
from purpose_desktop.engine.recording.trace_config import (
    DEFAULT_TRACES_ENDPOINT,
    TracingConfig,
    traces_url,
    tracing_config,
)
from purpose_desktop.engine.recording.trace_export import Tracing
from purpose_desktop.engine.recording.tracing import model_name, provider_of
from purpose_desktop.models.scripted import ScriptedProvider
from tests.support.cli import purpose_desktop
from tests.support.otlp_receiver import ReceivedSpan, otlp_receiver
from tests.support.reasoning_runs import ReasoningModel
from tests.support.scripted_team import act, make_team, one_agent_team, runner, team_model

OTEL_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_SERVICE_NAME",
)
TASK = "Multiply 17 by 23."
INTERNAL, CLIENT = 1, 3  # the protobuf's SpanKind numbers
STATUS_OK, STATUS_ERROR = 1, 2


@pytest.fixture(autouse=True)
def _no_otel_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test says which OpenTelemetry variables it runs with: none from the machine."""
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _exporters_stopped() -> Iterator[None]:
    """Each test's exporter has stopped before the next test starts. One left trying a
    collector that is down would go on drawing its back-off from the global ``random`` (for
    up to its 10 s timeout), which Hypothesis's tests check is left alone."""
    yield
    deadline = time.monotonic() + 30
    for thread in threading.enumerate():
        if thread.name.startswith(("trace-", "OtelBatch")):
            thread.join(max(0.0, deadline - time.monotonic()))
            assert not thread.is_alive(), f"{thread.name} still runs"


def calculator_model() -> ScriptedProvider:
    return ScriptedProvider(
        {"m": team_model([act("calculator", expression="17*23"), act("finish", answer="391")])}
    )


def run_traced(folder: Path, tracing: Tracing, provider: ScriptedProvider | None = None) -> str:
    """Run the one-agent calculator team in ``folder`` (on ``provider``'s model, by default
    one that multiplies and finishes), traced by ``tracing``; the run's status."""
    folder.mkdir(exist_ok=True)
    outcome = asyncio.run(
        runner(folder, provider or calculator_model(), observers=[tracing.observer]).run(
            one_agent_team(folder), TASK
        )
    )
    return outcome.status


def traced_run(
    tmp_path: Path,
    url: str,
    *,
    contents: bool = False,
    provider: ScriptedProvider | None = None,
) -> str:
    """:func:`run_traced` with a tracer of its own sending to ``url``, closed after it."""
    tracing = Tracing(TracingConfig(url, contents, "a test"), "0-test")
    try:
        return run_traced(tmp_path, tracing, provider)
    finally:
        tracing.close()


def by_name(spans: list[ReceivedSpan]) -> dict[str, list[ReceivedSpan]]:
    named: dict[str, list[ReceivedSpan]] = {}
    for span in spans:
        named.setdefault(span.name, []).append(span)
    return named


def test_a_run_with_a_tool_call_arrives_as_nested_genai_spans(tmp_path: Path) -> None:
    with otlp_receiver() as receiver:
        status = traced_run(tmp_path, traces_url(receiver.url))
        spans = receiver.wait_for(
            lambda got: any(s.name.startswith("invoke_workflow") for s in got)
        )

    assert status == "completed"
    named = by_name(spans)
    assert sorted(named) == [
        "chat m",
        "execute_tool calculator",
        "invoke_agent solver",
        "invoke_workflow T",
    ]
    (run,) = named["invoke_workflow T"]
    steps = sorted(named["invoke_agent solver"], key=lambda s: s.attributes["purpose_desktop.step"])
    (tool,) = named["execute_tool calculator"]
    calls = sorted(named["chat m"], key=lambda s: s.start)

    # One trace; run → step → model call / tool call, by parent id.
    assert {s.trace_id for s in spans} == {run.trace_id}
    assert run.parent_span_id == ""
    assert [s.parent_span_id for s in steps] == [run.span_id, run.span_id]
    assert tool.parent_span_id == steps[0].span_id
    assert [c.parent_span_id for c in calls] == [steps[0].span_id] * 2 + [steps[1].span_id] * 2
    assert [c.attributes["purpose_desktop.call.purpose"] for c in calls] == [
        "act",
        "score",
        "act",
        "score",
    ]
    # Real times from the events: each span inside its parent, the steps one after the other.
    for child, parent in [
        (tool, steps[0]),
        *((c, steps[0] if i < 2 else steps[1]) for i, c in enumerate(calls)),
        (steps[0], run),
        (steps[1], run),
    ]:
        assert parent.start <= child.start <= child.end <= parent.end
    assert steps[0].end <= steps[1].start
    assert run.end - run.start < 60 * 1_000_000_000
    assert abs(run.start / 1e9 - time.time()) < 120

    # The GenAI conventions' names and values.
    assert run.kind == INTERNAL and run.status_code == STATUS_OK
    assert run.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert run.attributes["gen_ai.workflow.name"] == "T"
    run_id = run.attributes["gen_ai.conversation.id"]
    assert len(run_id) == 32
    assert steps[0].attributes["gen_ai.operation.name"] == "invoke_agent"
    assert steps[0].attributes["gen_ai.agent.name"] == "solver"
    assert steps[0].attributes["purpose_desktop.action.tool"] == "calculator"
    assert steps[1].attributes["purpose_desktop.action.tool"] == "finish"
    assert tool.kind == INTERNAL
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "calculator"
    assert tool.attributes["gen_ai.tool.call.id"] == f"{run_id}-1"
    assert tool.attributes["openinference.span.kind"] == "TOOL"
    for call in calls:
        assert call.kind == CLIENT
        assert call.attributes["gen_ai.operation.name"] == "chat"
        assert call.attributes["gen_ai.request.model"] == "m"
        assert call.attributes["gen_ai.provider.name"] == "llama_cpp"
        assert call.attributes["gen_ai.conversation.id"] == run_id
        assert call.attributes["gen_ai.usage.input_tokens"] > 0
        assert call.attributes["gen_ai.usage.output_tokens"] > 0
        assert (
            call.attributes["llm.token_count.prompt"]
            == call.attributes["gen_ai.usage.input_tokens"]
        )
    # Token counts add up: each step holds its calls', the run all of them.
    for step, own in ((steps[0], calls[:2]), (steps[1], calls[2:])):
        assert step.attributes["gen_ai.usage.input_tokens"] == sum(
            c.attributes["gen_ai.usage.input_tokens"] for c in own
        )
    assert run.attributes["gen_ai.usage.output_tokens"] == sum(
        c.attributes["gen_ai.usage.output_tokens"] for c in calls
    )
    assert run.attributes["purpose_desktop.run.status"] == "completed"
    assert run.resource["service.name"] == "purpose-desktop"
    assert run.scope == "purpose_desktop"
    assert run.path == "/v1/traces"


def test_a_failed_tool_call_has_an_error_status(tmp_path: Path) -> None:
    model = team_model([act("calculator", expression="1/0"), act("finish", answer="none")])
    with otlp_receiver() as receiver:
        traced_run(tmp_path, traces_url(receiver.url), provider=ScriptedProvider({"m": model}))
        spans = receiver.wait_for(
            lambda got: any(s.name.startswith("invoke_workflow") for s in got)
        )
    (tool,) = by_name(spans)["execute_tool calculator"]
    assert tool.status_code == STATUS_ERROR
    assert tool.attributes["error.type"] == "tool_error"
    assert "gen_ai.tool.call.result" not in tool.attributes  # the error's text is content too


CONTENT_KEYS = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "input.value",
    "output.value",
    "purpose_desktop.action.thought",
    "purpose_desktop.action.arguments",
    "purpose_desktop.phi.evidence",
)


def test_message_contents_stay_out_of_the_traces_unless_asked_for(tmp_path: Path) -> None:
    with otlp_receiver() as receiver:
        traced_run(tmp_path / "without", traces_url(receiver.url))
        spans = receiver.wait_for(
            lambda got: any(s.name.startswith("invoke_workflow") for s in got)
        )
    for span in spans:
        assert not set(CONTENT_KEYS) & set(span.attributes), span.name
        shown = json.dumps(span.attributes)
        assert "Multiply" not in shown and "17*23" not in shown, span.name  # anywhere

    with otlp_receiver() as receiver:
        traced_run(tmp_path / "with", traces_url(receiver.url), contents=True)
        spans = receiver.wait_for(
            lambda got: any(s.name.startswith("invoke_workflow") for s in got)
        )
    named = by_name(spans)
    (run,) = named["invoke_workflow T"]
    assert json.loads(run.attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": TASK}]}
    ]
    assert json.loads(run.attributes["gen_ai.output.messages"])[0]["parts"][0]["content"] == "391"
    (tool,) = named["execute_tool calculator"]
    assert json.loads(tool.attributes["gen_ai.tool.call.arguments"]) == {"expression": "17*23"}
    assert tool.attributes["gen_ai.tool.call.result"] == "391"
    acts = [c for c in named["chat m"] if c.attributes["purpose_desktop.call.purpose"] == "act"]
    answers = [
        json.loads(c.attributes["gen_ai.output.messages"])[0]["parts"][0]["content"] for c in acts
    ]
    assert [json.loads(a)["tool"] for a in answers] == ["calculator", "finish"]


def test_a_models_reasoning_is_a_part_of_its_answer_only_with_contents(tmp_path: Path) -> None:
    reasoning = ["Seventeen times twenty-three: the calculator knows.", "The tool said 391."]

    def thinking_model() -> ScriptedProvider:
        answers = team_model([act("calculator", expression="17*23"), act("finish", answer="391")])
        return ScriptedProvider({"m": ReasoningModel(answers, list(reasoning))})

    with otlp_receiver() as receiver:
        traced_run(
            tmp_path / "with", traces_url(receiver.url), contents=True, provider=thinking_model()
        )
        spans = receiver.wait_for(
            lambda got: any(s.name.startswith("invoke_workflow") for s in got)
        )
    acts = sorted(
        (
            c
            for c in by_name(spans)["chat m"]
            if c.attributes["purpose_desktop.call.purpose"] == "act"
        ),
        key=lambda c: c.start,
    )
    messages = [json.loads(c.attributes["gen_ai.output.messages"]) for c in acts]
    assert [m[0]["parts"][0] for m in messages] == [
        {"type": "reasoning", "content": text} for text in reasoning
    ]
    assert [json.loads(m[0]["parts"][1]["content"])["tool"] for m in messages] == [
        "calculator",
        "finish",
    ]
    # The answer alone, for Phoenix, as the action was read from the answer alone.
    assert [json.loads(c.attributes["output.value"])["tool"] for c in acts] == [
        "calculator",
        "finish",
    ]

    with otlp_receiver() as receiver:
        traced_run(tmp_path / "without", traces_url(receiver.url), provider=thinking_model())
        spans = receiver.wait_for(
            lambda got: any(s.name.startswith("invoke_workflow") for s in got)
        )
    for span in spans:
        shown = json.dumps(span.attributes)
        assert "Seventeen" not in shown and "tool said" not in shown, span.name


def test_a_teammates_steps_nest_in_the_step_that_handed_it_the_subtask(tmp_path: Path) -> None:
    team = make_team(
        "name: Pair\ndefault_model: small\nagents:\n"
        "  - name: counter\n    role: Does arithmetic.\n    model: small\n"
        "    expertise: [arithmetic, numbers, sum]\n    tools: [calculator]\n"
        "  - name: writer\n    role: Writes prose.\n    model: big\n"
        "    expertise: [poem, story, prose]\n",
        tmp_path,
    )
    provider = ScriptedProvider(
        {
            "small": team_model(
                [
                    act("delegate", agent="writer", task="Write one line about rain"),
                    act("finish", answer="Rain taps the roof."),
                ],
                name="small",
            ),
            "big": team_model(lambda _: act("finish", answer="Rain taps the roof."), name="big"),
        }
    )
    with otlp_receiver() as receiver:
        tracing = Tracing(TracingConfig(traces_url(receiver.url), False, "a test"), "0-test")
        outcome = asyncio.run(
            runner(tmp_path, provider, observers=[tracing.observer]).run(
                team, "Count the sum of words in a line about rain"
            )
        )
        tracing.close()
        spans = receiver.wait_for(
            lambda got: any(s.name.startswith("invoke_workflow") for s in got)
        )
    assert outcome.status == "completed"
    named = by_name(spans)
    (run,) = named["invoke_workflow Pair"]
    counter = {s.attributes["purpose_desktop.step"]: s for s in named["invoke_agent counter"]}
    (writer,) = named["invoke_agent writer"]
    assert writer.attributes["purpose_desktop.step"] == 2
    assert writer.parent_span_id == counter[1].span_id
    assert counter[1].start <= writer.start <= writer.end <= counter[1].end
    assert counter[1].parent_span_id == counter[3].parent_span_id == run.span_id
    assert writer.attributes["gen_ai.request.model"] == "big"
    writer_calls = [c for c in named["chat big"] if c.parent_span_id == writer.span_id]
    assert len(writer_calls) == 2  # its action and the critic's score


class ScriptedModels(ScriptedProvider):
    """Scripted models in the model manager's place, closed with the app's parts as it is."""

    async def aclose(self) -> None:
        pass


def in_process_parts(home: Paths, provider: ScriptedProvider) -> AppParts:
    """The app's parts as `purpose-desktop` builds them, with a scripted model service in
    place of the model manager (which only runs real models)."""
    parts = build_app_parts(home)
    # What the cached property would have made, and what the runner is then made with.
    parts.__dict__["models"] = ScriptedModels(provider.models)
    return parts


def run_with_app_parts(parts: AppParts, folder: Path) -> str:
    folder.mkdir(exist_ok=True)

    async def go() -> str:
        try:
            outcome = await parts.runner.run(one_agent_team(folder), TASK)
        finally:
            await parts.aclose()
        return outcome.status

    return asyncio.run(go())


def test_tracing_is_off_by_default(home: Paths, tmp_path: Path) -> None:
    assert tracing_config(Settings(), {}) is None
    with otlp_receiver() as receiver:
        # Where traces would go is known, but nothing turned tracing on.
        save_settings(home, Settings(tracing_endpoint=receiver.url))
        parts = in_process_parts(home, calculator_model())
        assert parts.settings_problems == ()
        assert run_with_app_parts(parts, tmp_path) == "completed"
        assert parts.tracing is None  # no exporter, and the parts are closed
        assert receiver.requests == 0


def test_the_standard_variable_turns_tracing_on_with_its_headers(
    home: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with otlp_receiver() as receiver:
        # Langfuse's form: a base URL, and Basic auth in the headers variable.
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"{receiver.url}/api/public/otel")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Basic cGs6c2s=")
        parts = in_process_parts(home, calculator_model())
        assert run_with_app_parts(parts, tmp_path) == "completed"
        spans = receiver.wait_for(
            lambda got: any(s.name.startswith("invoke_workflow") for s in got)
        )
    assert {s.path for s in spans} == {"/api/public/otel/v1/traces"}
    assert {s.headers["authorization"] for s in spans} == {"Basic cGs6c2s="}
    assert (
        parts.tracing is not None and parts.tracing.config.source == "OTEL_EXPORTER_OTLP_ENDPOINT"
    )


def test_the_settings_turn_tracing_on_and_the_sdk_switch_turns_it_off(
    home: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with otlp_receiver() as receiver:
        # Phoenix's form: the full traces URL.
        save_settings(home, Settings(tracing=True, tracing_endpoint=f"{receiver.url}/v1/traces"))
        parts = in_process_parts(home, calculator_model())
        assert run_with_app_parts(parts, tmp_path / "on") == "completed"
        receiver.wait_for(lambda got: any(s.name.startswith("invoke_workflow") for s in got))

        monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
        before = receiver.requests
        parts = in_process_parts(home, calculator_model())
        assert run_with_app_parts(parts, tmp_path / "off") == "completed"
        assert parts.tracing is None
        assert receiver.requests == before


def test_tracing_asked_for_without_the_extra_is_said_and_runs_go_on(
    home: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on an installation without the otel extra: the packages cannot be found.
    monkeypatch.setattr(trace_config, "tracing_installed", lambda: False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    parts = in_process_parts(home, calculator_model())
    (problem,) = parts.settings_problems
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in problem
    assert "pip install 'purpose-desktop[otel]'" in problem
    assert run_with_app_parts(parts, tmp_path) == "completed"
    assert parts.tracing is None

    # The installed app cannot take a pip install: it says what it lacks instead.
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    (problem,) = build_app_parts(home).settings_problems
    assert problem.endswith("This installation does not include them.")
    assert "pip install" not in problem


def test_how_the_settings_and_variables_decide() -> None:
    on = Settings(tracing=True)
    assert tracing_config(on, {}) == TracingConfig(
        DEFAULT_TRACES_ENDPOINT, False, "the settings file"
    )
    assert tracing_config(Settings(tracing_endpoint="http://x:1"), {}) is None  # not turned on
    assert tracing_config(Settings(tracing=True, tracing_endpoint="http://x:1/"), {}) == (
        TracingConfig("http://x:1/v1/traces", False, "the settings file")
    )
    # The traces variable is used as it is and wins over the general one and the settings.
    environ = {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:2/custom",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://g:3",
    }
    assert tracing_config(on, environ) == TracingConfig(
        "http://t:2/custom", False, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    assert tracing_config(Settings(), {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://g:3"}) == (
        TracingConfig("http://g:3/v1/traces", False, "OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    capture = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}
    assert tracing_config(on, capture) == TracingConfig(
        DEFAULT_TRACES_ENDPOINT, True, "the settings file"
    )
    assert tracing_config(Settings(tracing=True, tracing_contents=True), {}).include_contents  # type: ignore[union-attr]
    assert tracing_config(on, {"OTEL_TRACES_EXPORTER": "none"}) is None
    assert tracing_config(on, {"OTEL_SDK_DISABLED": "true"}) is None


def test_a_bad_tracing_setting_is_named_and_left_at_its_default(home: Paths) -> None:
    home.settings_file.write_text(
        json.dumps({"tracing": "yes", "tracing_contents": True, "tracing_endpoint": 5}),
        encoding="utf-8",
    )
    parts = build_app_parts(home)
    assert parts.settings.tracing is False
    assert parts.settings.tracing_contents is True
    assert parts.settings.tracing_endpoint is None
    assert any("tracing = 'yes'" in problem for problem in parts.settings_problems)
    assert any("tracing_endpoint = 5" in problem for problem in parts.settings_problems)


def test_the_names_of_models_and_providers() -> None:
    assert (provider_of("bundled:smollm2-135m"), model_name("bundled:smollm2-135m")) == (
        "llama_cpp",
        "smollm2-135m",
    )
    assert (
        provider_of("/models/Qwen3-0.6B-Q8_0.gguf"),
        model_name("/models/Qwen3-0.6B-Q8_0.gguf"),
    ) == (
        "llama_cpp",
        "Qwen3-0.6B-Q8_0.gguf",
    )
    assert (provider_of("ollama:qwen3:0.6b"), model_name("ollama:qwen3:0.6b")) == (
        "ollama",
        "qwen3:0.6b",
    )
    assert (provider_of("server:lab/llama-3.2-1b"), model_name("server:lab/llama-3.2-1b")) == (
        "openai",
        "llama-3.2-1b",
    )


def free_port_nobody_listens_on() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def export_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == trace_export.__name__ and "could not be sent" in r.getMessage()
    ]


def test_a_failing_collector_costs_the_traces_not_the_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with otlp_receiver() as receiver:
        receiver.refuse_with = 500  # not a status the exporter tries again after
        url = traces_url(receiver.url)
        tracing = Tracing(TracingConfig(url, False, "a test"), "0-test")
        try:
            for number in range(2):
                started = time.monotonic()
                assert run_traced(tmp_path / str(number), tracing) == "completed"
                assert time.monotonic() - started < 10
                receiver.wait_for_refused(number + 1)  # this run's spans were offered
            assert receiver.requests == 0
            (warning,) = export_warnings(caplog)  # once, not once per batch
            assert warning.levelno == logging.WARNING and url in warning.getMessage()

            receiver.refuse_with = None
            assert run_traced(tmp_path / "after", tracing) == "completed"
            receiver.wait_for(lambda got: any(s.name.startswith("invoke_workflow") for s in got))
        finally:
            tracing.close()
    assert len(export_warnings(caplog)) == 1
    assert any(
        r.name == trace_export.__name__ and r.getMessage() == f"Traces reach {url} again."
        for r in caplog.records
    )


def test_closing_does_not_wait_long_for_a_collector_that_is_down(tmp_path: Path) -> None:
    # Nothing listens: the exporter would try again for its whole timeout (10 s).
    url = f"http://127.0.0.1:{free_port_nobody_listens_on()}/v1/traces"
    tracing = Tracing(TracingConfig(url, False, "a test"), "0-test")
    try:
        started = time.monotonic()
        assert run_traced(tmp_path, tracing) == "completed"
        assert time.monotonic() - started < 10  # not held up by the exporter
    finally:
        started = time.monotonic()
        tracing.close()
        closing = time.monotonic() - started
    assert closing < trace_export.CLOSE_SECONDS + 1


@pytest.mark.model
@pytest.mark.process
def test_the_cli_traces_a_real_smollm2_run(tmp_path: Path, example_team: Path) -> None:
    with otlp_receiver() as receiver:
        result = purpose_desktop(
            "run",
            str(example_team),
            "--task",
            "Name three primary colours.",
            "--auto-approve",
            "--json",
            home=tmp_path / "home",
            env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
                "OTEL_SERVICE_NAME": "traced-cli",
            },
        )
        assert result.returncode in (0, 1), result.stderr
        summary = json.loads(result.stdout)
        spans = receiver.wait_for(
            lambda got: any(s.name.startswith("invoke_workflow") for s in got)
        )
    named = by_name(spans)
    (run,) = named["invoke_workflow Helper"]
    assert run.attributes["gen_ai.conversation.id"] == summary["run_id"]
    assert run.resource["service.name"] == "traced-cli"
    calls = named["chat smollm2-135m"]
    assert calls
    steps = {s.span_id for s in named["invoke_agent helper"]}
    for call in calls:
        assert call.parent_span_id in steps
        assert call.attributes["gen_ai.provider.name"] == "llama_cpp"
        assert call.attributes["gen_ai.usage.input_tokens"] > 0
        assert call.attributes["gen_ai.usage.output_tokens"] > 0
        assert call.end > call.start
    assert (
        sum(c.attributes["gen_ai.usage.input_tokens"] for c in calls) == summary["tokens"]["prompt"]
    )
    assert (
        sum(c.attributes["gen_ai.usage.output_tokens"] for c in calls)
        == (summary["tokens"]["completion"])
    )
    assert run.attributes["gen_ai.usage.input_tokens"] == summary["tokens"]["prompt"]
    assert not any("gen_ai.output.messages" in s.attributes for s in spans)  # not asked for
