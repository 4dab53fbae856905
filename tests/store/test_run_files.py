"""Run files: a run recorded by the real journal on a real SQLite file, exported as JSON lines
and imported into another database, reads back as the original; bad files change nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from purpose_desktop.engine.loop.run import RunOutcome
from purpose_desktop.engine.recording.event_codec import decode_event
from purpose_desktop.errors import UserError
from purpose_desktop.store.database import reading, writing
from purpose_desktop.store.opening import Store
from purpose_desktop.store.run_files import (
    RunFileError,
    export_run,
    import_run,
    parse_run_lines,
)
from sqlalchemy import URL, text
from tests.support.scripted_team import act
from tests.support.stores import (
    TASK,
    counts,
    record,
    record_cancelled_run,
    record_fork,
    record_run,
    store_at,
)

# --- recording runs (also used by the CLI's end-to-end tests) ----------------------------


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Store]:
    with store_at(tmp_path / "source.sqlite3") as store:
        yield store


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Store]:
    with store_at(tmp_path / "target.sqlite3") as store:
        yield store


@pytest.fixture
def run_file(source: Store, tmp_path: Path) -> Path:
    """The exported file of a completed run with a score override."""
    outcome = record_run(source, tmp_path)
    path = tmp_path / "run.jsonl"
    export_run(source.engine, outcome.run_id, path)
    return path


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_lines(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def assert_same_run(original: Store, imported: Store, run_id: str) -> None:
    """Everything the queries tell about the run is the same in both databases."""
    assert imported.runs.run_now(run_id) == original.runs.run_now(run_id)
    assert list(imported.runs.all_events_now(run_id)) == list(original.runs.all_events_now(run_id))
    for by in ("model", "day", "agent"):
        assert imported.runs.cost_totals_now(by, run_id=run_id) == (
            original.runs.cost_totals_now(by, run_id=run_id)
        )
    query = "SELECT step, last_seq FROM checkpoints WHERE run_id = :id ORDER BY step"
    with reading(original.engine) as a, reading(imported.engine) as b:
        assert [tuple(r) for r in a.execute(text(query), {"id": run_id})] == [
            tuple(r) for r in b.execute(text(query), {"id": run_id})
        ]


# --- round trips -----------------------------------------------------------------------


def test_the_file_is_the_header_then_every_event_then_the_checkpoints(
    source: Store, run_file: Path
) -> None:
    header, *rest = lines_of(run_file)
    run = source.runs.list_runs_now()[0]
    assert (header["format"], header["version"], header["id"]) == ("purpose-desktop-run", 1, run.id)
    assert (header["team"], header["task"], header["status"]) == ("T", TASK, "completed")
    assert header["team_spec"]["agents"][0]["name"] == "solver"
    assert (header["parent_run_id"], header["forked_from_step"]) == (None, None)
    assert header["started_at"] == run.started_at and header["finished_at"] == run.finished_at
    events = [record for record in rest if record["type"] != "Checkpoint"]
    checkpoints = rest[len(events) :]
    assert [decode_event(e) for e in events] == list(source.runs.all_events_now(run.id))
    assert header["events"] == len(events) == run.events
    assert [c["checkpoint"]["step"] for c in checkpoints] == [0, 1, 2]
    assert header["checkpoints"] == 3


def test_an_imported_run_is_the_original(source: Store, target: Store, run_file: Path) -> None:
    imported = import_run(target.engine, run_file)
    run_id = imported.id
    assert imported == source.runs.run_now(run_id).summary
    assert_same_run(source, target, run_id)
    assert target.runs.run_now(run_id[:6]).overrides[0].phi == 7.0


def test_a_fork_imports_without_its_parent(source: Store, target: Store, tmp_path: Path) -> None:
    parent = record_run(source, tmp_path)
    fork = record_fork(source, tmp_path, parent.run_id)
    path = tmp_path / "fork.jsonl"
    export_run(source.engine, fork.run_id[:10], path)
    imported = import_run(target.engine, path)
    assert (imported.parent_run_id, imported.forked_from_step) == (parent.run_id, 1)
    # The copied history's costs and score override stay the parent's, as they were.
    assert_same_run(source, target, fork.run_id)
    assert target.runs.list_runs_now() == [imported]


def test_an_imported_cancelled_run_resumes_and_forks(
    source: Store, target: Store, tmp_path: Path
) -> None:
    run_id = record_cancelled_run(source, tmp_path)
    path = tmp_path / "cancelled.jsonl"
    exported = export_run(source.engine, run_id, path)
    import_run(target.engine, path)

    resumed: RunOutcome = record(
        target, tmp_path, [act("finish", answer="391")], lambda runner: runner.resume(run_id)
    )
    assert (resumed.run_id, resumed.status, resumed.answer) == (run_id, "completed", "391")
    events = list(target.runs.all_events_now(run_id))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert type(events[exported.events]).__name__ == "RunResumed"

    fork: RunOutcome = record(
        target, tmp_path, [act("finish", answer="17*23")], lambda runner: runner.fork(run_id, 1)
    )
    assert fork.status == "completed"
    assert target.runs.run_now(fork.run_id).summary.parent_run_id == run_id


def test_a_run_exported_while_running_imports_as_interrupted(
    target: Store, run_file: Path, tmp_path: Path
) -> None:
    header, *rest = lines_of(run_file)
    events = [r for r in rest if r["type"] not in ("RunFinished", "Checkpoint")]
    checkpoints = [r for r in rest if r["type"] == "Checkpoint"][:2]
    header.update(status="running", finished_at=None, events=len(events), checkpoints=2)
    imported = import_run(
        target.engine, write_lines(tmp_path / "running.jsonl", [header, *events, *checkpoints])
    )
    assert imported.status == "interrupted"
    # No process here runs it, so opening the store again leaves it as it is.
    with store_at(tmp_path / "target.sqlite3") as reopened:
        assert reopened.runs.run_now(imported.id).summary.status == "interrupted"


# --- bad files -------------------------------------------------------------------------


def _index(records: list[dict[str, Any]], kind: str) -> int:
    return next(i for i, r in enumerate(records) if r.get("type") == kind)


def _set(records: list[dict[str, Any]], kind: str, **fields: Any) -> int:
    """Change the first record of ``kind``; its line number."""
    index = _index(records, kind)
    records[index].update(fields)
    return index + 1


def _bad_json(path: Path) -> tuple[Path, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[6] = lines[6][:-1]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, "line 7: not valid JSON: Expecting ',' delimiter"


def _unknown_type(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    records[4]["type"] = "Teleported"
    return write_lines(path, records), "line 5: unknown event type 'Teleported'"


def _gap(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    del records[9]  # the event numbered 9
    return write_lines(path, records), ("line 10: event number (seq) 10 where 9 was expected")


def _wrong_type(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    line = _set(records, "Scored", phi="lots")
    return write_lines(path, records), f"line {line}: Scored: phi: Input should be a valid number"


def _another_run(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    line = _set(records, "ToolFinished", run_id="0" * 32)
    return write_lines(path, records), (
        f"line {line}: the event belongs to run {'0' * 32}, not to the file's run"
    )


def _no_header(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    return write_lines(path, records[1:]), (
        'line 1: not a run file: it must begin with "format": "purpose-desktop-run"'
    )


def _newer_version(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    records[0]["version"] = 2
    return write_lines(path, records), (
        "line 1: run file version 2 cannot be read, only version 1; a newer purpose-desktop"
    )


def _bad_team(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    records[0]["team_spec"]["agents"][0]["max_steps"] = 0
    return write_lines(path, records), (
        "line 1: team_spec.agents[0].max_steps: Input should be greater than or equal to 1"
    )


def _cut_short(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    return write_lines(path, records[:-2]), (
        "the header (line 1) counts 3 checkpoints but the file holds 1; it may have been cut"
    )


def _bad_checkpoint(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    line = _set(records, "Checkpoint")
    records[line - 1]["checkpoint"]["frames"][0]["steps_taken"] = "many"
    return write_lines(path, records), (
        f"line {line}: checkpoint.frames[0].steps_taken: Input should be a valid integer"
    )


def _checkpoint_ahead(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    line = _set(records, "Checkpoint", last_seq=999)
    return write_lines(path, records), (
        f"line {line}: the checkpoint follows event 999, which the file lacks"
    )


def _lone_surrogate(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    records[0]["task"] = "What is \udcff?"
    text = "\n".join(json.dumps(record) for record in records)  # ASCII, with \\udcff escaped
    path.write_text(text, encoding="utf-8")
    return path, "line 1: The text 'What is \\udcff?' is not valid text: character 9"


def _huge_number(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    records[0]["prompt_tokens"] = 2**63
    return write_lines(path, records), "line 1: the number 922337203685... (19 digits) is too"


def _deep(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    line = _set(records, "Scored", evidence=json.loads("[" * 60 + "]" * 60))
    return write_lines(path, records), f"line {line}: it is nested more than 50 levels deep"


def _deeper_than_python(path: Path) -> tuple[Path, str]:
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "[" * 100_000 + "\n", encoding="utf-8")
    return path, f"line {text.count(chr(10)) + 1}: it is nested more than 50 levels deep"


def _header_alone(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    records[0].update(events=0, checkpoints=0)
    return write_lines(path, records[:1]), "the file holds no events; a recorded run has at least"


def _no_checkpoint_to_resume(path: Path) -> tuple[Path, str]:
    records = lines_of(path)
    records = [record for record in records if record.get("type") != "Checkpoint"]
    records[0].update(status="interrupted", checkpoints=0)
    return write_lines(path, records), (
        "the run is interrupted but the file holds no checkpoint, so it could never be resumed"
    )


@pytest.mark.parametrize(
    "spoil",
    [
        _bad_json,
        _unknown_type,
        _gap,
        _wrong_type,
        _another_run,
        _no_header,
        _newer_version,
        _bad_team,
        _cut_short,
        _bad_checkpoint,
        _checkpoint_ahead,
        _lone_surrogate,
        _huge_number,
        _deep,
        _deeper_than_python,
        _header_alone,
        _no_checkpoint_to_resume,
    ],
)
def test_a_bad_file_is_refused_naming_its_line_and_changes_nothing(
    spoil: Callable[[Path], tuple[Path, str]],
    source: Store,
    target: Store,
    run_file: Path,
    tmp_path: Path,
) -> None:
    fork = record_fork(source, tmp_path, source.runs.list_runs_now()[0].id)
    export_run(source.engine, fork.run_id, tmp_path / "other.jsonl")
    import_run(target.engine, tmp_path / "other.jsonl")
    before = counts(target)
    path, message = spoil(run_file)
    with pytest.raises(RunFileError) as raised:
        import_run(target.engine, path)
    assert f"{path}, {message}" in str(raised.value) or f"{path}: {message}" in str(raised.value)
    assert counts(target) == before


def test_a_run_already_stored_is_refused_and_changes_nothing(target: Store, run_file: Path) -> None:
    run_id = import_run(target.engine, run_file).id
    before = counts(target)
    with pytest.raises(RunFileError, match=f"Run {run_id} is already stored"):
        import_run(target.engine, run_file)
    assert counts(target) == before


def test_a_write_the_database_refuses_leaves_nothing_behind(target: Store, run_file: Path) -> None:
    # The checkpoints are written after every event: fail there, half-way through.
    with writing(target.engine) as connection:
        connection.execute(
            text(
                "CREATE TRIGGER no_room BEFORE INSERT ON checkpoints "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        )
    before = counts(target)
    with pytest.raises(
        UserError, match="could not be stored, so nothing was imported: database or disk is full"
    ):
        import_run(target.engine, run_file)
    assert counts(target) == before


def test_missing_and_empty_files(tmp_path: Path, target: Store) -> None:
    with pytest.raises(RunFileError, match="Run file not found"):
        import_run(target.engine, tmp_path / "nothing.jsonl")
    with pytest.raises(RunFileError, match="the file is empty"):
        parse_run_lines(["\n", "  \n"])


def test_exporting_an_unknown_run_says_so(source: Store, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="There is no run abc"):
        export_run(source.engine, "abc", tmp_path / "x.jsonl")
    assert not (tmp_path / "x.jsonl").exists()


def test_a_run_moves_to_postgresql_and_back(
    source: Store, target: Store, run_file: Path, postgres_url: URL, tmp_path: Path
) -> None:
    fork = record_fork(source, tmp_path, source.runs.list_runs_now()[0].id)
    fork_file = tmp_path / "fork.jsonl"
    export_run(source.engine, fork.run_id, fork_file)
    with store_at(postgres_url) as shared:
        for path in (run_file, fork_file):
            run_id = import_run(shared.engine, path).id
            assert_same_run(source, shared, run_id)
            back = tmp_path / f"back-{run_id}.jsonl"
            export_run(shared.engine, run_id, back)
            import_run(target.engine, back)
            assert_same_run(source, target, run_id)
        before = counts(shared)
        with pytest.raises(RunFileError, match="already stored"):
            import_run(shared.engine, fork_file)
        assert counts(shared) == before
