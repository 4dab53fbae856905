"""The process that hosts one GGUF model through llama-cpp-python.

llama.cpp can abort the whole process on a bad file or an internal assert, so a model never
lives in the application's own process. This worker is started by :mod:`llama_process`, loads
one model and answers requests one at a time.

Protocol: JSON, one object per line. The first line on stdin is the load configuration; the
worker answers ``{"type": "ready", ...}`` or ``{"type": "error", "message": ...}``. Then each
``{"op": "tokenize", "id": N, "text": ...}`` is answered by ``{"type": "tokens", "count": ...}``;
``{"op": "chat", "id": N, ...}`` by ``token`` messages (each carrying the text of
one or more tokens) and a final ``done`` or ``error`` carrying the same id. ``done`` gives the
prompt's tokens (``prompt_tokens``), those llama.cpp evaluated for it (``prompt_evaluated``;
the rest came from the context it held or from the prompt cache), and the bytes the prompt
cache holds (``prompt_cache_bytes``, at most the load configuration's ``prompt_cache_bytes``;
no cache when the configuration gives none).
``{"op": "cancel", "id": N}`` stops request N early. Anything llama.cpp prints goes to stderr;
the parent keeps its last lines to explain a failure.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TextIO, cast

from purpose_desktop.models.llama_cpu import prepare_llama_cpp

if TYPE_CHECKING:  # these import llama_cpp, which the worker loads only inside its error handling
    from purpose_desktop.models.llama_grammar import Grammars
    from purpose_desktop.models.worker_llama import WorkerLlama

Message = dict[str, Any]


class _Requests:
    """Reads stdin on a thread so a cancel arrives while a request is being generated."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending: queue.Queue[Message | None] = queue.Queue()
        self._cancelled: set[int] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, name="requests", daemon=True).start()

    def _read(self) -> None:
        try:
            for line in self._stream:
                try:
                    request: Message = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by a parent that died
                    continue
                if request.get("op") == "cancel":
                    with self._lock:
                        self._cancelled.add(int(request["id"]))
                else:
                    self._pending.put(request)
        finally:
            self._pending.put(None)  # stdin closed: the parent is gone or wants us to stop

    def next(self) -> Message | None:
        return self._pending.get()

    def is_cancelled(self, request_id: int) -> bool:
        with self._lock:
            return request_id in self._cancelled

    def forget(self, request_id: int) -> None:
        """Drop a finished request's cancellation, so the set does not grow for ever."""
        with self._lock:
            self._cancelled.discard(request_id)


def _sampling(request: Message, grammars: Grammars) -> dict[str, Any]:
    keys = ("temperature", "top_p", "seed")
    settings = {key: request[key] for key in keys if request.get(key) is not None}
    schema = request.get("json_schema")
    if schema is not None:
        try:
            settings["grammar"] = grammars.for_schema(schema)
        except Exception as exc:  # refused by llama.cpp, or a schema the converter trips on
            # The answer is validated against the schema in any case; unconstrained, a small
            # model misses more often, but the worker lives on.
            print(
                f"No grammar for this schema ({type(exc).__name__}: {exc}); generating "
                "without one.",
                file=sys.stderr,
                flush=True,
            )
    return settings


# Tokens are sent in small batches: a message per token would wake the application's process
# a hundred times a second, and on a two-core machine every wake-up takes a core from
# llama.cpp's threads. The first token still goes out at once, and no batch waits longer than
# this, far below what a reader notices.
SEND_INTERVAL_SECONDS = 0.04


class _Batcher:
    """Collects answer text and sends it at most every SEND_INTERVAL_SECONDS."""

    def __init__(self, request_id: int, send: Callable[[Message], None]) -> None:
        self._request_id = request_id
        self._send = send
        self._pending: list[str] = []
        self._last_sent = 0.0

    def add(self, text: str) -> None:
        self._pending.append(text)
        if time.perf_counter() - self._last_sent >= SEND_INTERVAL_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            text, self._pending = "".join(self._pending), []
            self._send({"id": self._request_id, "type": "token", "text": text})
            self._last_sent = time.perf_counter()


def _chat(
    llm: WorkerLlama,
    grammars: Grammars,
    request: Message,
    send: Callable[[Message], None],
    cancelled: Callable[[], bool],
) -> None:
    request_id = request["id"]
    started = time.perf_counter()
    batcher = _Batcher(request_id, send)
    pieces: list[str] = []
    finish_reason = "stop"
    # With stream=True the answer is an iterator of chunks; the stubs cannot say so.
    chunks = cast(
        Iterator[Message],
        llm.create_chat_completion(
            messages=request["messages"],
            max_tokens=int(request["max_tokens"]),
            stream=True,
            **_sampling(request, grammars),
        ),
    )
    for chunk in chunks:
        if cancelled():
            finish_reason = "cancelled"
            break
        choice = chunk["choices"][0]
        text = choice["delta"].get("content")
        if text:
            pieces.append(text)
            batcher.add(text)
        if choice.get("finish_reason"):
            finish_reason = choice["finish_reason"]
    batcher.flush()
    llm.keep_context()
    # A stream reports no usage, and its chunks undercount (llama-cpp-python yields the tokens
    # of a character split across them together). Re-tokenising the answer gives the tokens
    # generated. A per-token logits processor would count exactly but costs a tenth of the
    # speed.
    answer = "".join(pieces).encode("utf-8")
    completion = len(llm.tokenize(answer, add_bos=False, special=True)) if answer else 0
    send(
        {
            "id": request_id,
            "type": "done",
            "finish_reason": finish_reason,
            "prompt_tokens": llm.prompt_tokens,
            "prompt_evaluated": llm.prompt_evaluated,
            "prompt_cache_bytes": llm.prompt_cache.size_bytes,
            "completion_tokens": completion,
            "seconds": time.perf_counter() - started,
        }
    )


def _load(config: Message) -> WorkerLlama:
    from purpose_desktop.models.worker_llama import WorkerLlama

    # verbose=False would redirect the process's file descriptors while loading and hide why a
    # load failed; instead keep llama.cpp's log on stderr (the parent's log) while loading and
    # quieten it to warnings once the model is up.
    llm = WorkerLlama(
        prompt_cache_bytes=int(config.get("prompt_cache_bytes", 0)),
        model_path=config["model_path"],
        n_ctx=int(config["n_ctx"]),
        n_threads=int(config["n_threads"]),
        n_threads_batch=int(config["n_threads"]),
        n_batch=int(config["n_batch"]),
        chat_format=config.get("chat_format"),
        vocab_only=bool(config.get("vocab_only", False)),
        verbose=True,
    )
    llm.verbose = False
    logging.getLogger("llama-cpp-python").setLevel(logging.WARNING)
    return llm


def main() -> int:
    """Serve one model until stdin closes. Returns the process exit code."""
    # Keep a private copy of stdout for the protocol and point fd 1 at stderr, so anything
    # the C library prints can never corrupt a protocol line.
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    write_lock = threading.Lock()

    def send(message: Message) -> None:
        line = json.dumps(message, ensure_ascii=False)
        with write_lock:
            protocol.write(line + "\n")
            protocol.flush()

    config: Message = json.loads(sys.stdin.readline())
    started = time.perf_counter()
    try:
        cpu = prepare_llama_cpp()
        llm = _load(config)
    except Exception as exc:  # llama-cpp-python raises ValueError and others for bad files
        send({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
        return 1
    send(
        {
            "type": "ready",
            "amx_avoided": cpu.amx_avoided,
            "cpu_variant": cpu.variant,
            "load_seconds": time.perf_counter() - started,
            "n_ctx": llm.n_ctx(),
            "n_threads": llm.n_threads,
        }
    )
    requests = _Requests(sys.stdin)
    from purpose_desktop.models.llama_grammar import Grammars

    grammars = Grammars(llm._model.vocab)
    while (request := requests.next()) is not None:
        request_id = int(request["id"])
        try:
            if request.get("op") == "tokenize":
                text = str(request["text"]).encode("utf-8")
                count = len(llm.tokenize(text, add_bos=False, special=True)) if text else 0
                send({"id": request_id, "type": "tokens", "count": count})
                continue
            cancelled = functools.partial(requests.is_cancelled, request_id)
            _chat(llm, grammars, request, send, cancelled)
        except Exception as exc:  # report and keep serving: one bad request is not fatal
            send({"id": request_id, "type": "error", "message": f"{type(exc).__name__}: {exc}"})
        finally:
            requests.forget(request_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
