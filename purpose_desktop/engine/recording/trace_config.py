"""Whether runs are exported as OpenTelemetry traces, where to, and with what.

Tracing is off unless the settings turn it on (``"tracing": true``) or the environment names
an OTLP endpoint the way every OpenTelemetry SDK reads it (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``). The environment wins over the settings file, so one
session can send its traces elsewhere. Message contents (the task, the models' answers, tool
arguments and results) are left out unless a second setting or
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks for them: traces often go to a
shared server, and a task may hold what its author would not share.

This module reads only settings and variables; it never imports OpenTelemetry, which is an
optional extra (``pip install 'purpose-desktop[otel]'``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from purpose_desktop.config import Settings

TRACES_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
SDK_DISABLED_ENV = "OTEL_SDK_DISABLED"
TRACES_EXPORTER_ENV = "OTEL_TRACES_EXPORTER"
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
#: Where an OTLP/HTTP collector listens when nothing else is said (the OpenTelemetry default).
DEFAULT_TRACES_ENDPOINT = "http://localhost:4318/v1/traces"
TRACES_PATH = "/v1/traces"
#: What to install when tracing is asked for without the packages it needs.
INSTALL_HINT = "pip install 'purpose-desktop[otel]'"
# Values of the content variable that turn capture on (the GenAI instrumentations' own).
_CAPTURE_VALUES = frozenset({"true", "1", "yes", "on", "span_only", "span_and_event"})


@dataclass(frozen=True)
class TracingConfig:
    """Tracing turned on: the URL spans are posted to, whether message contents go with them,
    and what turned it on (a variable's name or the settings file), to name in messages."""

    endpoint: str
    include_contents: bool
    source: str


def tracing_config(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> TracingConfig | None:
    """The tracing ``settings`` and the environment ask for, or ``None`` when tracing is off.

    ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` turn it off whatever else is
    set, as they do for any OpenTelemetry SDK.
    """
    env = os.environ if environ is None else environ
    if env.get(SDK_DISABLED_ENV, "").strip().lower() == "true":
        return None
    if env.get(TRACES_EXPORTER_ENV, "").strip().lower() == "none":
        return None
    contents = settings.tracing_contents or (
        env.get(CAPTURE_CONTENT_ENV, "").strip().lower() in _CAPTURE_VALUES
    )
    traces_endpoint = env.get(TRACES_ENDPOINT_ENV, "").strip()
    if traces_endpoint:  # used as it is, as the variable's definition says
        return TracingConfig(traces_endpoint, contents, TRACES_ENDPOINT_ENV)
    base = env.get(ENDPOINT_ENV, "").strip()
    if base:
        return TracingConfig(traces_url(base), contents, ENDPOINT_ENV)
    if not settings.tracing:
        return None
    endpoint = settings.tracing_endpoint
    return TracingConfig(
        traces_url(endpoint) if endpoint else DEFAULT_TRACES_ENDPOINT,
        contents,
        "the settings file",
    )


def traces_url(endpoint: str) -> str:
    """The URL to post spans to for ``endpoint``: a collector's base URL gets ``/v1/traces``
    added, as OpenTelemetry does with ``OTEL_EXPORTER_OTLP_ENDPOINT`` (Langfuse documents
    ``https://cloud.langfuse.com/api/public/otel``); one that already ends so is kept
    (Phoenix documents ``http://localhost:6006/v1/traces``)."""
    endpoint = endpoint.strip()
    if endpoint.rstrip("/").endswith(TRACES_PATH):
        return endpoint
    return endpoint.rstrip("/") + TRACES_PATH


def tracing_installed() -> bool:
    """Whether the optional OpenTelemetry packages are there (checked without importing)."""
    try:
        return all(
            importlib.util.find_spec(name) is not None
            for name in ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http")
        )
    except ModuleNotFoundError:  # a parent package is missing
        return False


def missing_extra_problem(config: TracingConfig) -> str:
    """What to tell the person who asked for traces without the packages that send them."""
    problem = (
        f"Tracing is turned on ({config.source}), but the OpenTelemetry packages are not "
        "installed, so runs are not traced."
    )
    if getattr(sys, "frozen", False):  # the installed app: nothing can be added to it
        return problem + " This installation does not include them."
    return f"{problem} Install them with: {INSTALL_HINT}"
