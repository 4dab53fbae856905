"""The one module that imports the Qt bindings and qasync.

Everything else in ``ui`` imports Qt from here, so the binding is chosen in one place and
qasync is always told which binding to use before it is imported.
"""

import os

os.environ["QT_API"] = "pyside6"

import qasync
from PySide6 import QtCore, QtGui, QtWidgets

Signal = QtCore.Signal
Slot = QtCore.Slot
Qt = QtCore.Qt

__all__ = ["Qt", "QtCore", "QtGui", "QtWidgets", "Signal", "Slot", "qasync"]
