"""How a full-text search runs on SQLite: the FTS5 matches are read first, and each match's
row looked up by id, whatever the planner would guess from the team's index."""

from __future__ import annotations

from purpose_desktop.store.database import reading
from purpose_desktop.store.full_text import text_search
from purpose_desktop.store.memory_tables import HEURISTICS, HEURISTICS_FTS
from sqlalchemy import Engine, select


def test_a_search_reads_the_fts5_matches_before_the_rows(engine: Engine) -> None:
    with reading(engine) as connection:
        search = text_search(connection, HEURISTICS_FTS, HEURISTICS)
        statement = (
            select(HEURISTICS.c.id)
            .select_from(search.rows())
            .where(search.matches(search.query(["csv"])), HEURISTICS.c.team == "ops")
        )
        sql = statement.compile(connection, compile_kwargs={"literal_binds": True})
        plan = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    # A plain inner join walks the team's rows through ix_heuristics_team_rank instead, and
    # looks each up in the FTS5 table: work that grows with the team's memories, not with
    # the matches.
    assert plan[0].startswith("SCAN heuristics_fts VIRTUAL TABLE")
    assert plan[1].startswith("SEARCH heuristics USING INTEGER PRIMARY KEY")
