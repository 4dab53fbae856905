"""Render the application icon from its SVG into the PNG sizes desktops use and a Windows .ico.

    .venv/bin/python packaging/make_icons.py

Writes resources/icons/hicolor/SIZExSIZE/apps/purpose-desktop.png and
resources/icons/purpose-desktop.ico.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtGui, QtWidgets

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(size: int) -> QtGui.QImage:
    image = QtGui.QImage(size, size, QtGui.QImage.Format.Format_ARGB32)
    image.fill(QtCore.Qt.GlobalColor.transparent)
    icon = QtGui.QIcon(str(ICONS / "purpose-desktop.svg"))
    painter = QtGui.QPainter(image)
    icon.paint(painter, QtCore.QRect(0, 0, size, size))
    painter.end()
    return image


def main() -> int:
    QtWidgets.QApplication(sys.argv[:1])
    for size in SIZES:
        target = ICONS / "hicolor" / f"{size}x{size}" / "apps" / "purpose-desktop.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not render(size).save(str(target)):
            raise SystemExit(f"could not write {target}")
    if not render(256).save(str(ICONS / "purpose-desktop.ico")):
        raise SystemExit("could not write the .ico (Qt's ico image plugin is missing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
