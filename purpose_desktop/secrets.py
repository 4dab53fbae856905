"""API keys for model servers and other secrets (those of MCP servers), kept in the operating
system's keyring and nowhere else.

Each key is stored under the service name ``purpose-desktop`` with the server's name as the
user name (Keychain on macOS, Credential Manager on Windows, the Secret Service or KWallet on
Linux). Keys are never written to a file, the database, a log or an export.

Some machines have no keyring at all (headless Linux without a Secret Service, or keyring
turned off with its ``null`` backend). There, saving a key raises
:class:`KeyringUnavailableError` instead of falling back to a plaintext file; the caller may
keep the key in memory for the current session only. Reading reports the reason in
:class:`StoredKey` so the GUI can explain why no key is there.

Every function here may block (a D-Bus round trip, a prompt to unlock the keyring): call them
off the UI loop, for example with ``asyncio.to_thread``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringError, KeyringLocked

from purpose_desktop.errors import ModelError

log = logging.getLogger(__name__)

SERVICE_NAME = "purpose-desktop"

KeyState = Literal["saved", "not_saved", "no_keyring", "keyring_error"]

_NO_KEYRING = (
    "No system keyring is available on this computer, so API keys cannot be saved. "
    "On Linux a Secret Service (GNOME Keyring or KWallet) must be running in the desktop "
    "session."
)
_SESSION_ONLY = "The key can still be used until the app is closed, but it will not be kept."


class KeyringUnavailableError(ModelError):
    """There is no usable system keyring, so a key cannot be saved (or removed)."""


@dataclass(frozen=True)
class KeyringStatus:
    """Whether API keys can be kept on this computer, and which keyring holds them."""

    available: bool
    backend: str
    """The keyring's own name, such as "SecretService Keyring"."""
    reason: str = ""
    """Why keys cannot be kept; empty when ``available``."""


@dataclass(frozen=True)
class StoredKey:
    """The result of looking up the API key of one server.

    ``state`` is ``"saved"`` (``key`` holds it), ``"not_saved"`` (the keyring works but has no
    key for this server), ``"no_keyring"`` (there is no keyring to look in) or
    ``"keyring_error"`` (the keyring failed or is locked). ``reason`` explains every state but
    ``"saved"`` in words meant for the user.
    """

    server: str
    state: KeyState
    key: str | None = field(default=None, repr=False)
    reason: str = ""


def _backend_name(backend: KeyringBackend) -> str:
    return str(getattr(backend, "name", type(backend).__name__))


def _refusal(backend: KeyringBackend) -> str | None:
    """Why ``backend`` must not hold keys, or ``None`` if it may."""
    if isinstance(backend, fail.Keyring):
        return _NO_KEYRING
    if isinstance(backend, null.Keyring):
        return (
            "The system keyring is turned off for this app (keyring's 'null' backend is "
            "configured), so API keys cannot be saved."
        )
    if isinstance(backend, chainer.ChainerBackend):
        # The chainer writes to the first of the keyrings it found; with none usable it
        # silently keeps nothing, like the null backend.
        if not any(_refusal(member) is None for member in backend.backends):
            return _NO_KEYRING
        return None
    # keyrings.alt offers a plaintext file "keyring"; a key must never end up in a file.
    if "plaintext" in type(backend).__name__.lower():
        return (
            f"The configured keyring ({_backend_name(backend)}) stores keys in a plain text "
            "file, which this app does not use for API keys."
        )
    return None


def _current_backend() -> tuple[KeyringBackend | None, str]:
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken PYTHON_KEYRING_BACKEND or keyringrc.cfg raises anything
        return None, f"The system keyring could not be opened: {exc}"
    return backend, _refusal(backend) or ""


def keyring_status() -> KeyringStatus:
    """Whether keys can be saved here; ``reason`` says why not, for the settings dialog."""
    backend, reason = _current_backend()
    name = "none" if backend is None else _backend_name(backend)
    return KeyringStatus(available=not reason, backend=name, reason=reason)


def _checked_server(server: str) -> str:
    name = server.strip()
    if not name:
        raise ModelError("A model server needs a name before an API key can be saved for it.")
    return name


def save_api_key(server: str, api_key: str) -> None:
    """Save ``api_key`` for ``server`` in the system keyring, replacing any earlier key.

    Surrounding whitespace (a newline pasted with the key) is removed. Raises
    :class:`KeyringUnavailableError` when there is no usable keyring (nothing is written
    anywhere) and :class:`ModelError` when the keyring refuses or loses the key.
    """
    name = _checked_server(server)
    key = api_key.strip()
    if not key:
        raise ModelError(
            f"The API key for '{name}' is empty. To stop using a key, remove it instead."
        )
    _save(name, key, f"the API key for '{name}'", _SESSION_ONLY)


def save_secret(name: str, value: str) -> None:
    """Save ``value`` under ``name`` in the system keyring, replacing any earlier value:
    a secret other than a model server's API key, read back with :func:`read_api_key`.

    Raises :class:`KeyringUnavailableError` when there is no usable keyring (nothing is
    written anywhere) and :class:`ModelError` when the keyring refuses or loses it.
    """
    _save(name, value, f"the secret '{name}'", "")


def _save(name: str, value: str, what: str, otherwise: str) -> None:
    """Save ``value`` under ``name``; ``what`` names it in messages, ``otherwise`` ends a
    refusal with what the person can still do."""
    backend, reason = _current_backend()
    if backend is None or reason:
        raise KeyringUnavailableError(
            f"{what[0].upper()}{what[1:]} was not saved. {reason} {otherwise}".rstrip()
        )
    try:
        backend.set_password(SERVICE_NAME, name, value)
        kept = backend.get_password(SERVICE_NAME, name)
    except KeyringError as exc:
        raise ModelError(
            f"The system keyring ({_backend_name(backend)}) did not save {what}: "
            f"{exc or type(exc).__name__}. {otherwise}".rstrip()
        ) from exc
    if kept != value:
        # Some backends accept a key and drop it (a chain whose members all decline).
        raise ModelError(
            f"The system keyring ({_backend_name(backend)}) accepted {what} but did not keep "
            f"it. {otherwise}".rstrip()
        )
    log.info("Saved %s in %s", what, _backend_name(backend))


def read_api_key(server: str) -> StoredKey:
    """The key saved for ``server`` (or the secret saved under that name); never raises for a
    missing, locked or absent keyring."""
    name = server.strip()
    backend, reason = _current_backend()
    if backend is None or reason:
        return StoredKey(name, "no_keyring", reason=reason)
    try:
        key = backend.get_password(SERVICE_NAME, name)
    except KeyringLocked:
        return StoredKey(
            name,
            "keyring_error",
            reason=f"The system keyring is locked, so the API key for '{name}' cannot be read. "
            "Unlock it and try again.",
        )
    except KeyringError as exc:
        return StoredKey(
            name,
            "keyring_error",
            reason=f"The system keyring ({_backend_name(backend)}) could not read the API key "
            f"for '{name}': {exc or type(exc).__name__}",
        )
    if key is None:
        return StoredKey(name, "not_saved", reason=f"No API key is saved for '{name}'.")
    return StoredKey(name, "saved", key=key)


def delete_api_key(server: str) -> bool:
    """Remove the key saved for ``server``; ``False`` if there was none to remove.

    Raises :class:`KeyringUnavailableError` when there is no usable keyring to look in (a key
    kept in memory for the session is the caller's to drop), and :class:`ModelError` when the
    keyring holds a key but will not remove it.
    """
    name = server.strip()
    backend, reason = _current_backend()
    if backend is None or reason:
        raise KeyringUnavailableError(f"The API key for '{name}' was not removed. {reason}")
    try:
        if backend.get_password(SERVICE_NAME, name) is None:
            return False
        backend.delete_password(SERVICE_NAME, name)
    except KeyringError as exc:
        raise ModelError(
            f"The system keyring ({_backend_name(backend)}) did not remove the API key for "
            f"'{name}': {exc or type(exc).__name__}"
        ) from exc
    log.info("Removed the API key for %s from %s", name, _backend_name(backend))
    return True
