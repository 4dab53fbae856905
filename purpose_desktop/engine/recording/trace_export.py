"""Sending runs' spans to an OTLP/HTTP collector (Langfuse, Arize Phoenix, an OpenTelemetry
Collector), without ever holding up a run.

Spans go out in batches from OpenTelemetry's own thread, after each run and when the app
closes. A collector that is down or slow costs its traces, never a run's time: the exporter
gives up after its timeout, and the app's log says so once per outage, not once per batch.

This module imports OpenTelemetry, an optional extra; import it only once
:func:`~purpose_desktop.engine.recording.trace_config.tracing_installed` said it is there.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from purpose_desktop.engine.recording.trace_config import TracingConfig
from purpose_desktop.engine.recording.tracing import SCOPE, RunTracer

log = logging.getLogger(__name__)

#: The longest the app waits for its last spans to go out when it closes: a collector that
#: is down must not hold up closing the window or a command's exit.
CLOSE_SECONDS = 3.0
# The exporter's own logger: a logger's filters apply only to records logged on it by name.
_EXPORTER_LOGGER = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


class _ReportingExporter(SpanExporter):
    """Hands batches to the OTLP exporter and says in the log when the collector stops and
    starts taking them: once each, however many batches fail in between."""

    def __init__(self, exporter: SpanExporter, endpoint: str) -> None:
        self._exporter = exporter
        self._endpoint = endpoint
        self.failing = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self._exporter.export(spans)
        except Exception as exc:  # whatever goes wrong in sending, the run goes on
            log.debug("Exporting spans raised", exc_info=exc)
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.FAILURE and not self.failing:
            self.failing = True
            log.warning(
                "Traces could not be sent to %s; runs go on, and their traces are dropped "
                "until it answers.",
                self._endpoint,
            )
        elif result is SpanExportResult.SUCCESS and self.failing:
            self.failing = False
            log.info("Traces reach %s again.", self._endpoint)
        return result

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._exporter.force_flush(timeout_millis)


class Tracing:
    """Tracing turned on: :attr:`observer` is the event subscriber that makes every run's
    spans; :meth:`close` sends what is left when the app closes."""

    def __init__(self, config: TracingConfig, version: str) -> None:
        self.config = config
        exporter = _ReportingExporter(OTLPSpanExporter(endpoint=config.endpoint), config.endpoint)
        # The exporter logs each failed attempt (with the reason); only those of the first
        # failure of an outage are kept, beside _ReportingExporter's one warning.
        self._quiet_while_failing: Callable[[logging.LogRecord], bool] = lambda _: (
            not exporter.failing
        )
        logging.getLogger(_EXPORTER_LOGGER).addFilter(self._quiet_while_failing)
        attributes = {"service.version": version}
        if not os.environ.get("OTEL_SERVICE_NAME"):  # the variable names the service if set
            attributes["service.name"] = "purpose-desktop"
        # Not the global provider: the app's spans go only where its settings say. Closed by
        # close, not at interpreter exit, where a dead collector would hold up the exit.
        self._provider = TracerProvider(
            resource=Resource.create(attributes), shutdown_on_exit=False
        )
        self._provider.add_span_processor(BatchSpanProcessor(exporter))
        self._flushing = threading.Lock()
        self.observer = RunTracer(
            self._provider.get_tracer(SCOPE, version),
            include_contents=config.include_contents,
            after_run=self._send_soon,
        )

    def _send_soon(self) -> None:
        """Send the spans of a run that just ended, on a thread of their own: the run (and the
        event loop) never waits for the collector."""
        if not self._flushing.acquire(blocking=False):
            # A flush is under way: these spans go with it, or with the processor's next
            # batch a few seconds on.
            return
        threading.Thread(target=self._flush, name="trace-flush", daemon=True).start()

    def _flush(self) -> None:
        try:
            self._provider.force_flush()
        finally:
            self._flushing.release()

    def close(self) -> None:
        """Send the spans not sent yet and stop, waiting at most :data:`CLOSE_SECONDS`."""
        closing = threading.Thread(target=self._provider.shutdown, name="trace-close", daemon=True)
        closing.start()
        closing.join(CLOSE_SECONDS)
        logging.getLogger(_EXPORTER_LOGGER).removeFilter(self._quiet_while_failing)
        if closing.is_alive():
            log.warning(
                "The last traces could not be sent to %s in %.0f s; they are dropped.",
                self.config.endpoint,
                CLOSE_SECONDS,
            )
