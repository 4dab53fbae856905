"""A team's memory in SQLite: :class:`SqliteMemoryStore` implements
:class:`~purpose_desktop.engine.memory.MemoryStore`.

Searches are two-phase. FTS5 finds the candidates most similar to the query by BM25 (up to
:func:`candidate_count` of them, within the team); Q-value then orders them, pinned heuristics
first. Free text never reaches FTS5 as syntax: :func:`fts_query` keeps only the words, each
quoted as a plain term, OR-ed together.

BM25 costs time in proportion to the number of rows that contain each query word, so words
found in :data:`COMMON_DOCUMENTS` rows or more do not take part in it: the rarer words pick and
rank the candidates, and only if they leave room do the newest rows with the common words
follow (see :func:`_candidates`). Common words hardly move a BM25 score anyway, and this keeps
a search at 100 000 memories within milliseconds (``benchmarks/memory_retrieval.py``).

Every method runs its SQL in a worker thread (:func:`asyncio.to_thread`) in one short
transaction, and returns plain frozen dataclasses.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, Literal, cast, get_args

from sqlalchemy import Connection, Engine, Row, text

from purpose_desktop.engine.memory import (
    Experience,
    Heuristic,
    HeuristicSource,
    ScoreAnchor,
    Tier,
)
from purpose_desktop.store.database import is_configured, reading, writing
from purpose_desktop.store.full_text import FullTextIndex
from purpose_desktop.store.memory_tables import ANCHORS_FTS, EXPERIENCES_FTS, HEURISTICS_FTS

Outcome = Literal["completed", "failed", "cancelled"]

#: At most this many words of a query are searched for; the rest are ignored.
MAX_QUERY_TERMS = 24
MIN_CANDIDATES = 20
#: A word found in this many memories (of all teams) is too common to pick candidates by...
COMMON_DOCUMENTS = 2000
#: ... and the rarer words together may match at most this many (see _candidates).
BM25_BUDGET = 6000

# Words too common to tell one memory from another. Kept short: the porter stemmer and BM25's
# inverse document frequency already weigh frequent words down.
STOP_WORDS = frozenset(
    {
        "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as",
        "at", "be", "been", "before", "being", "both", "but", "by", "can", "could", "did", "do",
        "does", "doing", "done", "down", "during", "each", "few", "for", "from", "further", "had",
        "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if",
        "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "no",
        "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours",
        "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that",
        "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those",
        "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what",
        "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you",
        "your", "yours",
    }
)

# What unicode61 treats as a token: letters, digits and private-use characters; "_" separates.
_WORD = re.compile(r"[^\W_]+")
_OUTCOMES = frozenset(get_args(Outcome))
_SOURCES = frozenset(get_args(HeuristicSource))


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
    terms = query_terms(text) if isinstance(text, str) else text
    # Words hold no double quotes, so quoting needs no escaping.
    return " OR ".join(f'"{term}"' for term in terms)


def candidate_count(limit: int) -> int:
    """How many of the most similar memories the Q-value ordering chooses ``limit`` from."""
    return max(4 * limit, MIN_CANDIDATES)


class SqliteMemoryStore:
    """:class:`~purpose_desktop.engine.memory.MemoryStore` on a database opened with
    :func:`~purpose_desktop.store.database.open_database` and set up with
    :func:`~purpose_desktop.store.migrations.migrate`.

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
        unique = tuple(dict.fromkeys(ids))
        if unique:
            await asyncio.to_thread(
                self._update_heuristics, unique, reward, success, alpha, run_id
            )

    async def list_heuristics(
        self, team: str, *, offset: int = 0, limit: int = 100
    ) -> list[Heuristic]:
        """A page of the team's heuristics: pinned first, then by Q-value, then oldest first."""
        return await asyncio.to_thread(self._list_heuristics, team, offset, limit)

    async def delete_heuristic(self, heuristic_id: int) -> bool:
        """Forget a heuristic (and which runs used it); ``False`` if it was not stored."""
        return await asyncio.to_thread(self._delete_heuristic, heuristic_id)

    async def set_pinned(self, heuristic_id: int, pinned: bool) -> bool:
        """Pin or unpin a heuristic; ``False`` if it was not stored."""
        return await asyncio.to_thread(self._set_pinned, heuristic_id, pinned)

    # --- experiences ---------------------------------------------------------

    async def find_experiences(self, team: str, query: str, *, limit: int = 3) -> list[Experience]:
        return await asyncio.to_thread(self._find_experiences, team, query, limit)

    async def add_experience(self, experience: Experience) -> Experience:
        return await asyncio.to_thread(self._add_experience, experience)

    async def add_experiences(self, experiences: Iterable[Experience]) -> int:
        """Store many experiences in one transaction; returns how many."""
        return await asyncio.to_thread(self._add_experiences, list(experiences))

    async def count_experiences(self, team: str) -> int:
        return await asyncio.to_thread(self._count_experiences, team)

    # --- score anchors -------------------------------------------------------

    async def find_anchors(self, team: str, query: str, *, limit: int = 5) -> list[ScoreAnchor]:
        """Anchors whose task or state resembles ``query``, most similar first; the newest
        first when the query has no searchable words."""
        return await asyncio.to_thread(self._find_anchors, team, query, limit)

    async def add_anchor(self, anchor: ScoreAnchor) -> ScoreAnchor:
        return await asyncio.to_thread(self._add_anchor, anchor)

    # --- blocking implementations -------------------------------------------

    def _find_heuristics(
        self, team: str, query: str, tiers: tuple[Tier, ...], limit: int
    ) -> list[Heuristic]:
        if limit <= 0:
            return []
        params: dict[str, Any] = {"team": team, "limit": limit}
        tier_filter = ""
        if tiers:
            names = [f"tier{i}" for i in range(len(tiers))]
            tier_filter = f"AND t.tier IN ({', '.join(':' + n for n in names)})"
            params.update({n: Tier(t).value for n, t in zip(names, tiers, strict=True)})
        terms = query_terms(query)
        with reading(self._engine) as connection:
            if not terms:
                rows = connection.execute(
                    text(
                        f"SELECT * FROM heuristics AS t WHERE t.team = :team {tier_filter} "
                        "ORDER BY t.pinned DESC, t.q_value DESC, t.id LIMIT :limit"
                    ),
                    params,
                ).all()
                return _heuristics(connection, rows)
            found = _candidates(
                connection,
                HEURISTICS_FTS,
                terms,
                count=candidate_count(limit),
                params=params,
                where=tier_filter,
            )
            similarity = {heuristic_id: rank for rank, heuristic_id in enumerate(found)}
            rows = sorted(
                _rows(connection, "heuristics", found),
                key=lambda r: (-r.pinned, -r.q_value, similarity[r.id]),
            )[:limit]
            return _heuristics(connection, rows)

    def _list_heuristics(self, team: str, offset: int, limit: int) -> list[Heuristic]:
        with reading(self._engine) as connection:
            rows = connection.execute(
                text(
                    "SELECT * FROM heuristics WHERE team = :team "
                    "ORDER BY pinned DESC, q_value DESC, id LIMIT :limit OFFSET :offset"
                ),
                {"team": team, "limit": max(limit, 0), "offset": max(offset, 0)},
            ).all()
            return _heuristics(connection, rows)

    def _add_heuristic(self, heuristic: Heuristic) -> Heuristic:
        if heuristic.source not in _SOURCES:
            raise ValueError(f"unknown heuristic source {heuristic.source!r}")
        key = {
            "team": heuristic.team,
            "tier": Tier(heuristic.tier).value,
            "pattern": heuristic.pattern,
            "strategy": heuristic.strategy,
        }
        with writing(self._engine) as connection:
            existing = connection.execute(
                text(
                    "SELECT * FROM heuristics WHERE team = :team AND tier = :tier "
                    "AND pattern = :pattern AND strategy = :strategy"
                ),
                key,
            ).all()
            if existing:
                return _heuristics(connection, existing)[0]
            new_id = connection.execute(
                text(
                    "INSERT INTO heuristics (team, tier, pattern, strategy, q_value, uses, "
                    "successes, source, pinned, created_at) VALUES (:team, :tier, :pattern, "
                    ":strategy, :q_value, :uses, :successes, :source, :pinned, :created_at) "
                    "RETURNING id"
                ),
                {
                    **key,
                    "q_value": heuristic.q_value,
                    "uses": heuristic.uses,
                    "successes": heuristic.successes,
                    "source": heuristic.source,
                    "pinned": heuristic.pinned,
                    "created_at": time.time(),
                },
            ).scalar_one()
            run_ids = tuple(dict.fromkeys(heuristic.run_ids))
            if run_ids:
                connection.execute(
                    text("INSERT INTO heuristic_runs (heuristic_id, run_id) VALUES (:h, :r)"),
                    [{"h": new_id, "r": run_id} for run_id in run_ids],
                )
        return replace(heuristic, tier=Tier(heuristic.tier), run_ids=run_ids, id=int(new_id))

    def _update_heuristics(
        self, ids: tuple[int, ...], reward: float, success: bool, alpha: float, run_id: str
    ) -> None:
        rows = [
            {"id": i, "alpha": alpha, "reward": reward, "success": int(success), "run": run_id}
            for i in ids
        ]
        with writing(self._engine) as connection:
            connection.execute(
                text(
                    "UPDATE heuristics SET q_value = q_value + :alpha * (:reward - q_value), "
                    "uses = uses + 1, successes = successes + :success WHERE id = :id"
                ),
                rows,
            )
            connection.execute(
                text(
                    "INSERT OR IGNORE INTO heuristic_runs (heuristic_id, run_id) "
                    "SELECT id, :run FROM heuristics WHERE id = :id"
                ),
                rows,
            )

    def _delete_heuristic(self, heuristic_id: int) -> bool:
        with writing(self._engine) as connection:
            result = connection.execute(
                text("DELETE FROM heuristics WHERE id = :id"), {"id": heuristic_id}
            )
            return bool(result.rowcount)

    def _set_pinned(self, heuristic_id: int, pinned: bool) -> bool:
        with writing(self._engine) as connection:
            result = connection.execute(
                text("UPDATE heuristics SET pinned = :pinned WHERE id = :id"),
                {"id": heuristic_id, "pinned": pinned},
            )
            return bool(result.rowcount)

    def _find_experiences(self, team: str, query: str, limit: int) -> list[Experience]:
        rows = self._search(
            "experiences", EXPERIENCES_FTS, team, query, limit,
            newest_first="q_value DESC, id DESC", candidates=candidate_count(limit),
            # Q-value orders the candidates; similarity breaks ties.
            order=lambda row, rank: (-row.q_value, rank),
        )
        return [_experience(row) for row in rows]

    def _search(
        self,
        table: str,
        fts: FullTextIndex,
        team: str,
        query: str,
        limit: int,
        *,
        newest_first: str,
        candidates: int,
        order: Callable[[Row[Any], int], Any],
    ) -> Sequence[Row[Any]]:
        """Two-phase search: full-text candidates, then ``order`` (given each row and its
        similarity rank); with no searchable words, the team's rows by ``newest_first``."""
        if limit <= 0:
            return []
        terms = query_terms(query)
        params: dict[str, Any] = {"team": team, "limit": limit}
        with reading(self._engine) as connection:
            if not terms:
                return connection.execute(
                    text(f"SELECT * FROM {table} WHERE team = :team "
                         f"ORDER BY {newest_first} LIMIT :limit"),
                    params,
                ).all()
            found = _candidates(connection, fts, terms, count=candidates, params=params)
            rank = {row_id: index for index, row_id in enumerate(found)}
            rows = _rows(connection, table, found)
        return sorted(rows, key=lambda row: order(row, rank[row.id]))[:limit]

    def _add_experience(self, experience: Experience) -> Experience:
        with writing(self._engine) as connection:
            new_id = connection.execute(
                text(f"{_INSERT_EXPERIENCE} RETURNING id"), _experience_params(experience)
            ).scalar_one()
        return replace(experience, id=int(new_id))

    def _add_experiences(self, experiences: list[Experience]) -> int:
        if not experiences:
            return 0
        params = [_experience_params(e) for e in experiences]
        with writing(self._engine) as connection:
            connection.execute(text(_INSERT_EXPERIENCE), params)
        return len(params)

    def _count_experiences(self, team: str) -> int:
        with reading(self._engine) as connection:
            count = connection.execute(
                text("SELECT count(*) FROM experiences WHERE team = :team"), {"team": team}
            ).scalar_one()
        return int(count)

    def _find_anchors(self, team: str, query: str, limit: int) -> list[ScoreAnchor]:
        rows = self._search(
            "score_anchors", ANCHORS_FTS, team, query, limit,
            newest_first="id DESC", candidates=limit, order=lambda row, rank: rank,
        )
        return [_anchor(row) for row in rows]

    def _add_anchor(self, anchor: ScoreAnchor) -> ScoreAnchor:
        with writing(self._engine) as connection:
            new_id = connection.execute(
                text(
                    "INSERT INTO score_anchors (team, task, state, critic_score, human_score, "
                    "reason, run_id, created_at) VALUES (:team, :task, :state, :critic_score, "
                    ":human_score, :reason, :run_id, :created_at) RETURNING id"
                ),
                {
                    "team": anchor.team,
                    "task": anchor.task,
                    "state": anchor.state,
                    "critic_score": anchor.critic_score,
                    "human_score": anchor.human_score,
                    "reason": anchor.reason,
                    "run_id": anchor.run_id,
                    "created_at": time.time(),
                },
            ).scalar_one()
        return replace(anchor, id=int(new_id))

_INSERT_EXPERIENCE = (
    "INSERT INTO experiences (team, task, summary, outcome, final_phi, steps, run_id, q_value, "
    "created_at) VALUES (:team, :task, :summary, :outcome, :final_phi, :steps, :run_id, "
    ":q_value, :created_at)"
)


def _experience_params(experience: Experience) -> dict[str, Any]:
    if experience.outcome not in _OUTCOMES:
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
    terms: Sequence[str],
    *,
    count: int,
    params: dict[str, Any],
    where: str = "",
) -> list[int]:
    """Ids of up to ``count`` of the team's rows that contain some of ``terms``, the most
    similar first (phase one of a search).

    BM25 costs time in proportion to how many rows contain each word, and a word that most
    rows contain hardly moves the score. So the rarer words are ranked by BM25 (the rarest
    first, while they match at most :data:`BM25_BUDGET` rows); if they leave room, the newest
    rows with the other, common words follow. ``where`` filters the rows, as ``t``, further.
    """
    fts_table, table = fts.name, fts.table
    frequencies = _document_frequencies(connection, fts_table, terms)
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
    matching = (
        f"FROM {fts_table} CROSS JOIN {table} AS t ON t.id = {fts_table}.rowid "
        f"WHERE {fts_table} MATCH :match AND t.team = :team {where}"
    )
    found: list[int] = []
    if rare:
        found = list(
            connection.execute(
                text(f"SELECT t.id {matching} ORDER BY bm25({fts_table}) LIMIT :count"),
                {**params, "match": fts_query(rare), "count": count},
            ).scalars()
        )
    if common and len(found) < count:
        seen = set(found)
        newest = connection.execute(
            text(f"SELECT t.id {matching} ORDER BY {fts_table}.rowid DESC LIMIT :count"),
            {**params, "match": fts_query(common), "count": count + len(found)},
        ).scalars()
        found += [row_id for row_id in newest if row_id not in seen][: count - len(found)]
    return found


def _document_frequencies(
    connection: Connection, fts_table: str, terms: Sequence[str]
) -> dict[str, int]:
    """In how many rows each term occurs, counted up to :data:`COMMON_DOCUMENTS` (cheap: a
    count stops there)."""
    counts = ", ".join(
        f"(SELECT count(*) FROM (SELECT 1 FROM {fts_table} WHERE {fts_table} MATCH :t{i} "
        "LIMIT :cap))"
        for i in range(len(terms))
    )
    params: dict[str, Any] = {f"t{i}": fts_query([term]) for i, term in enumerate(terms)}
    row = connection.execute(text(f"SELECT {counts}"), {**params, "cap": COMMON_DOCUMENTS}).one()
    return {term: int(row[i]) for i, term in enumerate(terms)}


def _rows(connection: Connection, table: str, ids: Sequence[int]) -> Sequence[Row[Any]]:
    if not ids:
        return []
    return connection.execute(
        text(f"SELECT * FROM {table} WHERE id IN (SELECT value FROM json_each(:ids))"),
        {"ids": json.dumps(list(ids))},
    ).all()


def _heuristics(connection: Connection, rows: Sequence[Row[Any]]) -> list[Heuristic]:
    """Heuristics from ``heuristics`` rows, in their order, with the runs that used each."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    runs: dict[int, list[str]] = {i: [] for i in ids}
    for heuristic_id, run_id in connection.execute(
        text(
            "SELECT heuristic_id, run_id FROM heuristic_runs "
            "WHERE heuristic_id IN (SELECT value FROM json_each(:ids)) ORDER BY id"
        ),
        {"ids": json.dumps(ids)},
    ):
        runs[heuristic_id].append(run_id)
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
