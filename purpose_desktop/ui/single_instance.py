"""One window per home folder: a second start hands its files to the running app and ends.

Double-clicking a ``.gguf`` file while the app is open starts a second ``purpose-desktop``
process. It connects to the first over a local socket (a named pipe on Windows) named after
the home folder, sends the files it was given, waits for the first to acknowledge them and
exits; the first adds the files and comes to the front. Apps with different home folders (as
the tests and benchmarks use) never meet.

The message is one line of JSON, ``{"files": [absolute paths]}``, answered by ``ok``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from purpose_desktop.ui.qt import QtCore, QtNetwork, Signal

log = logging.getLogger(__name__)

_ACK = b"ok\n"
_CONNECT_MS = 500
#: How long a second start waits for the running app to take its files. The running app
#: answers from its event loop, which never blocks for long, so a missing answer means it hangs.
_ANSWER_MS = 5000


def server_name(home: Path) -> str:
    """The socket's name for the app using ``home``: the same for every start with it."""
    digest = hashlib.sha256(str(home.resolve()).encode("utf-8")).hexdigest()[:16]
    return f"purpose-desktop-{digest}"


def hand_over(name: str, files: Sequence[Path]) -> bool:
    """Give ``files`` to the app listening on ``name``. True when it took them (this process
    should then end); False when no app is listening, or it did not answer in time."""
    socket = QtNetwork.QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(_CONNECT_MS):
        return False
    message = json.dumps({"files": [str(path.resolve()) for path in files]}) + "\n"
    socket.write(message.encode("utf-8"))
    socket.waitForBytesWritten(_ANSWER_MS)
    answer = b""
    while not answer.endswith(b"\n") and socket.waitForReadyRead(_ANSWER_MS):
        answer += bytes(socket.readLine().data())
    socket.disconnectFromServer()
    if answer != _ACK:
        log.warning("The running app on %s did not take the files in time", name)
        return False
    return True


class InstanceServer(QtCore.QObject):
    """Listens for later starts of the app and emits the files each one hands over (an empty
    list for a start without files: the window should just come to the front)."""

    files_received = Signal(list)

    def __init__(self, name: str, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QtNetwork.QLocalServer(self)
        # Only this user may connect: another user's process must not feed files to the app.
        self._server.setSocketOptions(QtNetwork.QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        """Start listening; False (logged) when the name cannot be taken."""
        if self._server.listen(self.name):
            return True
        # A socket file left by an app that crashed blocks the name on Unix. Nothing answered
        # on it (hand_over found no app), so it is stale and can go.
        QtNetwork.QLocalServer.removeServer(self.name)
        if self._server.listen(self.name):
            return True
        log.warning(
            "Cannot listen for later starts on %s: %s", self.name, self._server.errorString()
        )
        return False

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _read(self, socket: QtNetwork.QLocalSocket) -> None:
        if not socket.canReadLine():
            return  # the rest of the line is still on its way
        line = bytes(socket.readLine().data())
        try:
            files = [Path(name) for name in json.loads(line)["files"]]
        except (ValueError, KeyError, TypeError):
            log.warning("Ignored a malformed message from a later start: %r", line[:200])
            socket.disconnectFromServer()
            return
        socket.write(_ACK)
        socket.flush()
        self.files_received.emit(files)
