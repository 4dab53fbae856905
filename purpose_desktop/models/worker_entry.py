"""How a model worker process is started, from source or from a frozen build.

Kept apart from the worker host so that the ``purpose-desktop`` command can recognise a worker
invocation without importing any of the model machinery.
"""

from __future__ import annotations

import sys

WORKER_ARGUMENT = "__model-worker"
"""Makes a frozen build's executable act as a model worker (it has no ``python -m``)."""


def worker_command() -> list[str]:
    """The command line that starts one model worker process."""
    if getattr(sys, "frozen", False):
        return [sys.executable, WORKER_ARGUMENT]
    return [sys.executable, "-m", "purpose_desktop.models.llama_worker"]
