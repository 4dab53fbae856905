"""Create or reuse the project's virtual environment and install the project into it.

Shared by ``scripts/launch.py`` and ``scripts/test.py``. Uses only the standard library, so it
runs on a fresh machine with nothing but Python 3.11+ and a C compiler (llama-cpp-python builds
from source there; that takes about ten minutes on two cores the first time and is skipped
afterwards).
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("PURPOSE_DESKTOP_VENV", ROOT / ".venv"))
MIN_PYTHON = (3, 11)


def venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return VENV / scripts / f"python{suffix}"


def _fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def _installed(stamp: Path) -> set[str]:
    """The extras installed for the current pyproject.toml ("" for the app alone)."""
    if not stamp.exists():
        return set()
    fingerprint, _, extras = stamp.read_text(encoding="utf-8").partition(" ")
    return set(extras.split(",")) | {""} if fingerprint == _fingerprint() else set()


def _has_pip(python: Path) -> bool:
    check = [str(python), "-m", "pip", "--version"]
    return subprocess.run(check, capture_output=True, check=False).returncode == 0


def llama_cmake_args() -> str:
    """How llama-cpp-python's llama.cpp is built: the one build the tests run and the bundle
    ships.

    On x86-64 it is portable: not for this machine's CPU (``-march=native``) but with its CPU
    code in one loadable library per instruction set, from SSE4.2 to AVX-512, of which the app
    loads the one that suits the CPU it runs on (``purpose_desktop/models/llama_cpu.py``). The
    multimodal (llava) library is not used; leaving it out shortens the build.
    """
    args = ["-DLLAVA_BUILD=OFF"]
    if platform.machine().lower() in ("x86_64", "amd64") and sys.platform != "darwin":
        args += ["-DGGML_NATIVE=OFF", "-DGGML_BACKEND_DL=ON", "-DGGML_CPU_ALL_VARIANTS=ON"]
    return " ".join(args)


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)


def ensure_environment(extras: str = "") -> Path:
    """The venv's Python, after installing the project (with ``extras``) if needed."""
    if sys.version_info < MIN_PYTHON:
        sys.exit(
            f"Purpose Desktop needs Python {'.'.join(map(str, MIN_PYTHON))} or newer; "
            f"this is {sys.version.split()[0]}. Run this script with a newer python3."
        )
    python = venv_python()
    stamp = VENV / ".purpose-desktop-installed"
    installed = _installed(stamp)
    if extras in installed:
        return python
    # Keep the extras installed before (the tests' and the build's): switching between the
    # two must not reinstall each time.
    wanted = ",".join(sorted((installed | {extras}) - {""}))
    if not python.exists() or not _has_pip(python):
        _say(f"Creating the virtual environment in {VENV}")
        created = subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=False)
        if created.returncode != 0 or not _has_pip(python):
            sys.exit(
                "Could not create a virtual environment with pip in it. On Debian or Ubuntu, "
                "install the venv module first:  sudo apt install python3-venv"
            )
    _say(
        "Installing Purpose Desktop and its dependencies (the first time, llama-cpp-python "
        "compiles from source: this takes about ten minutes on two cores)"
    )
    env = dict(os.environ)
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    env.setdefault("CMAKE_ARGS", llama_cmake_args())
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True, env=env)
    target = f".[{wanted}]" if wanted else "."
    subprocess.run([*pip, "install", "--editable", target], check=True, env=env, cwd=ROOT)
    stamp.write_text(f"{_fingerprint()} {wanted}", encoding="utf-8")
    return python
