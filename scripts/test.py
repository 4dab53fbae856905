"""Set up (first time only) and run every check:  python3 scripts/test.py [PYTEST ARGS...]

Runs, in order: ruff (lint and format check), mypy, the import-linter contracts and the pytest
suite (offscreen Qt, real bundled models). Stops at the first failing step and exits non-zero. A
pytest run that collects no tests counts as a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bootstrap import ROOT, ensure_environment

PYTEST_NO_TESTS = 5


def _step(title: str, command: list[str], env: dict[str, str]) -> int:
    print(f"\n==> {title}", flush=True)
    started = time.monotonic()
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    print(
        f"==> {title}: {'ok' if code == 0 else f'FAILED (exit {code})'} "
        f"in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return code


def main() -> int:
    python = str(ensure_environment("dev"))
    screenshots = ROOT / "test-artifacts" / "screenshots"
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PURPOSE_DESKTOP_SCREENSHOTS"] = str(screenshots)
    env.pop("PURPOSE_DESKTOP_HOME", None)  # tests make homes of their own
    steps = [
        ("ruff", [python, "-m", "ruff", "check", "."]),
        ("ruff format", [python, "-m", "ruff", "format", "--check", "."]),
        ("mypy", [python, "-m", "mypy"]),
        ("import contracts", [str(Path(python).with_name("lint-imports"))]),
    ]
    for title, command in steps:
        if _step(title, command, env) != 0:
            return 1
    code = _step("pytest", [python, "-m", "pytest", *sys.argv[1:]], env)
    print(f"\nScreenshots of the GUI from this run: {screenshots}", flush=True)
    if code == PYTEST_NO_TESTS:
        print("pytest collected no tests: that is a failure, not a pass.", flush=True)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
