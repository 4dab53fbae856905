"""The Qt binding itself must survive a long session: checked in a child process, because the
failure it guards against (a lost reference to None) aborts the interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.process

SCRIPT = """
import sys
from PySide6 import QtWidgets
app = QtWidgets.QApplication([])
label = QtWidgets.QLabel()
before = sys.getrefcount(None)
for index in range(50000):
    label.setText(str(index))
    label.clear()
print(sys.getrefcount(None) - before)
"""


def test_calls_that_return_nothing_do_not_leak_references_to_none() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert abs(int(result.stdout.strip())) < 1000
