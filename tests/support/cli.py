"""The purpose-desktop command run as a person runs it: a process of its own, in a home
folder of the test's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from purpose_desktop.config import HOME_ENV

TIMEOUT = 600  # a hang guard: a busy two-core machine runs the model slowly


def purpose_desktop(
    *args: str, home: Path, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, HOME_ENV: str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "purpose_desktop", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=TIMEOUT,
        check=False,
    )
