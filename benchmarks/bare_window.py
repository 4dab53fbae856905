"""The baseline for the start-up benchmark: a PySide6 window that does nothing.

Reports when it is on screen exactly as the app does with ``--quit-after-shown``.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6 import QtCore, QtWidgets


def main() -> int:
    quit_after = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    app = QtWidgets.QApplication(sys.argv[:1])
    window = QtWidgets.QWidget()
    window.setWindowTitle("bare")
    window.resize(1100, 720)
    window.show()

    def shown() -> None:
        print(json.dumps({"shown_at": time.time()}), flush=True)
        QtCore.QTimer.singleShot(int(quit_after * 1000), app.quit)

    QtCore.QTimer.singleShot(0, shown)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
