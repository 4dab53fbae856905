"""The window started again and again with a model file to add, as a file manager opens one:
the start-up work (listing the models, looking at the store, adding the file) runs on several
threads at once, and none of it may fail. Each must end with the file added and listed in the
store's catalog, and nothing unexpected in the log."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from purpose_desktop.config import HOME_ENV, Paths
from purpose_desktop.models.bundled import bundled_model_path

LAUNCHES = 10
#: Only a start that never gets there waits this long.
HANG_SECONDS = 180


def listed_in_catalog(paths: Paths, name: str) -> bool:
    if not paths.database_file.exists():
        return False
    try:
        with sqlite3.connect(f"file:{paths.database_file}?mode=ro", uri=True) as connection:
            rows = connection.execute("SELECT path FROM model_catalog").fetchall()
    except sqlite3.Error:  # not made yet, or being migrated
        return False
    # In the models folder: the bundled SmolLM2 is listed under the same file name.
    added = paths.models_dir / name
    return any(path is not None and Path(path) == added for (path,) in rows)


def start_with_file(home: Path, model: Path) -> tuple[int, str, str]:
    """Start the app with ``model``, wait until it is added and catalogued (or the log says
    something went wrong), close it with a signal; its exit code, stderr and log."""
    paths = Paths(home)
    process = subprocess.Popen(
        [sys.executable, "-m", "purpose_desktop", "--quit-after-shown", "600", str(model)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, HOME_ENV: str(home), "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        deadline = time.monotonic() + HANG_SECONDS
        while not listed_in_catalog(paths, model.name):
            log = paths.log_file.read_text("utf-8") if paths.log_file.exists() else ""
            assert "Unexpected error" not in log, log
            assert process.poll() is None, "the app ended by itself"
            assert time.monotonic() < deadline, "the start-up work never finished"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=HANG_SECONDS)
    finally:
        process.kill()
        process.wait()
    return process.returncode, stderr, paths.log_file.read_text(encoding="utf-8")


@pytest.mark.model
def test_the_start_up_work_never_fails_however_its_threads_meet(tmp_path: Path) -> None:
    model = bundled_model_path("smollm2-135m", tmp_path)
    for launch in range(LAUNCHES):
        home = tmp_path / f"home-{launch}"
        code, stderr, log = start_with_file(home, model)
        assert code == 0, stderr
        assert "Traceback" not in stderr + log, log
        assert (Paths(home).models_dir / model.name).is_file()
        shutil.rmtree(home)  # each home holds a copy of the model
