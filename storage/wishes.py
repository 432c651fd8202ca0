"""Wishes and their history. State changes are conditional updates, so races resolve in SQL."""

from __future__ import annotations

from collections.abc import Iterable

from domain.models import Wish, WishEvent, WishState
from storage.database import Database

_COLUMNS = (
    "id, branch_id, group_id, wisher_id, content, state, claimer_id, claimed_at, done_at, "
    "done_note, rating, rating_comment, completed_at, auto_completed, ended_at, end_reason, "
    "created_at"
)
_SETTABLE = {
    "claimer_id", "claimed_at", "done_at", "done_note", "rating", "rating_comment",
    "completed_at", "auto_completed", "ended_at", "end_reason",
}


OF_WISHER_SQL = (
    f"SELECT {_COLUMNS} FROM wishes WHERE branch_id = ? AND wisher_id = ? "
    "ORDER BY state NOT IN ('open','claimed','awaiting_rating'), id DESC LIMIT ?"
)
OF_CLAIMER_SQL = (
    f"SELECT {_COLUMNS} FROM wishes WHERE branch_id = ? AND claimer_id = ? "
    "AND state IN ('claimed', 'awaiting_rating', 'completed') "
    "ORDER BY state = 'completed', id DESC LIMIT ?"
)


def wishes_of_sync(conn, branch_id: int, user_id: int, limit: int
                   ) -> tuple[list[Wish], list[Wish]]:
    """(wishes posted, wishes claimed) by one person, in one database trip."""
    return ([_wish(r) for r in conn.execute(OF_WISHER_SQL, (branch_id, user_id, limit))],
            [_wish(r) for r in conn.execute(OF_CLAIMER_SQL, (branch_id, user_id, limit))])


def _wish(row) -> Wish:
    data = dict(row)
    data["state"] = WishState(data["state"])
    data["auto_completed"] = bool(data["auto_completed"])
    return Wish(**data)


def _marks(values: Iterable) -> str:
    return ",".join("?" for _ in values)


class WishRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, branch_id: int, group_id: int | None, wisher_id: int, content: str,
                     now: int) -> int:
        cur = await self.db.execute(
            "INSERT INTO wishes (branch_id, group_id, wisher_id, content, state, created_at) "
            "VALUES (?, ?, ?, ?, 'open', ?)",
            (branch_id, group_id, wisher_id, content, now),
        )
        return cur.lastrowid

    async def get(self, branch_id: int, wish_id: int) -> Wish | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM wishes WHERE id = ? AND branch_id = ?", (wish_id, branch_id)
        )
        return _wish(row) if row else None

    async def claim(self, branch_id: int, wish_id: int, claimer_id: int, max_claims: int,
                    now: int) -> bool:
        """Claim atomically: only an open wish, only while the claimer is under the limit."""
        cur = await self.db.execute(
            "UPDATE wishes SET state = 'claimed', claimer_id = :u, claimed_at = :now "
            "WHERE id = :w AND branch_id = :b AND state = 'open' AND wisher_id != :u "
            "AND (SELECT COUNT(*) FROM wishes WHERE branch_id = :b AND claimer_id = :u "
            "     AND state = 'claimed') < :max",
            {"u": claimer_id, "now": now, "w": wish_id, "b": branch_id, "max": max_claims},
        )
        return cur.rowcount == 1

    async def transition(self, wish_id: int, expected: Iterable[WishState], new: WishState,
                         **fields) -> bool:
        """Move ``wish_id`` to ``new`` if it is still in one of ``expected``; True if it moved."""
        unknown = set(fields) - _SETTABLE
        if unknown:
            raise ValueError(f"cannot set {unknown}")
        expected = [s.value for s in expected]
        sets = "".join(f", {col} = ?" for col in fields)
        cur = await self.db.execute(
            f"UPDATE wishes SET state = ?{sets} WHERE id = ? AND state IN ({_marks(expected)})",
            [new.value, *fields.values(), wish_id, *expected],
        )
        return cur.rowcount == 1

    async def list_in_states(self, branch_id: int, states: Iterable[WishState], *, limit: int,
                             offset: int = 0) -> tuple[list[Wish], int]:
        states = [s.value for s in states]
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM wishes WHERE branch_id = ? AND state IN ({_marks(states)}) "
            "ORDER BY id LIMIT ? OFFSET ?",
            [branch_id, *states, limit, offset],
        )
        total = await self.db.fetchval(
            f"SELECT COUNT(*) FROM wishes WHERE branch_id = ? AND state IN ({_marks(states)})",
            [branch_id, *states], default=0,
        )
        return [_wish(r) for r in rows], total

    async def of_wisher(self, branch_id: int, user_id: int, limit: int) -> list[Wish]:
        rows = await self.db.fetchall(OF_WISHER_SQL, (branch_id, user_id, limit))
        return [_wish(r) for r in rows]

    async def of_claimer(self, branch_id: int, user_id: int, limit: int) -> list[Wish]:
        rows = await self.db.fetchall(OF_CLAIMER_SQL, (branch_id, user_id, limit))
        return [_wish(r) for r in rows]

    async def awaiting_rating_since(self, before: int) -> list[Wish]:
        """Wishes in every branch marked served at or before ``before`` and still unrated."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM wishes WHERE state = 'awaiting_rating' AND done_at <= ? "
            "ORDER BY id",
            (before,),
        )
        return [_wish(r) for r in rows]

    async def open_since(self, branch_id: int, before: int) -> list[Wish]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM wishes WHERE branch_id = ? AND state = 'open' "
            "AND created_at <= ? ORDER BY id",
            (branch_id, before),
        )
        return [_wish(r) for r in rows]

    async def add_event(self, wish_id: int, actor_id: int | None, action: str, note: str | None,
                        now: int) -> None:
        await self.db.execute(
            "INSERT INTO wish_events (wish_id, actor_id, action, note, at) VALUES (?, ?, ?, ?, ?)",
            (wish_id, actor_id, action, note, now),
        )

    async def events(self, wish_id: int) -> list[WishEvent]:
        rows = await self.db.fetchall(
            "SELECT wish_id, actor_id, action, note, at FROM wish_events WHERE wish_id = ? "
            "ORDER BY id",
            (wish_id,),
        )
        return [WishEvent(**dict(r)) for r in rows]

    async def counts_by_state(self, branch_id: int, since: int | None = None,
                              until: int | None = None) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT state, COUNT(*) FROM wishes WHERE branch_id = ? "
            "AND created_at >= COALESCE(?, created_at) AND created_at < COALESCE(?, 1e18) "
            "GROUP BY state",
            (branch_id, since, until),
        )
        return {r[0]: r[1] for r in rows}

    async def count_claims(self, branch_id: int, user_id: int) -> int:
        return await self.db.fetchval(
            "SELECT COUNT(*) FROM wishes WHERE branch_id = ? AND claimer_id = ? "
            "AND state = 'claimed'",
            (branch_id, user_id), default=0,
        )

    # matching wishes to members' skills ----------------------------------------------------

    async def match_candidates(self, branch_id: int, identities: Iterable[str], wisher_id: int,
                               max_claims: int) -> list[dict]:
        """Active members with skills and matching on, of one of ``identities``, other than
        the wisher and under the claim limit: user_id, floor, skills, open_claims."""
        identities = list(identities)
        if not identities:
            return []
        rows = await self.db.fetchall(
            "SELECT user_id, floor, skills, open_claims FROM (SELECT m.user_id, m.floor, "
            "m.skills, (SELECT COUNT(*) FROM wishes w WHERE w.branch_id = m.branch_id "
            "  AND w.claimer_id = m.user_id AND w.state = 'claimed') AS open_claims "
            "FROM members m WHERE m.branch_id = ? AND m.active = 1 AND m.matching = 1 "
            f"AND m.skills != '' AND m.user_id != ? AND m.identity IN ({_marks(identities)})) "
            "WHERE open_claims < ? ORDER BY user_id",
            [branch_id, wisher_id, *identities, max_claims])
        return [dict(r) for r in rows]

    async def add_match(self, wish_id: int, user_id: int, score: int, now: int) -> bool:
        """Record that ``user_id`` was told about ``wish_id``; False if they already were."""
        cur = await self.db.execute(
            "INSERT OR IGNORE INTO wish_matches (wish_id, user_id, score, notified_at) "
            "VALUES (?, ?, ?, ?)", (wish_id, user_id, score, now))
        return cur.rowcount == 1

    async def matched(self, wish_id: int) -> list[int]:
        """Who was told about ``wish_id``, in QQ-number order."""
        rows = await self.db.fetchall(
            "SELECT user_id FROM wish_matches WHERE wish_id = ? ORDER BY user_id", (wish_id,))
        return [r[0] for r in rows]
