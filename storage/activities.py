"""Sign-ups with capacity and waitlist, and leave for meetings (activities are `sessions` rows).

Every change to sign-ups runs as one function in the database thread (``Database.run_atomic``),
so the count of confirmed people, the decision and the write cannot interleave with another
sign-up; the ``signups_capacity_*`` triggers refuse more confirmed rows than places anyway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from storage.database import Database
from storage.sessions import SESSION_COLUMNS, SessionRow


@dataclass(frozen=True)
class SignupRow:
    session_id: int
    user_id: int
    status: str  # confirmed | waitlist | cancelled
    seq: int
    note: str | None
    signed_at: int
    promoted_at: int | None
    cancelled_at: int | None
    late_cancel: bool


@dataclass(frozen=True)
class SignupOutcome:
    status: str  # confirmed | waitlist
    position: int | None  # place on the waitlist, 1-based
    new: bool  # False: was already signed up (nothing changed)


_COLUMNS = ("session_id, user_id, status, seq, note, signed_at, promoted_at, cancelled_at, "
            "late_cancel")


def _row(row) -> SignupRow:
    *first, late_cancel = row  # in the order of _COLUMNS
    return SignupRow(*first, bool(late_cancel))


def _position(conn: sqlite3.Connection, session_id: int, seq: int) -> int:
    return conn.execute(
        "SELECT COUNT(*) FROM signups WHERE session_id = ? AND status = 'waitlist' AND seq <= ?",
        (session_id, seq)).fetchone()[0]


def _confirmed(conn: sqlite3.Connection, session_id: int) -> int:
    return conn.execute("SELECT COUNT(*) FROM signups WHERE session_id = ? AND status = "
                        "'confirmed'", (session_id,)).fetchone()[0]


def _capacity(conn: sqlite3.Connection, session_id: int) -> int | None:
    return conn.execute("SELECT capacity FROM sessions WHERE id = ?", (session_id,)).fetchone()[0]


def sign_up_sync(conn: sqlite3.Connection, session_id: int, user_id: int, note: str | None,
                 now: int, branch_id: int | None = None,
                 check: Callable[[SessionRow | None], None] | None = None) -> SignupOutcome:
    """Confirmed while places last, else on the waitlist; a second sign-up changes nothing.

    ``check`` (the domain's rules) sees the activity row of ``branch_id`` first, in the same
    trip to the database thread, and raises to refuse before anything is written."""
    if check is not None:
        row = conn.execute(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ? AND "
                           "branch_id = ?", (session_id, branch_id)).fetchone()
        check(SessionRow(**dict(row)) if row else None)
    found = conn.execute("SELECT status, seq FROM signups WHERE session_id = ? AND user_id = ?",
                         (session_id, user_id)).fetchone()
    if found is not None and found[0] != "cancelled":
        position = _position(conn, session_id, found[1]) if found[0] == "waitlist" else None
        return SignupOutcome(found[0], position, False)
    capacity = _capacity(conn, session_id)
    status = ("confirmed" if capacity is None or _confirmed(conn, session_id) < capacity
              else "waitlist")
    seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM signups WHERE session_id = ?",
                       (session_id,)).fetchone()[0]
    if found is None:
        conn.execute(
            "INSERT INTO signups (session_id, user_id, status, seq, note, signed_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (session_id, user_id, status, seq, note, now))
    else:  # signing up again after cancelling: to the back of the line
        conn.execute(
            "UPDATE signups SET status = ?, seq = ?, note = ?, signed_at = ?, promoted_at = NULL, "
            "cancelled_at = NULL, late_cancel = 0 WHERE session_id = ? AND user_id = ?",
            (status, seq, note, now, session_id, user_id))
    return SignupOutcome(status, _position(conn, session_id, seq) if status == "waitlist"
                         else None, True)


def promote_sync(conn: sqlite3.Connection, session_id: int, now: int) -> list[int]:
    """Move the first people waiting into free places, in order; returns who moved."""
    capacity = _capacity(conn, session_id)
    free = None if capacity is None else capacity - _confirmed(conn, session_id)
    waiting = conn.execute(
        "SELECT user_id FROM signups WHERE session_id = ? AND status = 'waitlist' ORDER BY seq"
        + ("" if free is None else " LIMIT ?"),
        (session_id,) if free is None else (session_id, max(free, 0))).fetchall()
    moved = [r[0] for r in waiting]
    for user_id in moved:
        conn.execute("UPDATE signups SET status = 'confirmed', promoted_at = ? "
                     "WHERE session_id = ? AND user_id = ?", (now, session_id, user_id))
    return moved


def cancel_sync(conn: sqlite3.Connection, session_id: int, user_id: int, now: int,
                late: bool, promote: bool) -> tuple[str | None, list[int]]:
    """Cancel a sign-up: (the status it had, or None if none; who was promoted into the place,
    if ``promote``)."""
    found = conn.execute("SELECT status FROM signups WHERE session_id = ? AND user_id = ?",
                         (session_id, user_id)).fetchone()
    if found is None or found[0] == "cancelled":
        return None, []
    conn.execute("UPDATE signups SET status = 'cancelled', cancelled_at = ?, late_cancel = ? "
                 "WHERE session_id = ? AND user_id = ?", (now, int(late), session_id, user_id))
    promoted = promote_sync(conn, session_id, now) if found[0] == "confirmed" and promote else []
    return found[0], promoted


def set_capacity_sync(conn: sqlite3.Connection, session_id: int, capacity: int,
                      now: int) -> tuple[int, list[int]]:
    """(confirmed count, promoted); refuses (returns no promotion and leaves the capacity) when
    ``capacity`` is below the people already confirmed."""
    confirmed = _confirmed(conn, session_id)
    if capacity < confirmed:
        return confirmed, []
    conn.execute("UPDATE sessions SET capacity = ? WHERE id = ?", (capacity, session_id))
    return confirmed, promote_sync(conn, session_id, now)


class ActivityRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def signups(self, session_id: int) -> list[SignupRow]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM signups WHERE session_id = ? ORDER BY seq", (session_id,))
        return [_row(r) for r in rows]

    async def signup_of(self, session_id: int, user_id: int) -> SignupRow | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM signups WHERE session_id = ? AND user_id = ?",
            (session_id, user_id))
        return _row(row) if row else None

    async def waitlist_position(self, session_id: int, user_id: int) -> int | None:
        row = await self.db.fetchone(
            "SELECT seq FROM signups WHERE session_id = ? AND user_id = ? AND status = 'waitlist'",
            (session_id, user_id))
        if row is None:
            return None
        return await self.db.fetchval(
            "SELECT COUNT(*) FROM signups WHERE session_id = ? AND status = 'waitlist' "
            "AND seq <= ?", (session_id, row[0]), default=0)

    async def counts(self, session_ids: list[int]) -> dict[int, tuple[int, int]]:
        """(confirmed, waiting) per activity."""
        if not session_ids:
            return {}
        marks = ",".join("?" * len(session_ids))
        rows = await self.db.fetchall(
            "SELECT session_id, SUM(status = 'confirmed'), SUM(status = 'waitlist') FROM signups "
            f"WHERE session_id IN ({marks}) GROUP BY session_id", session_ids)
        return {r[0]: (r[1] or 0, r[2] or 0) for r in rows}

    async def of_user(self, branch_id: int, user_id: int, since: int) -> list[tuple]:
        """(session id, kind, topic, starts_at, status, waitlist position) of active sign-ups."""
        rows = await self.db.fetchall(
            "SELECT s.id, s.kind, s.topic, s.starts_at, g.status, "
            "CASE WHEN g.status = 'waitlist' THEN (SELECT COUNT(*) FROM signups w "
            " WHERE w.session_id = g.session_id AND w.status = 'waitlist' AND w.seq <= g.seq) END "
            "FROM signups g JOIN sessions s ON s.id = g.session_id "
            "WHERE g.user_id = ? AND s.branch_id = ? AND g.status <> 'cancelled' "
            "AND s.state = 'scheduled' AND s.ends_at >= ? ORDER BY s.starts_at, s.id",
            (user_id, branch_id, since))
        return [tuple(r) for r in rows]

    async def add_leave(self, session_id: int, user_id: int, reason: str, now: int) -> bool:
        """Record leave; False if this person already asked for leave for this activity."""
        cur = await self.db.execute(
            "INSERT INTO leaves (session_id, user_id, reason, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(session_id, user_id) DO NOTHING", (session_id, user_id, reason, now))
        return cur.rowcount > 0

    async def leaves(self, session_ids: list[int]) -> dict[int, dict[int, str]]:
        """{session: {person: reason}}."""
        if not session_ids:
            return {}
        marks = ",".join("?" * len(session_ids))
        rows = await self.db.fetchall(
            f"SELECT session_id, user_id, reason FROM leaves WHERE session_id IN ({marks})",
            session_ids)
        found: dict[int, dict[int, str]] = {}
        for session_id, user_id, reason in rows:
            found.setdefault(session_id, {})[user_id] = reason
        return found

    async def all_signups(self, session_ids: list[int]) -> dict[int, list[SignupRow]]:
        if not session_ids:
            return {}
        marks = ",".join("?" * len(session_ids))
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM signups WHERE session_id IN ({marks}) ORDER BY seq",
            session_ids)
        found: dict[int, list[SignupRow]] = {}
        for r in rows:
            found.setdefault(r["session_id"], []).append(_row(r))
        return found

    async def held_of_kind_between(self, branch_id: int, kind: str, since: int,
                                   until: int) -> list[int]:
        """Start times of the activities of ``kind`` held (not cancelled) in [since, until)."""
        rows = await self.db.fetchall(
            "SELECT starts_at FROM sessions WHERE branch_id = ? AND kind = ? AND state = "
            "'scheduled' AND starts_at >= ? AND starts_at < ?", (branch_id, kind, since, until))
        return [r[0] for r in rows]

    async def held_between(self, branch_id: int, since: int, until: int) -> list[dict]:
        """Activities other than 导学, not cancelled, that started in [since, until)."""
        rows = await self.db.fetchall(
            "SELECT id FROM sessions WHERE branch_id = ? AND kind <> '导学' AND state = "
            "'scheduled' AND starts_at >= ? AND starts_at < ? ORDER BY starts_at, id",
            (branch_id, since, until))
        return [r[0] for r in rows]
