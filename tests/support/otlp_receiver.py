"""A local OTLP/HTTP receiver, standing in for a trace collector (Langfuse, Arize Phoenix, an
OpenTelemetry Collector): none can be installed on the test machines.

It listens on a free port, takes ``POST /v1/traces`` (or any path under it, as Langfuse's
``/api/public/otel/v1/traces``) with an ``ExportTraceServiceRequest`` in protobuf, gzipped or
not, decodes it with ``opentelemetry-proto`` and keeps every span it held as a plain
:class:`ReceivedSpan`, with the path and headers of the request that brought it. With
:attr:`OtlpReceiver.refuse_with` set it answers every request with that HTTP status instead,
as a collector that is failing does, and counts them.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as the collector got it: ids as hex, times in nanoseconds since the epoch."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    start: int
    end: int
    attributes: dict[str, Any]
    status_code: int
    status_message: str
    events: tuple[tuple[str, dict[str, Any]], ...]
    resource: dict[str, Any]
    scope: str
    path: str
    headers: dict[str, str]


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return None if kind is None else getattr(value, kind)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


def decode(body: bytes, path: str, headers: dict[str, str]) -> list[ReceivedSpan]:
    """The spans of one export request's body."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        kind=span.kind,
                        start=span.start_time_unix_nano,
                        end=span.end_time_unix_nano,
                        attributes=_attributes(span.attributes),
                        status_code=span.status.code,
                        status_message=span.status.message,
                        events=tuple((e.name, _attributes(e.attributes)) for e in span.events),
                        resource=resource,
                        scope=scope_spans.scope.name,
                        path=path,
                        headers=headers,
                    )
                )
    return spans


class OtlpReceiver:
    """What the receiver got so far; :attr:`url` is its base URL (no path)."""

    def __init__(self) -> None:
        self.url = ""
        self.requests = 0
        """Requests whose spans were taken."""
        self.refuse_with: int | None = None
        """An HTTP status to answer every request with, taking nothing; ``None``: take them."""
        self.refused = 0
        """Requests answered with :attr:`refuse_with`."""
        self._spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()

    @property
    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self._spans)

    def add(self, spans: list[ReceivedSpan]) -> None:
        with self._lock:
            self.requests += 1
            self._spans.extend(spans)

    def refuse(self) -> int | None:
        """The status to refuse a request with, counting it; ``None`` to take it."""
        with self._lock:
            if self.refuse_with is not None:
                self.refused += 1
            return self.refuse_with

    def wait_for(
        self, condition: Callable[[list[ReceivedSpan]], bool], within: float = 30.0
    ) -> list[ReceivedSpan]:
        """The spans once ``condition`` holds for them; AssertionError after ``within`` s."""
        deadline = time.monotonic() + within
        while not condition(self.spans):
            if time.monotonic() > deadline:
                names = [span.name for span in self.spans]
                raise AssertionError(f"the receiver did not get the spans expected: {names}")
            time.sleep(0.05)
        return self.spans

    def wait_for_refused(self, count: int, within: float = 30.0) -> None:
        """Return once ``count`` requests were refused; AssertionError after ``within`` s."""
        deadline = time.monotonic() + within
        while self.refused < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.refused} requests refused, not {count}")
            time.sleep(0.05)


def _handler(receiver: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            if not self.path.endswith("/v1/traces"):
                self.send_error(404)
                return
            if (status := receiver.refuse()) is not None:
                self.send_error(status)
                return
            if self.headers.get("Content-Type") != "application/x-protobuf":
                self.send_error(415)
                return
            headers = {key.lower(): value for key, value in self.headers.items()}
            receiver.add(decode(body, self.path, headers))
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test's output stays its own

    return Handler


@contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A receiver listening on a free port of 127.0.0.1 until the block ends."""
    receiver = OtlpReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
