"""Fixtures for the Ollama backend tests: a stand-in Ollama server backed by a real model."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.models.bundled import smollm2_path

SCRIPT = Path(__file__).with_name("fake_ollama_server.py")
MODEL = "smollm2:135m"
START_SECONDS = 60.0

# Straight to 127.0.0.1, whatever proxy the environment names.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class FakeOllama:
    """The running stand-in: where it listens, and its test-only switches."""

    url: str
    port: int
    model: str
    log: Path

    def _call(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            self.url + path, data=data, headers={"Content-Type": "application/json"}
        )
        with _opener.open(request, timeout=10) as response:
            reply: dict[str, Any] = json.loads(response.read())
        return reply

    def set_faults(self, **faults: Any) -> None:
        """Faults for the next /api/chat only (see fake_ollama_server.py)."""
        self._call("/_fault", faults)

    def requests(self) -> list[dict[str, Any]]:
        """Every /api/chat received so far: body, faults, outcome, tokens_sent, pieces (the
        generated text sent, before any reasoning markup), split_lines (lines sent cut inside
        a character) and done (the final counters)."""
        requests: list[dict[str, Any]] = self._call("/_requests")["requests"]
        return requests

    def loads(self) -> int:
        """How many times the server has loaded the model (a new num_ctx reloads it)."""
        return int(self._call("/_requests")["loads"])


def _log_tail(log: Path, lines: int = 30) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def running_fake_ollama(folder: Path, model: str = MODEL) -> Iterator[FakeOllama]:
    """The stand-in server in a subprocess, serving the bundled SmolLM2 as ``model``.

    The server picks the port itself (binding port 0) and reports it in a file once the
    model is loaded, so there is no race for the port and no wait guessed in advance.
    """
    port_file = folder / "port"
    log = folder / "server.log"
    command = [
        sys.executable,
        str(SCRIPT),
        "--model",
        str(smollm2_path()),
        "--name",
        model,
        "--port-file",
        str(port_file),
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + START_SECONDS
        while not port_file.exists():
            if process.poll() is not None:
                pytest.fail(
                    f"The fake Ollama server exited ({process.returncode}):\n{_log_tail(log)}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"The fake Ollama server did not start in {START_SECONDS:.0f} s:\n"
                    f"{_log_tail(log)}"
                )
            time.sleep(0.05)
        port = int(port_file.read_text(encoding="utf-8"))
        yield FakeOllama(f"http://127.0.0.1:{port}", port, model, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def fake_ollama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeOllama]:
    """The stand-in server, one per test module."""
    with running_fake_ollama(tmp_path_factory.mktemp("fake-ollama")) as server:
        yield server


@pytest.fixture
def free_port() -> int:
    """A local port with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
