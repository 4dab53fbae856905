"""A stand-in for the Ollama daemon that generates with a real GGUF model through llama.cpp.

No Ollama daemon can be installed where the tests run, so this script serves the parts of
Ollama's HTTP API that the app uses, with Ollama's JSON shapes, backed by a real model:

- ``GET /api/tags``, ``POST /api/show``, ``GET /api/ps``;
- ``POST /api/chat``, streamed as NDJSON (chunked), honouring ``format`` (``"json"`` or a
  JSON schema, enforced by a llama.cpp grammar), ``keep_alive`` and the options
  ``num_predict``, ``temperature``, ``top_p``, ``top_k``, ``repeat_penalty``, ``seed`` and
  ``num_ctx`` (a different ``num_ctx`` reloads the model, as Ollama does).

For the tests there are two more endpoints:

- ``POST /_fault`` sets faults for the next ``/api/chat`` only: ``{"slow_seconds": s}`` waits
  before answering; ``{"status": 500, "error": "..."}`` answers with that status;
  ``{"error_after": n, "error": "..."}`` sends an ``{"error": ...}`` line after n tokens;
  ``{"hang_up_after": n}`` drops the connection after n tokens; ``{"ignore_format": true}``
  generates without the schema; ``{"token_delay": s}`` waits between tokens;
  ``{"split_utf8": true}`` sends each streamed line in two HTTP chunks, a moment apart, cut
  inside its first multi-byte character;
  ``{"think_tokens": n, "think_style": "field" | "tags"}`` presents the first n tokens as
  reasoning (in ``message.thinking``, or between ``<think>`` tags in the content).
- ``GET /_requests`` returns every chat request received (its body, how it ended, the
  pieces of text generated and sent), how many times the model was loaded, and every pull.

``POST /api/pull`` streams Ollama's progress lines for a name of the model served (any tag),
which /api/tags then lists beside it, and Ollama's error line for any other; the fault
``{"pull_delay": s}`` waits between its lines.

Run: ``python fake_ollama_server.py --model FILE.gguf --name smollm2:135m --port-file PATH``.
It loads the model, listens on a free port of 127.0.0.1 and then writes the port number to
``--port-file``. It uses only the standard library and llama_cpp.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from llama_cpp import Llama
from purpose_desktop.models.llama_cpu import prepare_llama_cpp

N_THREADS = 2
START_CONTEXT = 1024
DEFAULT_CONTEXT = 2048  # what Ollama uses when a request names no num_ctx
DEFAULT_KEEP_ALIVE = 300.0
SPLIT_PAUSE = 0.02  # between the halves of a split line: long enough to arrive apart
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    12: "Q3_K_M",
    14: "Q4_K_S",
    15: "Q4_K_M",
    17: "Q5_K_M",
    18: "Q6_K",
}
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

Json = dict[str, Any]


def timestamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).isoformat()


def keep_alive_seconds(value: Any) -> float:
    """Seconds from Ollama's keep_alive: a number of seconds or a Go duration ("10m")."""
    if value is None:
        return DEFAULT_KEEP_ALIVE
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    sign = -1.0 if text.startswith("-") else 1.0
    parts = DURATION_PART.findall(text.lstrip("+-"))
    if not parts:
        raise ValueError(f"time: invalid duration {text!r}")
    return sign * sum(float(number) * DURATION_UNITS[unit] for number, unit in parts)


class Model:
    """The one model this server has, with everything the endpoints report about it."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.size = path.stat().st_size
        with path.open("rb") as handle:
            self.digest = hashlib.file_digest(handle, "sha256").hexdigest()
        self.modified_at = timestamp(datetime.fromtimestamp(path.stat().st_mtime, UTC))
        self.lock = threading.Lock()
        """Serialises every use of the Llama object: llama.cpp is not thread-safe."""
        self.loads = 0
        self.llm: Any = None
        self.n_ctx = 0
        self.load(START_CONTEXT)
        self.expires_at: datetime | None = None  # not "loaded" for /api/ps until first used

    def load(self, n_ctx: int) -> None:
        self.llm = None
        prepare_llama_cpp()  # the worker's setting, so both run the model the same way
        # verbose=True keeps llama.cpp's log on stderr (the log file the tests keep).
        self.llm = Llama(
            model_path=str(self.path),
            n_ctx=n_ctx,
            n_threads=N_THREADS,
            n_threads_batch=N_THREADS,
            verbose=True,
        )
        self.llm.verbose = False
        self.n_ctx = n_ctx
        self.loads += 1

    def matches(self, name: str) -> bool:
        return name in (self.name, f"{self.name}:latest") or (
            ":" not in self.name and name == f"{self.name}:latest"
        )

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self.llm.metadata)

    def details(self) -> Json:
        meta = self.metadata
        family = meta.get("general.architecture", "")
        return {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family],
            "parameter_size": meta.get("general.size_label")
            or f"{self.llm._model.n_params() / 1e6:.2f}M",
            "quantization_level": FILE_TYPES.get(int(meta.get("general.file_type", -1)), ""),
        }

    def model_info(self) -> Json:
        info: Json = {}
        for key, value in sorted(self.metadata.items()):
            if key.startswith("tokenizer.chat_template"):
                continue
            try:
                info[key] = int(value)
            except ValueError:
                try:
                    info[key] = float(value)
                except ValueError:
                    info[key] = value
        info["general.parameter_count"] = self.llm._model.n_params()
        return info

    def ensure_context(self, num_ctx: int) -> None:
        """Reload with ``num_ctx`` if it differs from the loaded context, as Ollama does."""
        trained = int(self.metadata.get(f"{self.details()['family']}.context_length", num_ctx))
        wanted = max(1, min(num_ctx, trained))
        if wanted != self.n_ctx:
            self.load(wanted)

    def generate(self, body: Json, ignore_format: bool) -> Iterator[Json]:
        """Yield ``{"text": ...}`` per piece, then ``{"done": ...}`` with Ollama's counters."""
        options: Json = body.get("options") or {}
        self.ensure_context(int(options.get("num_ctx") or DEFAULT_CONTEXT))
        num_predict = int(options.get("num_predict", -1))
        settings: Json = {
            "max_tokens": num_predict if num_predict > 0 else None,
            "temperature": float(options.get("temperature", 0.8)),
            "top_p": float(options.get("top_p", 0.9)),
            "top_k": int(options.get("top_k", 40)),
            "repeat_penalty": float(options.get("repeat_penalty", 1.1)),
        }
        if options.get("seed") is not None:
            settings["seed"] = int(options["seed"])
        schema = body.get("format")
        if schema and not ignore_format:
            settings["response_format"] = (
                {"type": "json_object"}
                if schema == "json"
                else {"type": "json_object", "schema": schema}
            )
        messages = [
            {"role": m.get("role", "user"), "content": m.get("content", "")}
            for m in body.get("messages") or []
        ]
        started = time.perf_counter_ns()
        first_token = started
        pieces: list[str] = []
        done_reason = "stop"
        chunks = self.llm.create_chat_completion(messages=messages, stream=True, **settings)
        try:
            for chunk in chunks:
                choice = chunk["choices"][0]
                text = choice["delta"].get("content")
                if text:
                    if not pieces:
                        first_token = time.perf_counter_ns()
                    pieces.append(text)
                    yield {"text": text}
                if choice.get("finish_reason"):
                    done_reason = choice["finish_reason"]
        finally:
            chunks.close()  # stops llama.cpp when the client has gone
        ended = time.perf_counter_ns()
        answer = "".join(pieces).encode("utf-8")
        eval_count = len(self.llm.tokenize(answer, add_bos=False, special=True)) if answer else 0
        yield {
            "done": {
                "done_reason": done_reason,
                "total_duration": ended - started,
                "load_duration": 0,
                "prompt_eval_count": max(1, self.llm.n_tokens - eval_count),
                "prompt_eval_duration": first_token - started,
                "eval_count": eval_count,
                "eval_duration": max(1, ended - first_token),
            }
        }


class State:
    """What the handler threads share: the model, the request log and pending faults."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self._lock = threading.Lock()
        self._faults: Json = {}
        self.requests: list[Json] = []
        self.pulled: list[str] = []
        """Names pulled through /api/pull; /api/tags lists them beside the model."""
        self.pulls: list[Json] = []
        """Every /api/pull received: the name and how it ended."""

    def set_faults(self, faults: Json) -> None:
        with self._lock:
            self._faults = dict(faults)

    def take_faults(self) -> Json:
        with self._lock:
            faults, self._faults = self._faults, {}
            return faults

    def record(self, entry: Json) -> Json:
        with self._lock:
            self.requests.append(entry)
        return entry

    def snapshot(self) -> Json:
        with self._lock:
            return {
                "requests": json.loads(json.dumps(self.requests)),
                "loads": self.model.loads,
                "pulls": json.loads(json.dumps(self.pulls)),
            }


class ClientGone(Exception):
    """The client closed the connection while the answer was being written."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, as Ollama's Go server
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"fake-ollama: {format % args}\n")

    # --- plumbing -------------------------------------------------------------------------

    def read_json(self) -> Json:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        value = json.loads(raw or b"{}")
        return value if isinstance(value, dict) else {}

    def send_json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_text(self, status: int, text: str) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        try:
            self.end_headers()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ClientGone from exc

    def write_line(self, body: Json, *, split_utf8: bool = False) -> bool:
        """Send ``body`` as one NDJSON line. With ``split_utf8`` a line holding a multi-byte
        character goes out as two chunks cut after that character's first byte; returns
        whether it was cut."""
        data = (json.dumps(body, ensure_ascii=False) + "\n").encode("utf-8")
        # A byte of 0xC0 or more starts a character of two to four bytes.
        cut = next((i + 1 for i, byte in enumerate(data) if byte >= 0xC0), None)
        parts = [data[:cut], data[cut:]] if split_utf8 and cut is not None else [data]
        try:
            for index, part in enumerate(parts):
                if index:
                    time.sleep(SPLIT_PAUSE)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ClientGone from exc
        return len(parts) > 1

    def end_stream(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ClientGone from exc

    def hang_up(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    # --- routes ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/":
            self.send_text(200, "Ollama is running")
        elif self.path == "/api/version":
            self.send_json(200, {"version": "0.0.0-fake"})
        elif self.path == "/api/tags":
            names = [state.model.name, *state.pulled]
            self.send_json(200, {"models": [self.listing(name) for name in names]})
        elif self.path == "/api/ps":
            self.send_json(200, {"models": self.running()})
        elif self.path == "/_requests":
            self.send_json(200, state.snapshot())
        else:
            self.send_text(404, "404 page not found")

    def do_POST(self) -> None:
        try:
            body = self.read_json()
        except json.JSONDecodeError as exc:
            self.send_json(400, {"error": f"invalid JSON: {exc}"})
            return
        if self.path == "/api/show":
            self.show(body)
        elif self.path == "/api/chat":
            self.chat(body)
        elif self.path == "/api/pull":
            self.pull(body)
        elif self.path == "/_fault":
            self.server.state.set_faults(body)
            self.send_json(200, {"faults": body})
        else:
            self.send_text(404, "404 page not found")

    def listing(self, name: str) -> Json:
        model = self.server.state.model
        return {
            "name": name,
            "model": name,
            "modified_at": model.modified_at,
            "size": model.size,
            "digest": model.digest,
            "details": model.details(),
        }

    def pull(self, body: Json) -> None:
        """Ollama's pull, streamed as it streams it: the manifest, the model's layer in
        pieces with bytes done and in all, the checks, then success. Only names of the model
        served (its name before the tag, with any tag) can be pulled; any other gets
        Ollama's error line for a model its library does not have. ``pull_delay`` (taken
        from the faults) waits between lines."""
        state = self.server.state
        model = state.model
        faults = state.take_faults()
        name = str(body.get("model") or body.get("name") or "")
        entry: Json = {"model": name, "outcome": "started"}
        with state._lock:
            state.pulls.append(entry)
        delay = float(faults.get("pull_delay", 0))
        digest = f"sha256:{model.digest}"
        self.start_stream()
        try:
            self.write_line({"status": "pulling manifest"})
            if name.split(":", maxsplit=1)[0] != model.name.split(":")[0]:
                self.write_line({"error": "pull model manifest: file does not exist"})
                self.end_stream()
                entry["outcome"] = "not found"
                return
            steps = 8
            for step in range(steps + 1):
                time.sleep(delay)
                self.write_line(
                    {
                        "status": f"pulling {model.digest[:12]}",
                        "digest": digest,
                        "total": model.size,
                        "completed": model.size * step // steps,
                    }
                )
            for status in ("verifying sha256 digest", "writing manifest", "success"):
                self.write_line({"status": status})
            self.end_stream()
        except ClientGone:
            entry["outcome"] = "client disconnected"
            self.close_connection = True
            return
        entry["outcome"] = "completed"
        with state._lock:
            if name not in state.pulled and name != model.name:
                state.pulled.append(name)

    def running(self) -> list[Json]:
        model = self.server.state.model
        if model.expires_at is None or model.expires_at <= datetime.now(UTC):
            return []
        return [
            {
                "name": model.name,
                "model": model.name,
                "size": model.llm._model.size() + model.n_ctx * 30 * 2 * 192 * 2,  # weights + KV
                "digest": model.digest,
                "details": model.details(),
                "expires_at": timestamp(model.expires_at),
                "size_vram": 0,
                "context_length": model.n_ctx,
            }
        ]

    def show(self, body: Json) -> None:
        model = self.server.state.model
        name = str(body.get("model") or body.get("name") or "")
        if not model.matches(name):
            self.send_json(404, {"error": f"model '{name}' not found"})
            return
        with model.lock:
            self.send_json(
                200,
                {
                    "license": model.metadata.get("general.license", ""),
                    "modelfile": f'# Modelfile generated by "ollama show"\nFROM {model.path}\n',
                    "parameters": "",
                    "template": model.metadata.get("tokenizer.chat_template", ""),
                    "details": model.details(),
                    "model_info": model.model_info(),
                    "capabilities": ["completion"],
                    "modified_at": model.modified_at,
                },
            )

    def chat(self, body: Json) -> None:
        state = self.server.state
        model = state.model
        faults = state.take_faults()
        entry = state.record(
            {
                "body": body,
                "faults": faults,
                "outcome": "started",
                "tokens_sent": 0,
                "pieces": [],
                "split_lines": 0,
            }
        )
        name = str(body.get("model") or "")
        if not model.matches(name):
            entry["outcome"] = "model not found"
            self.send_json(404, {"error": f'model "{name}" not found, try pulling it first'})
            return
        if faults.get("status"):
            entry["outcome"] = f"HTTP {faults['status']}"
            self.send_json(int(faults["status"]), {"error": faults.get("error", "failed")})
            return
        try:
            keep_alive = keep_alive_seconds(body.get("keep_alive"))
        except ValueError as exc:
            entry["outcome"] = "bad keep_alive"
            self.send_json(400, {"error": str(exc)})
            return
        time.sleep(float(faults.get("slow_seconds", 0)))
        try:
            with model.lock:
                # Ollama lists a model in /api/ps from the moment it serves a request; the
                # expiry is set before the answer so a client that asks right after the last
                # line never sees the model missing.
                model.expires_at = datetime.now(UTC) + (
                    timedelta(days=36500) if keep_alive < 0 else timedelta(seconds=keep_alive)
                )
                self.answer(body, faults, entry)
        except ClientGone:
            entry["outcome"] = "client disconnected"
            self.close_connection = True

    @staticmethod
    def message(text: str, index: int, faults: Json) -> Json:
        """The chat message carrying generated piece ``index``, as reasoning if asked to."""
        think_tokens = int(faults.get("think_tokens", 0))
        if index < think_tokens and faults.get("think_style", "field") == "field":
            return {"role": "assistant", "content": "", "thinking": text}
        if index < think_tokens:
            opening = "<think>" if index == 0 else ""
            closing = "</think>" if index + 1 == think_tokens else ""
            return {"role": "assistant", "content": f"{opening}{text}{closing}"}
        return {"role": "assistant", "content": text}

    def answer(self, body: Json, faults: Json, entry: Json) -> None:
        model = self.server.state.model
        streaming = body.get("stream", True) is not False
        base = {"model": model.name}
        if streaming:
            self.start_stream()
        pieces: list[str] = []
        thinking: list[str] = []
        counters: Json = {}
        events = model.generate(body, ignore_format=bool(faults.get("ignore_format")))
        try:
            for event in events:
                if "done" in event:
                    counters = dict(event["done"])
                    break
                sent = int(entry["tokens_sent"])
                if "error_after" in faults and sent >= int(faults["error_after"]):
                    self.write_line({"error": faults.get("error", "failed")})
                    self.end_stream()
                    entry["outcome"] = "error sent"
                    return
                if "hang_up_after" in faults and sent >= int(faults["hang_up_after"]):
                    entry["outcome"] = "hung up"
                    self.hang_up()
                    return
                message = self.message(str(event["text"]), sent, faults)
                (thinking if "thinking" in message else pieces).append(
                    str(message.get("thinking") or message["content"])
                )
                if streaming and self.write_line(
                    {**base, "created_at": timestamp(), "message": message, "done": False},
                    split_utf8=bool(faults.get("split_utf8")),
                ):
                    entry["split_lines"] += 1
                entry["tokens_sent"] = sent + 1
                entry["pieces"].append(event["text"])
                time.sleep(float(faults.get("token_delay", 0)))
        finally:
            events.close()  # ends generation in llama.cpp when the answer stops early
        final: Json = {
            **base,
            "created_at": timestamp(),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            **counters,
        }
        entry["outcome"] = "completed"
        entry["done"] = counters
        if streaming:
            self.write_line(final)
            self.end_stream()
        else:
            final["message"] = {"role": "assistant", "content": "".join(pieces)}
            if thinking:
                final["message"]["thinking"] = "".join(thinking)
            self.send_json(200, final)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, state: State) -> None:
        self.state = state
        super().__init__(("127.0.0.1", port), Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that closes a kept-alive connection (as httpx does after a cancelled
        # stream) is normal, not worth a traceback in the log.
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            return
        super().handle_error(request, client_address)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="the GGUF file to serve")
    parser.add_argument("--name", default="smollm2:135m", help="the name Ollama lists it by")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--port-file",
        type=Path,
        required=True,
        help="where to write the port once the server is ready",
    )
    args = parser.parse_args()
    server = Server(args.port, State(Model(args.model, args.name)))
    port = server.server_address[1]
    # Write then rename, so the reader never sees a half-written number.
    partial = args.port_file.with_suffix(".partial")
    partial.write_text(str(port), encoding="utf-8")
    partial.replace(args.port_file)
    sys.stderr.write(f"fake-ollama: serving {args.name} on 127.0.0.1:{port}\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
