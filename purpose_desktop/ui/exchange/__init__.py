"""Runs, memory and teams moved in and out of the app from the File menu, and a run saved as
an HTML report: the window's side of ``runs export|import|report``, ``memory export|import``
and ``teams save|export``."""
