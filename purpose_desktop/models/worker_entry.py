"""How a model worker process is started, from source or from a frozen build.

Kept apart from the worker host so that the ``purpose-desktop`` command can recognise a worker
invocation without importing any of the model machinery.
"""

from __future__ import annotations

import os
import shlex
import sys

WORKER_ARGUMENT = "__model-worker"
"""Makes a frozen build's executable act as a model worker (it has no ``python -m``)."""

WORKER_PREFIX_ENV = "PURPOSE_DESKTOP_WORKER_PREFIX"
"""A command put in front of every model worker's, split as a POSIX shell would: for example
``taskset -c 1`` to keep the models on one core, or ``qemu-x86_64 -cpu Nehalem`` to try the
models on an older CPU than this one (the bundle's check in CI does that)."""


def worker_command() -> list[str]:
    """The command line that starts one model worker process."""
    prefix = shlex.split(os.environ.get(WORKER_PREFIX_ENV, ""))
    if getattr(sys, "frozen", False):
        return [*prefix, sys.executable, WORKER_ARGUMENT]
    return [*prefix, sys.executable, "-m", "purpose_desktop.models.llama_worker"]
