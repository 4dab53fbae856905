"""A keyring backend for the tests that run the command as a process, kept in a file of the
test's own (``TEST_KEYRING_FILE``): the app itself never writes secrets to a file. A test
chooses it with :func:`file_keyring_env`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from keyring.compat import properties

REPO = Path(__file__).resolve().parents[2]


def file_keyring_env(store: Path) -> dict[str, str]:
    """The environment variables that make ``store`` the keyring of a command run."""
    return {
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": f"{__name__}.FileKeyring",
        "TEST_KEYRING_FILE": str(store),
    }


class FileKeyring(KeyringBackend):
    """The passwords, by ``SERVICE/USER``, in the JSON file ``TEST_KEYRING_FILE``."""

    @properties.classproperty
    def priority(cls) -> float:
        # Viable only in a command a test runs with it: importing this module in the tests'
        # own process makes it known to keyring, which must not pick it there.
        if "TEST_KEYRING_FILE" not in os.environ:
            raise RuntimeError("FileKeyring is only used where TEST_KEYRING_FILE is set")
        return 1

    @property
    def _path(self) -> Path:
        return Path(os.environ["TEST_KEYRING_FILE"])

    def _load(self) -> dict[str, Any]:
        return json.loads(self._path.read_text()) if self._path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self._path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        data.pop(f"{service}/{username}")
        self._path.write_text(json.dumps(data))
