"""The app started as a process on a display of its own, as a desktop starts it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from purpose_desktop.config import HOME_ENV


def gui_env(home: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        HOME_ENV: str(home),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONWARNINGS": "error",
        "PYTHONDEVMODE": "1",
        **extra,
    }


def start_app(env: dict[str, str]) -> subprocess.Popen[str]:
    """The app in a process of its own, open for up to five minutes once shown."""
    return subprocess.Popen(
        [sys.executable, "-m", "purpose_desktop", "--quit-after-shown", "300"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
