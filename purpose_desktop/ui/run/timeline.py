"""The run's timeline: one line per event, each expandable to its full detail (arguments, a
tool's whole output, the critic's evidence); and the editor that forks a run at one of its
steps."""

from __future__ import annotations

import dataclasses
import html
import json
import time
from collections.abc import Mapping
from typing import Any

from purpose_desktop.engine import events as ev
from purpose_desktop.engine.event_text import describe_event
from purpose_desktop.engine.trajectory import Action
from purpose_desktop.ui.accessibility import describe
from purpose_desktop.ui.qt import QtCore, QtGui, QtWidgets, Signal, set_by_name

#: The oldest lines are dropped beyond this many, so a long run cannot grow without limit.
MAX_TIMELINE_ITEMS = 10_000
#: How often waiting lines are added: a few times a second is enough to follow a run.
TIMELINE_FRAME_MS = 250

_HIDDEN_FIELDS = frozenset({"run_id", "seq", "timestamp"})
_LABELS = {
    "phi": "Φ",
    "phi_before": "Φ before",
    "critic_phi": "Φ by the critic",
    "parent_run_id": "forked from run",
    "from_step": "after step",
    "before_step": "before step",
    "by": "decided by",
    "ok": "succeeded",
    "calibrated_by": "human anchors used",
    "parse_method": "read as",
}
_COLOURS: dict[type[ev.Event], str] = {
    ev.ErrorRaised: "#c62828",
    ev.WarningRaised: "#b26a00",
    ev.ScoreOverridden: "#d9822b",
    ev.RunPaused: "#1565c0",
    ev.RunContinued: "#1565c0",
    ev.RunForked: "#6a1b9a",
    ev.RunResumed: "#6a1b9a",
    ev.HeuristicLearned: "#2e7d32",
}


class TimelineItem(QtWidgets.QTreeWidgetItem):
    """An event's line; its detail is made the first time it is expanded."""

    def __init__(self, event: ev.Event, line: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(event.timestamp))
        super().__init__([f"{stamp}  {line}"])
        self.event = event
        self.setToolTip(0, line)
        self.setChildIndicatorPolicy(QtWidgets.QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
        colour = _colour(event)
        if colour is not None:
            self.setForeground(0, QtGui.QBrush(QtGui.QColor(colour)))

    def text(self, column: int = 0) -> str:
        return super().text(column)

    def fill(self) -> None:
        """Add the event's detail as children, once."""
        if self.childCount():
            return
        for label, value in event_details(self.event):
            child = _detail_item(label, value)
            self.addChild(child)
            child.setExpanded(isinstance(value, Mapping))  # arguments are what one looks for


def _colour(event: ev.Event) -> str | None:
    if isinstance(event, ev.RunFinished):
        return {"failed": "#c62828", "cancelled": "#b26a00"}.get(event.status)
    return _COLOURS.get(type(event))


def event_details(event: ev.Event) -> list[tuple[str, Any]]:
    """Each field of ``event`` worth showing, as (label, value); empty text is left out."""
    details: list[tuple[str, Any]] = [
        ("event", f"{type(event).__name__} #{event.seq} of run {event.run_id}")
    ]
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        if field.name in _HIDDEN_FIELDS or value in ("", (), {}):
            continue
        details.append((_LABELS.get(field.name, field.name.replace("_", " ")), value))
    return details


def _detail_item(label: str, value: Any) -> QtWidgets.QTreeWidgetItem:
    if isinstance(value, Mapping):
        node = QtWidgets.QTreeWidgetItem([label])
        for key, inner in value.items():
            node.addChild(_detail_item(str(key), inner))
        return node
    if isinstance(value, tuple):
        node = QtWidgets.QTreeWidgetItem([label])
        for inner in value:
            node.addChild(QtWidgets.QTreeWidgetItem([_value_text(inner)]))
        return node
    text = _value_text(value)
    if "\n" in text:
        node = QtWidgets.QTreeWidgetItem([label])
        node.setToolTip(0, text)
        for line in text.splitlines():
            node.addChild(QtWidgets.QTreeWidgetItem([line]))
        node.setExpanded(True)
        return node
    item = QtWidgets.QTreeWidgetItem([f"{label}: {text}"])
    item.setToolTip(0, text)
    return item


def _value_text(value: Any) -> str:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.astuple(value)  # a recalled memory: its values, in order
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, tuple):
        return " · ".join(_value_text(part) for part in value)
    return json.dumps(value, ensure_ascii=False)


class Timeline(QtWidgets.QTreeWidget):
    """The events of the run shown, a line each, as :func:`describe_event` words them."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setColumnCount(1)
        self.setAlternatingRowColors(True)
        describe(
            self,
            "Timeline",
            "What happened in the run shown, a line per event; select a step to fork from it",
        )
        # One height for every row spares Qt measuring each of thousands of rows on every
        # repaint (the timeline grows by dozens a second); text of several lines is shown
        # as a line per row instead.
        self.setUniformRowHeights(True)
        set_by_name(self, "horizontalScrollBarPolicy", "ScrollBarAlwaysOff")
        set_by_name(self, "textElideMode", "ElideRight")
        self.itemExpanded.connect(_fill)
        self._waiting: list[TimelineItem] = []
        self._flush_timer = QtCore.QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(TIMELINE_FRAME_MS)
        self._flush_timer.timeout.connect(self.flush)

    def add(self, event: ev.Event) -> None:
        """Add a line for ``event`` (none for events it does not list, such as tokens).

        Lines are added a few times a second, together: each addition repaints the list, and
        a run sends dozens of events a second. :meth:`flush` adds what waits at once."""
        line = describe_event(event)
        if line is None:
            return
        self._waiting.append(TimelineItem(event, line))
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        """Add the lines that wait, keeping the newest in sight if it was."""
        self._flush_timer.stop()
        if not self._waiting:
            return
        items, self._waiting = self._waiting, []
        bar = self.verticalScrollBar()
        following = bar.value() >= bar.maximum()  # only then keep the newest line in sight
        self.addTopLevelItems(items)
        excess = self.topLevelItemCount() - MAX_TIMELINE_ITEMS
        for _ in range(max(excess, 0)):
            self.takeTopLevelItem(0)
        if following:
            self.scrollToBottom()

    def count(self) -> int:
        """How many lines there are, those waiting to be added included."""
        self.flush()
        return self.topLevelItemCount()

    def clear(self) -> None:
        self._flush_timer.stop()
        self._waiting.clear()
        super().clear()

    def item(self, row: int) -> TimelineItem:
        """The line at ``row``, from the top."""
        found = self.topLevelItem(row)
        assert isinstance(found, TimelineItem)
        return found

    def lines(self) -> list[str]:
        return [self.item(row).text() for row in range(self.count())]

    def selected_event(self) -> ev.Event | None:
        """The event of the selected line (or of the line whose detail is selected)."""
        for selected in self.selectedItems():
            line: QtWidgets.QTreeWidgetItem | None = selected
            while line is not None and not isinstance(line, TimelineItem):
                line = line.parent()
            if line is not None:
                return line.event
        return None

    def selected_step(self) -> int | None:
        """The step the selected line belongs to, if it belongs to one."""
        step = getattr(self.selected_event(), "step", None)
        return step if isinstance(step, int) else None

    def first_agent(self) -> str | None:
        """The agent the task went to, if its selection is among the lines shown."""
        for row in range(self.count()):
            event = self.item(row).event
            if isinstance(event, ev.AgentSelected):
                return event.agent
        return None

    def proposal(self, step: int) -> ev.ActionProposed | None:
        """The latest action proposed at ``step`` among the lines shown."""
        for row in reversed(range(self.count())):
            event = self.item(row).event
            if isinstance(event, ev.ActionProposed) and event.step == step:
                return event
        return None


def _fill(item: QtWidgets.QTreeWidgetItem) -> None:
    if isinstance(item, TimelineItem):
        item.fill()


def parse_action(text: str) -> Action:
    """An action from the JSON a person edited: ``{"tool": NAME, <arguments>, "thought": ...}``.
    Raises :class:`ValueError` saying what is wrong."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"This is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from exc
    if not isinstance(value, dict):
        raise ValueError(
            'The action must be a JSON object, like {"tool": "finish", "answer": "..."}.'
        )
    tool = value.pop("tool", None)
    if not isinstance(tool, str) or not tool.strip():
        raise ValueError('The action needs a "tool": the name of a tool, "finish" or "delegate".')
    thought = value.pop("thought", "")
    return Action(tool.strip(), value, thought if isinstance(thought, str) else str(thought))


class ForkEditor(QtWidgets.QFrame):
    """Shown under the timeline to fork the run at a step: the step is taken again in a new
    run, with the action as the person edits it (or as the agent proposes anew)."""

    fork_requested = Signal(str, int, object)
    """The run to fork, the step after which the fork starts, and the :class:`Action` to take
    next (``None``: the agent proposes)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.title = QtWidgets.QLabel()
        self.title.setWordWrap(True)
        self.use_action = QtWidgets.QCheckBox("Take this action")
        self.use_action.setToolTip("Untick to let the agent propose the step's action again")
        self.use_action.setChecked(True)
        self.action_edit = QtWidgets.QPlainTextEdit()
        self.action_edit.setPlaceholderText('{"tool": "finish", "answer": "..."}')
        self.action_edit.setMaximumHeight(120)
        describe(
            self.action_edit,
            "Action to take",
            "The step's action as JSON, taken in the new run; edit it as you like",
        )
        self.problem = QtWidgets.QLabel()
        self.problem.setStyleSheet("color: #c62828;")
        self.problem.setWordWrap(True)
        self.start_button = QtWidgets.QPushButton("Start the fork")
        self.close_button = QtWidgets.QPushButton("Close")
        self.use_action.toggled.connect(self.action_edit.setEnabled)
        self.action_edit.textChanged.connect(self.problem.hide)
        self.start_button.clicked.connect(self.submit)
        self.close_button.clicked.connect(self.hide)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.use_action, 1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.start_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.action_edit)
        layout.addWidget(self.problem)
        layout.addLayout(buttons)
        self._target: tuple[str, int] | None = None
        self.hide()

    def edit(
        self,
        run_id: str,
        step: int,
        proposal: ev.ActionProposed | None,
        *,
        can_give_action: bool = True,
    ) -> None:
        """Offer to fork ``run_id`` at ``step``, starting from the action proposed there;
        without ``can_give_action`` the agent proposes the step's action again."""
        self._target = (run_id, step)
        who = f" ({html.escape(proposal.agent)})" if proposal is not None else ""
        then = (
            "takes the action below instead"
            if can_give_action
            else "lets the agent propose again (a teammate's action cannot be given)"
        )
        self.title.setText(
            f"<b>Fork run {run_id[:8]} at step {step}</b>{who}: a new run "
            f"starts from just before this step and {then}."
        )
        self.action_edit.setPlainText(
            ""
            if proposal is None
            else json.dumps(
                {"tool": proposal.tool, **dict(proposal.arguments), "thought": proposal.thought},
                indent=2,
                ensure_ascii=False,
            )
        )
        self.use_action.setEnabled(can_give_action)
        self.use_action.setChecked(proposal is not None and can_give_action)
        self.problem.clear()
        self.problem.hide()
        self.show()
        self.action_edit.setFocus()

    def submit(self) -> None:
        if self._target is None:
            return
        action: Action | None = None
        if self.use_action.isChecked():
            try:
                action = parse_action(self.action_edit.toPlainText())
            except ValueError as exc:
                self.problem.setText(str(exc))
                self.problem.show()
                return
        run_id, step = self._target
        self.hide()
        self.fork_requested.emit(run_id, step - 1, action)
