"""The Qt front end: panes, dialogs and the bridge from engine events to Qt signals.

Holds no business logic; everything it shows comes from the engine's events and calls.
"""
