"""The one module that imports the Qt bindings and qasync.

Everything else in ``ui`` imports Qt from here, so the binding is chosen in one place and
qasync is always told which binding to use before it is imported.
"""

import os

os.environ["QT_API"] = "pyside6"

# Must come after QT_API is set: qasync picks its binding when it is imported.
import qasync
from PySide6 import QtCore, QtGui, QtNetwork, QtWidgets

Signal = QtCore.Signal


def set_by_name(target: QtCore.QObject, name: str, value: str) -> None:
    """Set the property ``name`` of ``target`` from its text form (an enum key such as
    ``"AlignCenter"``, a shortcut such as ``"Ctrl+O"``); Qt converts the text itself.

    Code that runs before the main window first appears uses this rather than
    ``QtCore.Qt.AlignmentFlag.AlignCenter`` or ``QKeySequence("Ctrl+O")``: the first touch of
    ``QtCore.Qt`` makes PySide6 build Python classes for all of its ~120 enums, about 20 ms
    that would delay the window.
    """
    if not target.setProperty(name, value):
        raise ValueError(f"{type(target).__name__} has no property {name!r} accepting {value!r}")


__all__ = ["QtCore", "QtGui", "QtNetwork", "QtWidgets", "Signal", "qasync", "set_by_name"]
