from __future__ import annotations

import json

import pytest
from purpose_desktop.engine import events as ev
from purpose_desktop.engine.recording.event_codec import (
    EventFormatError,
    decode_event,
    encode_event,
)

RETRIEVED = ev.MemoryRetrieved(
    run_id="0f3a",
    seq=4,
    timestamp=1733486400.5,
    agent="solver",
    step=1,
    heuristics=(ev.RecalledHeuristic(3, "tool", "use the calculator"),),
    experiences=(ev.RecalledExperience(7, "multiply 17 by 24", "completed"),),
)


def test_recalled_memories_are_written_by_name_and_read_back() -> None:
    record = json.loads(json.dumps(encode_event(RETRIEVED)))

    assert record["heuristics"] == [{"id": 3, "tier": "tool", "strategy": "use the calculator"}]
    assert record["experiences"] == [{"id": 7, "task": "multiply 17 by 24", "outcome": "completed"}]
    assert decode_event(record) == RETRIEVED


def test_a_record_with_recalled_memories_as_lists_still_reads() -> None:
    # As stores and run files written before the memories had names hold them.
    old = (
        '{"type": "MemoryRetrieved", "run_id": "0f3a", "seq": 4, "timestamp": 1733486400.5,'
        ' "agent": "solver", "step": 1, "heuristics": [[3, "tool", "use the calculator"]],'
        ' "experiences": [[7, "multiply 17 by 24", "completed"]]}'
    )

    assert decode_event(json.loads(old)) == RETRIEVED


def test_a_recalled_memory_of_the_wrong_shape_is_refused() -> None:
    record = encode_event(RETRIEVED)
    record["heuristics"] = [[3, "tool"]]

    with pytest.raises(EventFormatError, match=r"^MemoryRetrieved: heuristics\.0: "):
        decode_event(record)


@pytest.mark.parametrize("field", ["run_id", "seq", "timestamp"])
def test_a_stored_event_needs_its_envelope(field: str) -> None:
    record = encode_event(RETRIEVED)
    del record[field]

    with pytest.raises(EventFormatError, match=f"^MemoryRetrieved: {field}: Field required$"):
        decode_event(record)
