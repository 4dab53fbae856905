"""API keys in the system keyring: the round trip through a keyring backend, and a clear refusal,
with nothing written anywhere, on a machine that has no keyring.

No Secret Service daemon runs on the test machines, so the round trip uses an in-memory
backend set through keyring's own API; the refusals use keyring's real ``fail`` and ``null``
backends, which are what a headless Linux machine gets.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.compat import properties
from keyring.errors import KeyringLocked
from purpose_desktop.config import Paths
from purpose_desktop.errors import ModelError, UserError
from purpose_desktop.secrets import (
    SERVICE_NAME,
    KeyringUnavailableError,
    StoredKey,
    delete_api_key,
    keyring_status,
    read_api_key,
    save_api_key,
)

KEY = "sk-test-3f9c1b7e5a2d4c6b8e0f"
UseKeyring = Callable[[KeyringBackend], KeyringBackend]


class _TestBackend(KeyringBackend):
    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("only used when a test sets it")


class PlaintextKeyring(_TestBackend):
    """Named like keyrings.alt's file backend, which keeps keys in a plain text file."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.writes += 1

    def delete_password(self, service: str, username: str) -> None:
        pass


class ForgetfulKeyring(_TestBackend):
    """Accepts every key and keeps none, as a chain of keyrings that all decline does."""

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        pass

    def delete_password(self, service: str, username: str) -> None:
        pass


class LockedKeyring(_TestBackend):
    """Refuses everything until unlocked, as the Secret Service does for a locked collection."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("the collection is locked")


@pytest.fixture
def isolated_home(home: Paths, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The app's home folder and the user's home and XDG folders, all under ``tmp_path``."""
    user_home = tmp_path / "user"
    user_home.mkdir()
    monkeypatch.setenv("HOME", str(user_home))
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(variable, str(user_home / variable.lower()))
    return tmp_path


def files_holding(folder: Path, secret: str) -> list[Path]:
    return [
        path
        for path in folder.rglob("*")
        if path.is_file() and secret.encode() in path.read_bytes()
    ]


def test_a_key_round_trips_through_the_keyring(memory_keyring: KeyringBackend) -> None:
    save_api_key("LM Studio", f"  {KEY}\n")  # pasted with a newline
    assert keyring.get_password(SERVICE_NAME, "LM Studio") == KEY

    stored = read_api_key("LM Studio")
    assert stored == StoredKey("LM Studio", "saved", key=KEY)
    assert KEY not in repr(stored)  # results may be logged

    save_api_key("LM Studio", "sk-replacement")
    assert read_api_key("LM Studio").key == "sk-replacement"

    other = read_api_key("vLLM")
    assert (other.state, other.key) == ("not_saved", None)
    assert other.reason == "No API key is saved for 'vLLM'."

    assert delete_api_key("LM Studio") is True
    assert keyring.get_password(SERVICE_NAME, "LM Studio") is None
    assert read_api_key("LM Studio").state == "not_saved"
    assert delete_api_key("LM Studio") is False

    status = keyring_status()
    assert status.available
    assert status.reason == ""


def test_an_empty_key_or_server_name_is_refused(memory_keyring: KeyringBackend) -> None:
    with pytest.raises(ModelError, match="The API key for 'LM Studio' is empty"):
        save_api_key("LM Studio", " \n")
    with pytest.raises(ModelError, match="needs a name"):
        save_api_key("  ", KEY)
    assert keyring.get_password(SERVICE_NAME, "LM Studio") is None


def test_without_a_system_keyring_saving_is_refused_and_nothing_is_written(
    use_keyring: UseKeyring, isolated_home: Path
) -> None:
    use_keyring(fail.Keyring())

    with pytest.raises(KeyringUnavailableError) as caught:
        save_api_key("LM Studio", KEY)
    message = str(caught.value)
    assert isinstance(caught.value, UserError)  # shown to the user as it is
    assert "The API key for 'LM Studio' was not saved" in message
    assert "No system keyring is available on this computer" in message
    assert "cannot be saved" in message
    assert "until the app is closed" in message
    assert KEY not in message

    stored = read_api_key("LM Studio")
    assert (stored.state, stored.key) == ("no_keyring", None)
    assert "No system keyring is available" in stored.reason

    status = keyring_status()
    assert not status.available
    assert status.backend == fail.Keyring.name
    assert "No system keyring is available" in status.reason

    with pytest.raises(KeyringUnavailableError, match="was not removed"):
        delete_api_key("LM Studio")
    assert files_holding(isolated_home, KEY) == []


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        (null.Keyring(), "turned off for this app"),
        (PlaintextKeyring(), "plain text file"),
    ],
    ids=["null", "plaintext"],
)
def test_keyrings_that_would_lose_or_expose_a_key_are_refused(
    use_keyring: UseKeyring, isolated_home: Path, backend: KeyringBackend, reason: str
) -> None:
    use_keyring(backend)
    with pytest.raises(KeyringUnavailableError, match=reason):
        save_api_key("vLLM", KEY)
    assert read_api_key("vLLM").state == "no_keyring"
    assert not keyring_status().available
    if isinstance(backend, PlaintextKeyring):
        assert backend.writes == 0
    assert files_holding(isolated_home, KEY) == []


def test_a_keyring_that_drops_the_key_is_reported(use_keyring: UseKeyring) -> None:
    use_keyring(ForgetfulKeyring())
    with pytest.raises(ModelError, match="accepted the API key for 'vLLM' but did not keep it"):
        save_api_key("vLLM", KEY)


def test_a_locked_keyring_is_explained(use_keyring: UseKeyring) -> None:
    use_keyring(LockedKeyring())
    stored = read_api_key("vLLM")
    assert (stored.state, stored.key) == ("keyring_error", None)
    assert "locked" in stored.reason
    with pytest.raises(ModelError, match="did not save the API key for 'vLLM'") as caught:
        save_api_key("vLLM", KEY)
    assert not isinstance(caught.value, KeyringUnavailableError)
    assert KEY not in str(caught.value)
