"""A team's memory in SQLite or PostgreSQL: :class:`DatabaseMemoryStore` implements
:class:`~purpose_desktop.engine.learning.memory.MemoryStore`.

Searches are two-phase. The full-text index finds the candidates most similar to the query (up
to :func:`candidate_count` of them, within the team): by BM25 through the FTS5 table on SQLite,
by ``ts_rank`` over the indexed ``tsvector`` on PostgreSQL. Q-value then orders them, pinned
heuristics first. Free text never reaches either as query syntax: :func:`fts_query` and
:func:`tsquery` keep only the words, each quoted as a plain term, OR-ed together.

Ranking costs time in proportion to the number of rows that contain each query word, so words
found in :data:`COMMON_DOCUMENTS` rows or more do not take part in it: the rarer words pick and
rank the candidates, and only if they leave room do the newest rows with the common words
follow (see :func:`_candidates`). Common words hardly move a score anyway, and this keeps a
search at 100 000 memories within milliseconds on SQLite (``benchmarks/memory_retrieval.py``).

A memory browser pages through a team's memories with :meth:`DatabaseMemoryStore.search_heuristics`
and :meth:`~DatabaseMemoryStore.search_experiences`: filtered (a :class:`HeuristicQuery` or an
:class:`ExperienceQuery`), in a fixed order, and with a text matched through the same full-text
index (any of its words), counted for a pager by :meth:`~DatabaseMemoryStore.count_heuristics` and
:meth:`~DatabaseMemoryStore.count_experiences`. It edits, pins and deletes what it shows, and looks
memories up by id (:meth:`~DatabaseMemoryStore.heuristics_by_ids`) to show what a run was given.

Every method runs its SQL in a worker thread (:func:`asyncio.to_thread`) in one short
transaction, and returns plain frozen dataclasses.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, Literal, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Delete,
    Engine,
    Float,
    Integer,
    Row,
    Select,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    union,
    update,
)
from sqlalchemy.exc import IntegrityError

from purpose_desktop.engine.learning.memory import (
    Experience,
    Heuristic,
    HeuristicSource,
    ScoreAnchor,
    Tier,
)
from purpose_desktop.engine.learning.memory_queries import (
    OUTCOMES,
    SOURCES,
    ExperienceQuery,
    HeuristicQuery,
    Outcome,
)
from purpose_desktop.errors import UserError
from purpose_desktop.store.database import is_configured, reading, saving
from purpose_desktop.store.full_text import FullTextIndex, TextSearch, text_search
from purpose_desktop.store.memory_tables import (
    ANCHORS_FTS,
    EXPERIENCES,
    EXPERIENCES_FTS,
    HEURISTIC_RUNS,
    HEURISTICS,
    HEURISTICS_FTS,
    SCORE_ANCHORS,
)
from purpose_desktop.store.on_conflict import insert_on_conflict
from purpose_desktop.store.postgres_dialect import TsSearch
from purpose_desktop.store.sqlite_dialect import Fts5Search

#: How a memory browser orders heuristics: by Q-value or by uses (highest first), or newest first.
HeuristicOrder = Literal["q_value", "uses", "newest"]
#: How a memory browser orders experiences: by Q-value (highest first), or newest first.
ExperienceOrder = Literal["q_value", "newest"]

#: What a failed write says could not be saved.
MEMORY = "The team's memory"
#: At most this many words of a query are searched for; the rest are ignored.
MAX_QUERY_TERMS = 24
MIN_CANDIDATES = 20
#: A word found in this many memories (of all teams) is too common to pick candidates by...
COMMON_DOCUMENTS = 2000
#: ... and the rarer words together may match at most this many (see _candidates).
BM25_BUDGET = 6000
#: Ids bound to one statement: far below SQLite's 32 766 parameters and PostgreSQL's 65 535.
IDS_PER_STATEMENT = 1000

# Words too common to tell one memory from another. Kept short: the porter stemmer and BM25's
# inverse document frequency already weigh frequent words down.
STOP_WORDS = frozenset(
    {
        "a",
        "about",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
    }
)

# What unicode61 treats as a token: letters, digits and private-use characters; "_" separates.
_WORD = re.compile(r"[^\W_]+")
_Order = tuple[ColumnElement[Any], ...]
# The browser's orders; the id last, so that pages neither repeat nor skip a row.
_HEURISTIC_ORDERS: dict[str, _Order] = {
    "q_value": (HEURISTICS.c.q_value.desc(), HEURISTICS.c.id),
    "uses": (HEURISTICS.c.uses.desc(), HEURISTICS.c.q_value.desc(), HEURISTICS.c.id),
    "newest": (HEURISTICS.c.id.desc(),),
}
_EXPERIENCE_ORDERS: dict[str, _Order] = {
    "q_value": (EXPERIENCES.c.q_value.desc(), EXPERIENCES.c.id.desc()),
    "newest": (EXPERIENCES.c.id.desc(),),
}
# The runs that used some heuristics, in the order they were noted.
_RUNS_OF_HEURISTICS = (
    select(HEURISTIC_RUNS.c.heuristic_id, HEURISTIC_RUNS.c.run_id)
    .where(HEURISTIC_RUNS.c.heuristic_id.in_(bindparam("ids", expanding=True)))
    .order_by(HEURISTIC_RUNS.c.id)
)


class DuplicateHeuristicError(UserError):
    """An edit would make a heuristic the same as another of its team's (same tier, pattern
    and strategy), which the store keeps only once."""


def query_terms(text: str) -> list[str]:
    """The distinct searchable words of ``text``, in order: casefolded, without punctuation,
    FTS5 operators, stop words or one-character words; at most :data:`MAX_QUERY_TERMS`."""
    terms: list[str] = []
    for match in _WORD.finditer(text.casefold()):
        word = match.group()
        if len(word) < 2 or word in STOP_WORDS or word in terms:
            continue
        terms.append(word)
        if len(terms) == MAX_QUERY_TERMS:
            break
    return terms


def fts_query(text: str | Sequence[str]) -> str:
    """A safe FTS5 query for free text (or for :func:`query_terms`): the words, each quoted as
    a plain term, OR-ed; ``""`` if there are none. It always parses."""
    return Fts5Search.query(query_terms(text) if isinstance(text, str) else text)


def tsquery(text: str | Sequence[str]) -> str:
    """A safe PostgreSQL ``to_tsquery`` input for free text (or for :func:`query_terms`): the
    words, each quoted as a lexeme, OR-ed; ``""`` if there are none. It always parses."""
    return TsSearch.query(query_terms(text) if isinstance(text, str) else text)


def candidate_count(limit: int) -> int:
    """How many of the most similar memories the Q-value ordering chooses ``limit`` from."""
    return max(4 * limit, MIN_CANDIDATES)


class DatabaseMemoryStore:
    """:class:`~purpose_desktop.engine.learning.memory.MemoryStore` on a SQLite or PostgreSQL
    database
    opened with :func:`~purpose_desktop.store.database.open_database` and set up with
    :func:`~purpose_desktop.store.migrations.migrate` (the name is from when it was SQLite
    only). Several processes, on several machines for PostgreSQL, may share one database.

    Besides the protocol it lists, edits, pins and deletes heuristics, deletes experiences,
    and pages through a team's memories for a browser (``search_*`` and ``count_*``).

    Safe to share between threads and event loops: it holds no state besides the engine.
    """

    def __init__(self, engine: Engine) -> None:
        if not is_configured(engine):
            raise ValueError("open the engine with purpose_desktop.store.database.open_database")
        self._engine = engine

    # --- heuristics ----------------------------------------------------------

    async def find_heuristics(
        self, team: str, query: str, *, tiers: Sequence[Tier] = (), limit: int = 5
    ) -> list[Heuristic]:
        return await asyncio.to_thread(self._find_heuristics, team, query, tuple(tiers), limit)

    async def add_heuristic(self, heuristic: Heuristic) -> Heuristic:
        """Store ``heuristic`` (its ``id`` is ignored) and return it with its new id. One with
        the same team, tier, pattern and strategy is returned as stored instead."""
        return await asyncio.to_thread(self._add_heuristic, heuristic)

    async def update_heuristics(
        self, ids: Sequence[int], *, reward: float, success: bool, alpha: float, run_id: str
    ) -> None:
        """``q += alpha * (reward - q)``, one more use (and success), ``run_id`` noted once.

        An id given twice counts once; ids no longer stored are skipped.
        """
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be within 0..1, not {alpha}")
        if not 0.0 <= reward <= 1.0:
            raise ValueError(f"reward must be within 0..1, not {reward}")
        # In ascending order: on PostgreSQL, writers that lock the same rows in the same order
        # wait for each other instead of deadlocking.
        unique = tuple(sorted(set(ids)))
        if unique:
            await asyncio.to_thread(self._update_heuristics, unique, reward, success, alpha, run_id)

    async def list_heuristics(
        self, team: str, *, offset: int = 0, limit: int = 100
    ) -> list[Heuristic]:
        """A page of the team's heuristics: pinned first, then by Q-value, then oldest first."""
        return await asyncio.to_thread(self._list_heuristics, team, offset, limit)

    async def delete_heuristic(self, heuristic_id: int) -> bool:
        """Forget a heuristic (and which runs used it); ``False`` if it was not stored."""
        return await self.delete_heuristics([heuristic_id]) == 1

    async def set_pinned(self, heuristic_id: int, pinned: bool) -> bool:
        """Pin or unpin a heuristic; ``False`` if it was not stored."""
        return await asyncio.to_thread(self._set_pinned, heuristic_id, pinned)

    async def search_heuristics(
        self,
        query: HeuristicQuery | str,
        *,
        order: HeuristicOrder = "q_value",
        offset: int = 0,
        limit: int = 50,
    ) -> list[Heuristic]:
        """A page of the heuristics ``query`` chooses (a team's name: all of the team's), in
        ``order``, for a memory browser. Raises :class:`ValueError` for an unknown order."""
        order_by = _order_by(_HEURISTIC_ORDERS, order)
        return await asyncio.to_thread(
            self._browse, _heuristic_filter(query), order_by, offset, limit, _heuristics
        )

    async def count_heuristics(self, query: HeuristicQuery | str) -> int:
        """How many heuristics :meth:`search_heuristics` pages through for ``query``."""
        return await asyncio.to_thread(self._count, _heuristic_filter(query))

    async def edit_heuristic(
        self, heuristic_id: int, *, tier: Tier, pattern: str, strategy: str, pinned: bool
    ) -> Heuristic | None:
        """Change what a person may change of a heuristic: its tier, pattern, strategy and
        pin. Its Q-value, counts, source and runs stay. Returns it as now stored, ``None`` if
        it is no longer stored; raises :class:`DuplicateHeuristicError` when another
        heuristic of the team already has that tier, pattern and strategy."""
        return await asyncio.to_thread(
            self._edit_heuristic, heuristic_id, Tier(tier), pattern, strategy, pinned
        )

    async def delete_heuristics(self, ids: Sequence[int]) -> int:
        """Forget these heuristics (and which runs used them) in one transaction; returns how
        many were still stored."""
        return await asyncio.to_thread(self._delete, HEURISTICS, ids)

    async def heuristics_by_ids(self, ids: Sequence[int]) -> list[Heuristic]:
        """The heuristics with these ids that are still stored, in the order of ``ids``."""
        return await asyncio.to_thread(self._by_ids, HEURISTICS, ids, _heuristics)

    async def memory_teams(self) -> list[str]:
        """The teams that have heuristics or experiences, by name."""
        return await asyncio.to_thread(self._memory_teams)

    # --- experiences ---------------------------------------------------------

    async def find_experiences(self, team: str, query: str, *, limit: int = 3) -> list[Experience]:
        return await asyncio.to_thread(self._find_experiences, team, query, limit)

    async def add_experience(self, experience: Experience) -> Experience:
        return await asyncio.to_thread(self._add_experience, experience)

    async def update_experiences(self, ids: Sequence[int], *, reward: float, alpha: float) -> None:
        """``q += alpha * (reward - q)`` for each experience (an id given twice counts once;
        ids no longer stored are skipped)."""
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be within 0..1, not {alpha}")
        if not 0.0 <= reward <= 1.0:
            raise ValueError(f"reward must be within 0..1, not {reward}")
        unique = tuple(sorted(set(ids)))  # ascending, as for heuristics: no deadlocks
        if unique:
            await asyncio.to_thread(self._update_experiences, unique, reward, alpha)

    async def add_experiences(self, experiences: Iterable[Experience]) -> int:
        """Store many experiences in one transaction; returns how many."""
        return await asyncio.to_thread(self._add_experiences, list(experiences))

    async def count_experiences(self, query: ExperienceQuery | str) -> int:
        """How many experiences :meth:`search_experiences` pages through for ``query`` (a
        team's name: how many the team has)."""
        return await asyncio.to_thread(self._count, _experience_filter(query))

    async def search_experiences(
        self,
        query: ExperienceQuery | str,
        *,
        order: ExperienceOrder = "q_value",
        offset: int = 0,
        limit: int = 50,
    ) -> list[Experience]:
        """A page of the experiences ``query`` chooses (a team's name: all of the team's), in
        ``order``, for a memory browser. Raises :class:`ValueError` for an unknown order."""
        order_by = _order_by(_EXPERIENCE_ORDERS, order)
        return await asyncio.to_thread(
            self._browse, _experience_filter(query), order_by, offset, limit, _experiences
        )

    async def delete_experiences(self, ids: Sequence[int]) -> int:
        """Forget these experiences in one transaction; returns how many were still stored."""
        return await asyncio.to_thread(self._delete, EXPERIENCES, ids)

    async def experiences_by_ids(self, ids: Sequence[int]) -> list[Experience]:
        """The experiences with these ids that are still stored, in the order of ``ids``."""
        return await asyncio.to_thread(self._by_ids, EXPERIENCES, ids, _experiences)

    # --- score anchors -------------------------------------------------------

    async def find_anchors(self, team: str, query: str, *, limit: int = 5) -> list[ScoreAnchor]:
        """Anchors whose task or state resembles ``query``, most similar first; the newest
        first when the query has no searchable words. The newest anchor whose state is
        ``query`` itself always comes first."""
        return await asyncio.to_thread(self._find_anchors, team, query, limit)

    async def add_anchor(self, anchor: ScoreAnchor) -> ScoreAnchor:
        return await asyncio.to_thread(self._add_anchor, anchor)

    # --- blocking implementations -------------------------------------------

    def _find_heuristics(
        self, team: str, query: str, tiers: tuple[Tier, ...], limit: int
    ) -> list[Heuristic]:
        if limit <= 0:
            return []
        tier_values = [Tier(t).value for t in tiers]
        terms = query_terms(query)
        with reading(self._engine) as connection:
            if not terms:
                best = select(HEURISTICS).where(HEURISTICS.c.team == team)
                if tier_values:
                    best = best.where(HEURISTICS.c.tier.in_(tier_values))
                rows = connection.execute(best.order_by(*_BEST_HEURISTICS).limit(limit)).all()
                return _heuristics(connection, rows)
            found = _candidates(
                connection,
                HEURISTICS_FTS,
                HEURISTICS,
                terms,
                count=candidate_count(limit),
                team=team,
                tiers=tier_values,
            )
            similarity = {heuristic_id: rank for rank, heuristic_id in enumerate(found)}
            rows = sorted(
                _rows(connection, HEURISTICS, found),
                key=lambda r: (-r.pinned, -r.q_value, similarity[r.id]),
            )[:limit]
            return _heuristics(connection, rows)

    def _list_heuristics(self, team: str, offset: int, limit: int) -> list[Heuristic]:
        with reading(self._engine) as connection:
            rows = connection.execute(
                select(HEURISTICS)
                .where(HEURISTICS.c.team == team)
                .order_by(*_BEST_HEURISTICS)
                .limit(max(limit, 0))
                .offset(max(offset, 0))
            ).all()
            return _heuristics(connection, rows)

    def _add_heuristic(self, heuristic: Heuristic) -> Heuristic:
        if heuristic.source not in SOURCES:
            raise ValueError(f"unknown heuristic source {heuristic.source!r}")
        key = {
            "team": heuristic.team,
            "tier": Tier(heuristic.tier).value,
            "pattern": heuristic.pattern,
            "strategy": heuristic.strategy,
        }
        with saving(self._engine, MEMORY) as connection:
            # Insert-or-nothing rather than look-then-insert: on PostgreSQL a writer elsewhere
            # may store the same heuristic between the look and the insert.
            new_id = connection.execute(
                insert_on_conflict(connection, HEURISTICS)
                .values(
                    **key,
                    q_value=heuristic.q_value,
                    uses=heuristic.uses,
                    successes=heuristic.successes,
                    source=heuristic.source,
                    pinned=heuristic.pinned,
                    created_at=time.time(),
                )
                .on_conflict_do_nothing(index_elements=[HEURISTICS.c[name] for name in key])
                .returning(HEURISTICS.c.id)
            ).scalar_one_or_none()
            if new_id is None:
                existing = connection.execute(
                    select(HEURISTICS).where(
                        *(HEURISTICS.c[name] == value for name, value in key.items())
                    )
                ).all()
                return _heuristics(connection, existing)[0]
            run_ids = tuple(dict.fromkeys(heuristic.run_ids))
            if run_ids:
                connection.execute(
                    insert(HEURISTIC_RUNS),
                    [{"heuristic_id": new_id, "run_id": run_id} for run_id in run_ids],
                )
        return replace(heuristic, tier=Tier(heuristic.tier), run_ids=run_ids, id=int(new_id))

    def _update_heuristics(
        self, ids: tuple[int, ...], reward: float, success: bool, alpha: float, run_id: str
    ) -> None:
        with saving(self._engine, MEMORY) as connection:
            connection.execute(
                _LEARN,
                [
                    {"heuristic": i, "alpha": alpha, "reward": reward, "success": int(success)}
                    for i in ids
                ],
            )
            used = select(HEURISTICS.c.id, bindparam("run", type_=String)).where(
                HEURISTICS.c.id == bindparam("heuristic")
            )
            connection.execute(
                insert_on_conflict(connection, HEURISTIC_RUNS)
                .from_select(["heuristic_id", "run_id"], used)
                .on_conflict_do_nothing(),
                [{"heuristic": i, "run": run_id} for i in ids],
            )

    def _update_experiences(self, ids: tuple[int, ...], reward: float, alpha: float) -> None:
        with saving(self._engine, MEMORY) as connection:
            connection.execute(
                _LEARN_EXPERIENCE,
                [{"experience": i, "alpha": alpha, "reward": reward} for i in ids],
            )

    def _edit_heuristic(
        self, heuristic_id: int, tier: Tier, pattern: str, strategy: str, pinned: bool
    ) -> Heuristic | None:
        with saving(self._engine, MEMORY) as connection:
            try:
                updated = connection.execute(
                    update(HEURISTICS)
                    .where(HEURISTICS.c.id == heuristic_id)
                    .values(tier=tier.value, pattern=pattern, strategy=strategy, pinned=pinned)
                ).rowcount
            except IntegrityError:
                # The unique constraint on (team, tier, pattern, strategy) refused it; the
                # whole transaction is rolled back, so nothing changed.
                raise DuplicateHeuristicError(
                    f"The team already has a {tier.value} heuristic with this pattern and "
                    "strategy. Change one of them, or delete that heuristic first."
                ) from None
            if not updated:
                return None
            rows = _rows(connection, HEURISTICS, [heuristic_id])
            return _heuristics(connection, rows)[0]

    def _delete(self, table: Table, ids: Sequence[int]) -> int:
        unique = sorted(set(ids))  # in ascending order, as _update_heuristics explains
        deleted = 0
        statement = _delete_by_ids(table)
        with saving(self._engine, MEMORY) as connection:
            for start in range(0, len(unique), IDS_PER_STATEMENT):
                chunk = unique[start : start + IDS_PER_STATEMENT]
                deleted += connection.execute(statement, {"ids": chunk}).rowcount
        return deleted

    def _by_ids(
        self,
        table: Table,
        ids: Sequence[int],
        convert: Callable[[Connection, Sequence[Row[Any]]], list[Any]],
    ) -> list[Any]:
        with reading(self._engine) as connection:
            return convert(connection, _rows_in_order(connection, table, ids))

    def _memory_teams(self) -> list[str]:
        teams = union(select(HEURISTICS.c.team), select(EXPERIENCES.c.team))
        with reading(self._engine) as connection:
            return list(connection.execute(teams.order_by(teams.selected_columns.team)).scalars())

    def _set_pinned(self, heuristic_id: int, pinned: bool) -> bool:
        with saving(self._engine, MEMORY) as connection:
            result = connection.execute(
                update(HEURISTICS).where(HEURISTICS.c.id == heuristic_id).values(pinned=pinned)
            )
            return bool(result.rowcount)

    def _find_experiences(self, team: str, query: str, limit: int) -> list[Experience]:
        rows = self._search(
            EXPERIENCES,
            EXPERIENCES_FTS,
            team,
            query,
            limit,
            newest_first=(EXPERIENCES.c.q_value.desc(), EXPERIENCES.c.id.desc()),
            candidates=candidate_count(limit),
            # Q-value orders the candidates; similarity breaks ties.
            order=lambda row, rank: (-row.q_value, rank),
        )
        return [_experience(row) for row in rows]

    def _search(
        self,
        table: Table,
        fts: FullTextIndex,
        team: str,
        query: str,
        limit: int,
        *,
        newest_first: tuple[ColumnElement[Any], ...],
        candidates: int,
        order: Callable[[Row[Any], int], Any],
    ) -> Sequence[Row[Any]]:
        """Two-phase search: full-text candidates, then ``order`` (given each row and its
        similarity rank); with no searchable words, the team's rows by ``newest_first``."""
        if limit <= 0:
            return []
        terms = query_terms(query)
        with reading(self._engine) as connection:
            if not terms:
                return connection.execute(
                    select(table).where(table.c.team == team).order_by(*newest_first).limit(limit)
                ).all()
            found = _candidates(connection, fts, table, terms, count=candidates, team=team)
            rank = {row_id: index for index, row_id in enumerate(found)}
            rows = _rows(connection, table, found)
        return sorted(rows, key=lambda row: order(row, rank[row.id]))[:limit]

    def _add_experience(self, experience: Experience) -> Experience:
        with saving(self._engine, MEMORY) as connection:
            new_id = connection.execute(
                insert(EXPERIENCES).returning(EXPERIENCES.c.id), _experience_params(experience)
            ).scalar_one()
        return replace(experience, id=int(new_id))

    def _add_experiences(self, experiences: list[Experience]) -> int:
        if not experiences:
            return 0
        params = [_experience_params(e) for e in experiences]
        with saving(self._engine, MEMORY) as connection:
            connection.execute(insert(EXPERIENCES), params)
        return len(params)

    def _browse(
        self,
        found: _Filter,
        order_by: tuple[ColumnElement[Any], ...],
        offset: int,
        limit: int,
        convert: Callable[[Connection, Sequence[Row[Any]]], list[Any]],
    ) -> list[Any]:
        table = found.table
        with reading(self._engine) as connection:
            # The ids are sorted first (from a covering index where one fits), then only the
            # page's rows are read: sorting whole rows costs four to eight times as much at
            # 100 000 heuristics, and grows with the offset.
            ids = (
                connection.execute(
                    select(table.c.id)
                    .where(*found.where(connection))
                    .order_by(*order_by)
                    .limit(max(limit, 0))
                    .offset(max(offset, 0))
                )
                .scalars()
                .all()
            )
            return convert(connection, _rows_in_order(connection, table, ids))

    def _count(self, found: _Filter) -> int:
        with reading(self._engine) as connection:
            count = connection.execute(
                select(func.count()).select_from(found.table).where(*found.where(connection))
            ).scalar_one()
        return int(count)

    def _find_anchors(self, team: str, query: str, limit: int) -> list[ScoreAnchor]:
        # A person's score of this very state comes first whatever the ranking says: it has
        # the last word on that state (the newest, if they scored it more than once).
        with reading(self._engine) as connection:
            same = connection.execute(
                select(SCORE_ANCHORS)
                .where(SCORE_ANCHORS.c.team == team, SCORE_ANCHORS.c.state == query)
                .order_by(SCORE_ANCHORS.c.id.desc())
                .limit(1)
            ).first()
        rows = self._search(
            SCORE_ANCHORS,
            ANCHORS_FTS,
            team,
            query,
            limit,
            newest_first=(SCORE_ANCHORS.c.id.desc(),),
            candidates=limit,
            order=lambda row, rank: rank,
        )
        if same is None:
            return [_anchor(row) for row in rows]
        others = [_anchor(row) for row in rows if row.id != same.id]
        return [_anchor(same), *others][:limit]

    def _add_anchor(self, anchor: ScoreAnchor) -> ScoreAnchor:
        with saving(self._engine, MEMORY) as connection:
            new_id = connection.execute(
                insert(SCORE_ANCHORS)
                .values(
                    team=anchor.team,
                    task=anchor.task,
                    state=anchor.state,
                    critic_score=anchor.critic_score,
                    human_score=anchor.human_score,
                    reason=anchor.reason,
                    run_id=anchor.run_id,
                    created_at=time.time(),
                )
                .returning(SCORE_ANCHORS.c.id)
            ).scalar_one()
        return replace(anchor, id=int(new_id))


# A team's heuristics best first: pinned, then by Q-value, then the oldest.
_BEST_HEURISTICS = (HEURISTICS.c.pinned.desc(), HEURISTICS.c.q_value.desc(), HEURISTICS.c.id)


def _towards_reward(table: Table) -> Any:
    """``q + alpha * (reward - q)`` of ``table``'s rows: learning from a use."""
    q_value = table.c.q_value
    return q_value + bindparam("alpha", type_=Float) * (bindparam("reward", type_=Float) - q_value)


# Learning from a use: the Q-value moves towards the reward, one more use (and success).
_LEARN = (
    update(HEURISTICS)
    .where(HEURISTICS.c.id == bindparam("heuristic"))
    .values(
        q_value=_towards_reward(HEURISTICS),
        uses=HEURISTICS.c.uses + 1,
        successes=HEURISTICS.c.successes + bindparam("success", type_=Integer),
    )
)
_LEARN_EXPERIENCE = (
    update(EXPERIENCES)
    .where(EXPERIENCES.c.id == bindparam("experience"))
    .values(q_value=_towards_reward(EXPERIENCES))
)


def _experience_params(experience: Experience) -> dict[str, Any]:
    if experience.outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {experience.outcome!r}")
    return {
        "team": experience.team,
        "task": experience.task,
        "summary": experience.summary,
        "outcome": experience.outcome,
        "final_phi": experience.final_phi,
        "steps": experience.steps,
        "run_id": experience.run_id,
        "q_value": experience.q_value,
        "created_at": time.time(),
    }


def _candidates(
    connection: Connection,
    fts: FullTextIndex,
    table: Table,
    terms: Sequence[str],
    *,
    count: int,
    team: str,
    tiers: Sequence[str] = (),
) -> list[int]:
    """Ids of up to ``count`` of ``team``'s rows of ``table`` (of one of ``tiers``, if given)
    that contain some of ``terms``, the most similar first (phase one of a search).

    Ranking costs time in proportion to how many rows contain each word, and a word that most
    rows contain hardly moves the score. So the rarer words are ranked (the rarest first,
    while they match at most :data:`BM25_BUDGET` rows); if they leave room, the newest rows
    with the other, common words follow.
    """
    search = text_search(connection, fts, table)
    rare, common = _by_rarity(terms, _document_frequencies(connection, search, terms))
    ranked, newest_first = _candidate_statements(search, table, by_tier=bool(tiers))
    params: dict[str, Any] = {"team": team, "tiers": list(tiers)} if tiers else {"team": team}
    found: list[int] = []
    if rare:
        found = list(
            connection.execute(
                ranked, {**params, "match": search.query(rare), "count": count}
            ).scalars()
        )
    if common and len(found) < count:
        seen = set(found)
        newest = connection.execute(
            newest_first, {**params, "match": search.query(common), "count": count + len(found)}
        ).scalars()
        found += [row_id for row_id in newest if row_id not in seen][: count - len(found)]
    return found


@functools.cache
def _candidate_statements(
    search: TextSearch, table: Table, *, by_tier: bool
) -> tuple[Select[Any], Select[Any]]:
    """The statements of :func:`_candidates`, built once: the rows matching ``:match``, best
    first and newest first, of ``:team`` (and of one of ``:tiers`` if ``by_tier``), at most
    ``:count`` of them."""
    # Built once because building and checking a statement costs as much as running it.
    match = bindparam("match", type_=String)
    matching = (
        select(table.c.id)
        .select_from(search.rows())
        .where(search.matches(match), table.c.team == bindparam("team"))
    )
    if by_tier:
        matching = matching.where(table.c.tier.in_(bindparam("tiers", expanding=True)))
    count = bindparam("count", type_=Integer)
    return (
        matching.order_by(*search.best_first(match)).limit(count),
        matching.order_by(*search.newest_first()).limit(count),
    )


def _by_rarity(terms: Sequence[str], frequencies: dict[str, int]) -> tuple[list[str], list[str]]:
    """The terms to rank by (the rarest first, within :data:`BM25_BUDGET`), and the common
    ones; terms found nowhere are in neither."""
    rare: list[str] = []
    common: list[str] = []
    budget = BM25_BUDGET
    for term in sorted(terms, key=frequencies.__getitem__):
        documents = frequencies[term]
        if documents == 0:
            continue  # found nowhere
        if documents < COMMON_DOCUMENTS and documents <= budget:
            rare.append(term)
            budget -= documents
        else:
            common.append(term)
    return rare, common


def _document_frequencies(
    connection: Connection, search: TextSearch, terms: Sequence[str]
) -> dict[str, int]:
    """In how many rows each term occurs, counted up to :data:`COMMON_DOCUMENTS` (cheap: a
    count stops there)."""
    params: dict[str, Any] = {f"t{i}": search.query([term]) for i, term in enumerate(terms)}
    statement = _frequencies_statement(search, len(terms))
    row = connection.execute(statement, {**params, "cap": COMMON_DOCUMENTS}).one()
    return {term: int(row[i]) for i, term in enumerate(terms)}


@functools.cache
def _frequencies_statement(search: TextSearch, terms: int) -> Select[Any]:
    """How many rows match each of ``:t0`` .. ``:t{terms - 1}``, up to ``:cap``; built once
    per number of terms."""
    cap = bindparam("cap", type_=Integer)
    return select(
        *(
            select(func.count())
            .select_from(search.documents(bindparam(f"t{i}", type_=String)).limit(cap).subquery())
            .scalar_subquery()
            for i in range(terms)
        )
    )


class _Filter:
    """Which of a team's memories in ``table`` (indexed by ``fts``) a browser shows:
    conditions on the rows, and the words of which the text must hold one."""

    def __init__(
        self, fts: FullTextIndex, table: Table, team: str, words: str, min_q: float | None
    ) -> None:
        self.fts = fts
        self.table = table
        self.terms = query_terms(words)
        self.conditions = [table.c.team == team]
        if min_q is not None:
            self.conditions.append(table.c.q_value >= min_q)

    def where(self, connection: Connection) -> list[ColumnElement[bool]]:
        """The conditions, with the text's in ``connection``'s form of full-text search."""
        if not self.terms:
            return self.conditions
        search = text_search(connection, self.fts, self.table)
        query = literal(search.query(self.terms), String)
        return [*self.conditions, search.condition(query)]


def _heuristic_filter(query: HeuristicQuery | str) -> _Filter:
    if isinstance(query, str):
        query = HeuristicQuery(query)
    found = _Filter(HEURISTICS_FTS, HEURISTICS, query.team, query.text, query.min_q)
    if query.max_q is not None:
        found.conditions.append(HEURISTICS.c.q_value <= query.max_q)
    if query.source is not None:
        found.conditions.append(HEURISTICS.c.source == query.source)
    if query.tiers:
        found.conditions.append(HEURISTICS.c.tier.in_([t.value for t in query.tiers]))
    return found


def _experience_filter(query: ExperienceQuery | str) -> _Filter:
    if isinstance(query, str):
        query = ExperienceQuery(query)
    found = _Filter(EXPERIENCES_FTS, EXPERIENCES, query.team, query.text, query.min_q)
    if query.outcome is not None:
        found.conditions.append(EXPERIENCES.c.outcome == query.outcome)
    return found


def _order_by(orders: dict[str, _Order], order: str) -> _Order:
    try:
        return orders[order]
    except KeyError:
        raise ValueError(f"unknown order {order!r}; one of {', '.join(orders)}") from None


def _select_by_ids(
    connection: Connection, statement: Select[Any], ids: Sequence[int]
) -> list[Row[Any]]:
    """The rows ``statement`` selects for ``ids``, bound to its expanding ``ids`` parameter
    a slice at a time."""
    rows: list[Row[Any]] = []
    for start in range(0, len(ids), IDS_PER_STATEMENT):
        chunk = list(ids[start : start + IDS_PER_STATEMENT])
        rows += connection.execute(statement, {"ids": chunk}).all()
    return rows


def _rows(connection: Connection, table: Table, ids: Sequence[int]) -> Sequence[Row[Any]]:
    return _select_by_ids(connection, _select_by_id(table), ids)


@functools.cache
def _select_by_id(table: Table) -> Select[Any]:
    """The rows of ``table`` with the ids of ``:ids`` (an expanding parameter)."""
    return select(table).where(table.c.id.in_(bindparam("ids", expanding=True)))


@functools.cache
def _delete_by_ids(table: Table) -> Delete:
    """Delete the rows of ``table`` with the ids of ``:ids`` (an expanding parameter)."""
    return delete(table).where(table.c.id.in_(bindparam("ids", expanding=True)))


def _rows_in_order(connection: Connection, table: Table, ids: Sequence[int]) -> list[Row[Any]]:
    """The rows of ``table`` with these ids, in the order of ``ids`` (each once); ids not
    stored are left out."""
    unique = list(dict.fromkeys(ids))
    found = {row.id: row for row in _rows(connection, table, unique)}
    return [found[i] for i in unique if i in found]


def _heuristics(connection: Connection, rows: Sequence[Row[Any]]) -> list[Heuristic]:
    """Heuristics from ``heuristics`` rows, in their order, with the runs that used each."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    runs: dict[int, list[str]] = {i: [] for i in ids}
    for row in _select_by_ids(connection, _RUNS_OF_HEURISTICS, ids):
        runs[row.heuristic_id].append(row.run_id)
    return [
        Heuristic(
            team=row.team,
            tier=Tier(row.tier),
            pattern=row.pattern,
            strategy=row.strategy,
            q_value=float(row.q_value),
            uses=int(row.uses),
            successes=int(row.successes),
            source=cast(HeuristicSource, row.source),
            run_ids=tuple(runs[row.id]),
            pinned=bool(row.pinned),
            id=int(row.id),
        )
        for row in rows
    ]


def _experiences(_connection: Connection, rows: Sequence[Row[Any]]) -> list[Experience]:
    return [_experience(row) for row in rows]


def _experience(row: Row[Any]) -> Experience:
    return Experience(
        team=row.team,
        task=row.task,
        summary=row.summary,
        outcome=cast(Outcome, row.outcome),
        final_phi=float(row.final_phi),
        steps=int(row.steps),
        run_id=row.run_id,
        q_value=float(row.q_value),
        id=int(row.id),
    )


def _anchor(row: Row[Any]) -> ScoreAnchor:
    return ScoreAnchor(
        team=row.team,
        task=row.task,
        state=row.state,
        critic_score=float(row.critic_score),
        human_score=float(row.human_score),
        reason=row.reason,
        run_id=row.run_id,
        id=int(row.id),
    )
