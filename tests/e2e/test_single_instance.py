"""One app per home folder: a second start hands its files to the running window and ends."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from purpose_desktop.config import Paths
from purpose_desktop.ui.single_instance import server_name
from tests.support.gui_process import gui_env, start_app

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
TIMEOUT = 120


@contextmanager
def running_app(home: Path) -> Iterator[subprocess.Popen[str]]:
    """The app, shown offscreen, until the block ends; then closed with SIGTERM, which must
    end it cleanly."""
    process = start_app(gui_env(home))
    try:
        assert process.stdout is not None
        assert "shown_at" in process.stdout.readline()
        yield process
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        assert stderr == ""
    finally:
        process.kill()
        process.wait()


def start_again(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "purpose_desktop", *args],
        capture_output=True,
        text=True,
        env=gui_env(home),
        timeout=TIMEOUT,
        check=False,
    )


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_second_start_hands_its_gguf_file_to_the_running_window(tmp_path: Path) -> None:
    from purpose_desktop.models.bundled import smollm2_path

    home = tmp_path / "home"
    model = tmp_path / "downloads" / "handed-over.gguf"
    model.parent.mkdir()
    model.write_bytes(smollm2_path().read_bytes())
    added = Paths(home).models_dir / "handed-over.gguf"
    with running_app(home) as first:
        # As a file manager starts it: from another folder, with a relative path.
        second = subprocess.run(
            [sys.executable, "-m", "purpose_desktop", "handed-over.gguf"],
            cwd=model.parent,
            capture_output=True,
            text=True,
            env=gui_env(home),
            timeout=TIMEOUT,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        assert "already open: the files went to its window" in second.stdout
        wait_for(
            lambda: added.is_file() and added.stat().st_size == model.stat().st_size,
            "the running app to copy the file into its models folder",
        )
        plain = start_again(home, "--quit-after-shown", "0")
        assert plain.returncode == 0, plain.stderr
        assert "already open: its window is in front" in plain.stdout
        assert "shown_at" not in plain.stdout  # no second window
        assert first.poll() is None


def test_a_malformed_message_is_ignored_and_the_app_keeps_serving(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # On Linux and macOS Qt's local sockets are Unix sockets in the temporary folder.
    address = Path(tempfile.gettempdir()) / server_name(home)
    with running_app(home):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
            raw.settimeout(10)
            raw.connect(str(address))
            raw.sendall(b"this is not json\n")
            assert raw.recv(16) == b""  # hung up on, without an answer
        again = start_again(home, "--quit-after-shown", "0")
        assert again.returncode == 0, again.stderr
        assert "already open" in again.stdout


def test_a_socket_left_by_a_crashed_app_does_not_block_the_next_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    crashed = start_app(gui_env(home))
    assert crashed.stdout is not None
    assert "shown_at" in crashed.stdout.readline()
    crashed.kill()
    crashed.communicate(timeout=60)
    address = Path(tempfile.gettempdir()) / server_name(home)
    assert address.exists()  # the socket file outlived its app
    with running_app(home):
        again = start_again(home, "--quit-after-shown", "0")
        assert again.returncode == 0, again.stderr
        assert "already open" in again.stdout
