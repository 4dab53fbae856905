"""Fixtures for the server backends: a real llama-cpp-python OpenAI-compatible server on a free
local port, and keyring backends set for one test and restored after it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError
from purpose_desktop.models.bundled import smollm2_path

SERVER_MODEL = "smollm2-135m"
SERVER_SET_UP = (
    "import runpy\n"
    "from purpose_desktop.models.llama_cpu import prepare_llama_cpp\n"
    "prepare_llama_cpp()\n"
    "runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)\n"
)
START_DEADLINE = 180.0
LOG_TAIL = 40


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class LlamaServer:
    """A running ``llama_cpp.server``: where it listens, the key it wants, the model it serves."""

    base_url: str
    api_key: str
    model_id: str
    log_path: Path

    def log_tail(self) -> str:
        return _tail(self.log_path)


def _tail(path: Path) -> str:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[-LOG_TAIL:])


def _wait_until_ready(process: subprocess.Popen[bytes], server: LlamaServer) -> None:
    deadline = time.monotonic() + START_DEADLINE
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                pytest.fail(
                    f"llama_cpp.server stopped with exit code {code} before it was ready:\n"
                    f"{server.log_tail()}"
                )
            try:
                if client.get(f"{server.base_url}/models", headers=headers).status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not listening yet
            time.sleep(0.25)
    pytest.fail(
        f"llama_cpp.server did not answer /v1/models within {START_DEADLINE:.0f} s:\n"
        f"{server.log_tail()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()  # uvicorn shuts down cleanly on SIGTERM
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """llama-cpp-python's server with the bundled SmolLM2, one per test module."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    server = LlamaServer(
        base_url=f"http://127.0.0.1:{port}/v1",
        api_key=uuid.uuid4().hex,
        model_id=SERVER_MODEL,
        log_path=log_path,
    )
    # The server sets llama.cpp up as the app's workers do (models/llama_cpu.py).
    command = [
        sys.executable,
        "-c",
        SERVER_SET_UP,
        "--model",
        str(smollm2_path()),
        "--model_alias",
        SERVER_MODEL,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "1024",
        "--n_threads",
        "2",
        "--api_key",
        server.api_key,
    ]
    # The server logs every request verbosely: into a file, so a full pipe never blocks it.
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_ready(process, server)
        yield server
    finally:
        _stop(process)


class MemoryKeyring(KeyringBackend):
    """A keyring backend holding passwords in a dict, for one test.

    Its priority raises, which makes keyring treat it as not viable: it is only ever used when
    a test sets it with ``keyring.set_keyring``, never picked on its own.
    """

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("MemoryKeyring is only used when a test sets it")

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


@pytest.fixture
def use_keyring() -> Iterator[Callable[[KeyringBackend], KeyringBackend]]:
    """Make a backend keyring's current one for this test; the previous one comes back after."""
    previous = keyring.get_keyring()

    def use(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    try:
        yield use
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring(use_keyring: Callable[[KeyringBackend], KeyringBackend]) -> MemoryKeyring:
    keyring_backend = MemoryKeyring()
    use_keyring(keyring_backend)
    return keyring_backend
