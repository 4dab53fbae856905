"""A GGUF model hosted in a worker process, used through an async interface.

The worker (:mod:`llama_worker`) owns the llama.cpp objects; this side only exchanges JSON lines
with it. Pipes are read on threads and handed to the asyncio loop, which works the same on
every platform and under qasync, and keeps inference entirely off the UI loop. If the worker
dies (an abort in llama.cpp, out of memory, killed), the caller gets a :class:`ModelError`
naming the model and the cause, and the model can be started again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import re
import signal
import subprocess
import threading
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from purpose_desktop.errors import ModelError
from purpose_desktop.models.families import (
    ModelFamily,
    family_for,
    is_instruction_tuned,
    trained_context,
)
from purpose_desktop.models.gguf_metadata import GGUFMetadata, read_gguf_metadata
from purpose_desktop.models.memory import PROMPT_CACHE_BYTES
from purpose_desktop.models.messages import (
    ChatMessage,
    GenerationOptions,
    StreamDone,
    StreamEvent,
    Usage,
)
from purpose_desktop.models.thinking import ThinkingSplitter
from purpose_desktop.models.worker_entry import worker_command

log = logging.getLogger(__name__)
worker_log = logging.getLogger("purpose_desktop.models.worker")

_STDERR_TAIL = 40
_CAUSE_MARKERS = re.compile(r"error|failed|unknown|invalid|unsupported|out of memory", re.I)


@dataclass(frozen=True)
class LocalModelConfig:
    """How to load a GGUF file. Every llama.cpp size is explicit, never left to its defaults."""

    path: Path
    n_ctx: int
    n_threads: int
    n_batch: int = 512
    vocab_only: bool = False
    """Read only the architecture and vocabulary, not the weights: a quick check that llama.cpp
    can use the file."""
    prompt_cache_bytes: int = PROMPT_CACHE_BYTES
    """Memory the worker may keep evaluated prompts in, so a prompt that starts as an earlier
    one did is evaluated only from where they differ; 0 keeps none."""

    def validate(self, metadata: GGUFMetadata) -> None:
        """Raise :class:`ModelError` if these settings cannot work for this model."""
        trained = trained_context(metadata)
        if self.n_ctx <= 0:
            raise ModelError(f"Context size must be a positive number of tokens, not {self.n_ctx}.")
        if self.n_ctx > trained:
            assumed = "" if metadata.context_length else ", its family's; the file does not say"
            raise ModelError(
                f"Context size {self.n_ctx} is larger than {metadata.name} allows "
                f"({trained}{assumed})."
            )
        if self.n_threads <= 0:
            raise ModelError(f"Thread count must be at least 1, not {self.n_threads}.")
        if self.n_batch <= 0:
            raise ModelError(f"Batch size must be at least 1, not {self.n_batch}.")
        if self.prompt_cache_bytes < 0:
            raise ModelError(f"The prompt cache cannot hold {self.prompt_cache_bytes} bytes.")


def _end_at_once(process: subprocess.Popen[str]) -> None:
    with process:  # waits for it and closes its pipes
        process.kill()


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class _WorkerPipes:
    """Moves the worker's output lines onto the asyncio loop, on two reader threads."""

    def __init__(self, process: subprocess.Popen[str], loop: asyncio.AbstractEventLoop) -> None:
        self._process = process
        self._loop = loop
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL)
        assert process.stdout is not None and process.stderr is not None
        self._threads = [
            threading.Thread(target=self._read_stdout, args=(process.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(process.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _deliver(self, message: dict[str, Any]) -> None:
        # The loop may already be closed when a worker outlives an app that crashed.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self.inbox.put_nowait, message)

    def _read_stdout(self, stream: IO[str]) -> None:
        for line in stream:
            try:
                self._deliver(json.loads(line))
            except json.JSONDecodeError:
                worker_log.warning("Unreadable line from model worker: %r", line[:200])
        self._deliver({"type": "exited", "returncode": self._process.wait()})

    def _read_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            text = line.rstrip()
            if text:
                self.stderr_tail.append(text)
                worker_log.debug("%s", text)

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)


class LlamaProcessModel:
    """A chat model backed by a GGUF file, loaded in a worker process of its own.

    Calls are serialised: one loaded model generates for one caller at a time, and the others
    wait their turn. Use :meth:`start` to create one and :meth:`aclose` to end its process.
    """

    #: Generation under a schema runs under its grammar (see :mod:`llama_grammar`).
    keeps_to_schemas = True

    def __init__(
        self,
        name: str,
        *,
        metadata: GGUFMetadata,
        family: ModelFamily,
        process: subprocess.Popen[str],
        pipes: _WorkerPipes,
        load_seconds: float,
    ) -> None:
        self.name = name
        self.metadata = metadata
        self.family = family
        self.chat_format: str | None = None if metadata.chat_template else family.chat_format
        """The llama.cpp chat format chosen for a file without its own template."""
        self.instruction_tuned = is_instruction_tuned(metadata)
        self.load_seconds = load_seconds
        self.n_threads = 0
        """Threads llama.cpp uses, as the worker reports once loaded."""
        self.context_size = 0
        """Tokens of context llama.cpp allocated, as the worker reports once loaded."""
        self.cpu_variant: str | None = None
        """The CPU code a portable llama.cpp chose for this CPU (``haswell``, ``sse42``...),
        as the worker reports once loaded; None for a build with its CPU code built in."""
        self._process = process
        self._pipes = pipes
        self._lock = asyncio.Lock()
        self._next_id = 0

    @classmethod
    async def start(
        cls,
        name: str,
        config: LocalModelConfig,
        *,
        load_timeout: float = 300.0,
        metadata: GGUFMetadata | None = None,
    ) -> LlamaProcessModel:
        """Start a worker, load the model and wait until it is ready.

        ``metadata`` saves reading the file's header again when the caller has it. Raises
        :class:`ModelError` with the cause when the file is not a usable model, the settings
        do not fit it, or llama.cpp fails or dies while loading.
        """
        if metadata is None:
            metadata = await asyncio.to_thread(read_gguf_metadata, config.path)
        config.validate(metadata)
        family = family_for(metadata.architecture, metadata.name)
        started = time.perf_counter()
        starting = asyncio.ensure_future(
            asyncio.to_thread(
                subprocess.Popen,
                worker_command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
            )
        )
        try:
            process = await asyncio.shield(starting)
        except asyncio.CancelledError:
            # The thread starts the worker all the same: end it rather than leave it running.
            await asyncio.to_thread(_end_at_once, await starting)
            raise
        pipes = _WorkerPipes(process, asyncio.get_running_loop())
        model = cls(
            name, metadata=metadata, family=family, process=process, pipes=pipes, load_seconds=0.0
        )
        load = {
            "model_path": str(config.path),
            "n_ctx": config.n_ctx,
            "n_threads": config.n_threads,
            "n_batch": config.n_batch,
            "chat_format": model.chat_format,
            "vocab_only": config.vocab_only,
            "prompt_cache_bytes": config.prompt_cache_bytes,
        }
        try:
            model._send(load)
            reply = await asyncio.wait_for(pipes.inbox.get(), load_timeout)
        except TimeoutError:
            await model.aclose()
            raise ModelError(
                f"The model '{name}' did not finish loading within {load_timeout:.0f} s."
            ) from None
        except BaseException:
            await model.aclose()
            raise
        if reply.get("type") != "ready":
            await model.aclose()
            model._log_stderr_tail()
            raise ModelError(
                f"Could not load the model '{name}' from {config.path}: "
                f"{model._failure_reason(reply)}"
            )
        model.load_seconds = time.perf_counter() - started
        model.n_threads = int(reply["n_threads"])
        model.context_size = int(reply["n_ctx"])
        model.cpu_variant = reply.get("cpu_variant")
        log.info(
            "Model %s ready in %.2f s (pid %s, CPU code: %s)",
            name,
            model.load_seconds,
            process.pid,
            model.cpu_variant or "built in",
        )
        if reply.get("amx_avoided"):
            log.info(
                "Model %s keeps its weights out of AMX buffers: this llama.cpp has AMX "
                "code, which can crash (see docs/models.md)",
                name,
            )
        return model

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def _send(self, message: dict[str, Any]) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(message) + "\n")
            stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise ModelError(f"The model '{self.name}' is not running: {exc}") from exc

    def _log_stderr_tail(self) -> None:
        tail = "\n".join(self._pipes.stderr_tail)
        log.warning("Model %s failed; the last lines llama.cpp printed:\n%s", self.name, tail)

    def _failure_reason(self, message: dict[str, Any]) -> str:
        if message.get("type") == "error":
            reason = str(message.get("message", "unknown error"))
        else:
            reason = f"its process stopped ({_describe_exit(int(message.get('returncode', -1)))})"
        # llama.cpp logs the real cause ("unknown model architecture ...") before failing with
        # a generic exception, so the last such line of its log is worth showing.
        causes = [line for line in self._pipes.stderr_tail if _CAUSE_MARKERS.search(line)]
        errors = [line for line in causes if "error" in line.lower()]
        cause = (errors or causes or [""])[-1].strip()
        return f"{reason} (llama.cpp: {cause})" if cause else reason

    def _new_request(self) -> int:
        if not self.alive:
            raise ModelError(f"The model '{self.name}' is not running. Load it again.")
        self._next_id += 1
        return self._next_id

    async def _reply(self, request_id: int, doing: str) -> dict[str, Any]:
        """The worker's next message about ``request_id``; raises :class:`ModelError` if the
        worker stops first."""
        while True:
            message = await self._pipes.inbox.get()
            if message.get("type") == "exited":
                self._log_stderr_tail()
                raise ModelError(
                    f"The model '{self.name}' stopped while {doing}: "
                    f"{self._failure_reason(message)}. Load it again to continue."
                )
            if message.get("id") == request_id:
                return message
            # Anything else is the tail of an earlier, cancelled request.

    async def count_tokens(self, text: str) -> int:
        """How many tokens the model's own tokenizer makes of ``text``."""
        async with self._lock:
            request_id = self._new_request()
            self._send({"op": "tokenize", "id": request_id, "text": text})
            message = await self._reply(request_id, "counting tokens")
            if message.get("type") != "tokens":
                raise ModelError(f"The model '{self.name}' failed: {message.get('message')}")
            return int(message["count"])

    async def stream_chat(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream the answer to ``messages`` as :class:`TokenDelta` and a final
        :class:`StreamDone`. Closing the iterator early cancels generation in the worker."""
        async with self._lock:
            request_id = self._new_request()
            self._send(
                {
                    "op": "chat",
                    "id": request_id,
                    "messages": [asdict(m) for m in messages],
                    "max_tokens": options.max_tokens,
                    "temperature": (
                        self.family.temperature
                        if options.temperature is None
                        else options.temperature
                    ),
                    "top_p": self.family.top_p if options.top_p is None else options.top_p,
                    "seed": options.seed,
                    "json_schema": None
                    if options.json_schema is None
                    else dict(options.json_schema),
                }
            )
            finished = False
            splitter = ThinkingSplitter()
            try:
                while True:
                    message = await self._reply(request_id, "answering")
                    kind = message.get("type")
                    if kind == "token":
                        for delta in splitter.feed(str(message["text"])):
                            yield delta
                    elif kind == "error":
                        finished = True
                        raise ModelError(f"The model '{self.name}' failed: {message['message']}")
                    elif kind == "done":
                        finished = True
                        for delta in splitter.flush():
                            yield delta
                        yield StreamDone(
                            str(message["finish_reason"]),
                            Usage(
                                int(message["prompt_tokens"]),
                                int(message["completion_tokens"]),
                                float(message["seconds"]),
                                int(message["prompt_evaluated"]),
                            ),
                        )
                        return
            finally:
                if not finished and self.alive:
                    with contextlib.suppress(ModelError):
                        self._send({"op": "cancel", "id": request_id})

    async def aclose(self, grace_seconds: float = 5.0) -> None:
        """End the worker: close its stdin, then terminate and kill it if it does not exit."""
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        try:
            await asyncio.to_thread(self._process.wait, grace_seconds)
        except subprocess.TimeoutExpired:
            self._process.kill()
            await asyncio.to_thread(self._process.wait)
        await asyncio.to_thread(self._pipes.join, grace_seconds)
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()
