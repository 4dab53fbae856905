"""Start-up time and idle memory of the app, as ratios against a bare PySide6 window.

    python benchmarks/startup.py [--runs 5] [--json]

Each run starts a fresh process (offscreen unless a display is set) with an empty home folder,
and takes the time from just before the process is spawned to the moment the window reports
that it is on screen. Idle memory is the resident set size a few seconds after the window
appeared, once the start-up work in the background is done. Runs of the app and of
``bare_window.py`` alternate, so both see the same machine; their medians are compared.

The package's bytecode is compiled first, as an installed app's is: a start that compiles
every module from source (``PYTHONDONTWRITEBYTECODE`` set, or the very first start from a
checkout) says nothing about the app.

Targets: start-up at most 2x the bare window; idle memory under 150 MiB.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
IDLE_AFTER_SHOWN = 3.0
START_TARGET_RATIO = 2.0
MEMORY_TARGET_MIB = 150.0


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawn to window shown, and resident MiB once idle."""
    spawned = time.time()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait()
        raise SystemExit(f"{command} exited ({process.returncode}) before showing a window")
    start_seconds = json.loads(line)["shown_at"] - spawned
    time.sleep(IDLE_AFTER_SHOWN)
    rss = psutil.Process(process.pid).memory_info().rss / 2**20
    process.wait(timeout=60)
    process.stdout.close()
    return start_seconds, rss


def measure_once(label: str, command: list[str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "PURPOSE_DESKTOP_HOME": home}
        if not env.get("DISPLAY"):
            env["QT_QPA_PLATFORM"] = "offscreen"
        seconds, mib = measure(command, env)
    print(f"  {label}: shown after {seconds:.3f} s, idle {mib:.0f} MiB", file=sys.stderr)
    return seconds, mib


def medians(samples: list[tuple[float, float]]) -> dict[str, float]:
    return {
        "start_s": statistics.median(seconds for seconds, _ in samples),
        "idle_mib": statistics.median(mib for _, mib in samples),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    quit_after = str(IDLE_AFTER_SHOWN + 1.0)
    compileall.compile_dir(HERE.parent / "purpose_desktop", quiet=1)
    bare_command = [sys.executable, str(HERE / "bare_window.py"), quit_after]
    app_command = [sys.executable, "-m", "purpose_desktop", "--quit-after-shown", quit_after]
    bare_samples, app_samples = [], []
    for _ in range(args.runs):
        bare_samples.append(measure_once("bare window", bare_command))
        app_samples.append(measure_once("purpose-desktop", app_command))
    bare, app = medians(bare_samples), medians(app_samples)
    start_ratio = app["start_s"] / bare["start_s"]
    memory_ratio = app["idle_mib"] / bare["idle_mib"]
    result = {
        "bare_window": bare,
        "app": app,
        "start_ratio": start_ratio,
        "memory_ratio": memory_ratio,
        "targets": {"start_ratio_max": START_TARGET_RATIO, "idle_mib_max": MEMORY_TARGET_MIB},
        "meets_targets": start_ratio <= START_TARGET_RATIO and app["idle_mib"] < MEMORY_TARGET_MIB,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"start-up: app {app['start_s']:.3f} s / bare {bare['start_s']:.3f} s "
            f"= {start_ratio:.2f}x (target <= {START_TARGET_RATIO}x)"
        )
        print(
            f"idle memory: app {app['idle_mib']:.0f} MiB / bare {bare['idle_mib']:.0f} MiB "
            f"= {memory_ratio:.2f}x (target < {MEMORY_TARGET_MIB:.0f} MiB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
