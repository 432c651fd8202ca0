"""Sessions, check-ins, wrong-code counters, notes and the leader rotation."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from storage.database import Database
from storage.ledger import append_sync


@dataclass(frozen=True)
class SessionRow:
    id: int
    branch_id: int
    group_id: int | None
    topic: str
    starts_at: int
    ends_at: int
    leader_id: int
    creator_id: int
    code: str | None
    state: str
    created_at: int
    kind: str = "导学"
    capacity: int | None = None  # places, for kinds with sign-up
    signup_deadline: int | None = None  # NULL: sign-up closes at the start
    place: str | None = None
    code_secret: str | None = None  # rotating code (TOTP); NULL: ``code`` is fixed, or none
    screen_token: str | None = None  # opens the screen page (投屏页) during check-in
    leader_absent_by: int | None = None  # an admin said the leader was not there

    @property
    def has_code(self) -> bool:
        """Whether check-in needs a code (rotating, or a fixed one from before rotation)."""
        return self.code_secret is not None or self.code is not None

    @property
    def label(self) -> str:
        """How the activity is named in replies: ``导学 #3``, ``微分享 #7``."""
        return f"{self.kind} #{self.id}"


@dataclass(frozen=True)
class CheckinRow:
    session_id: int
    user_id: int
    at: int
    method: str
    operator_id: int | None
    reason: str | None


SESSION_COLUMNS = _S = (
    "id, branch_id, group_id, topic, starts_at, ends_at, leader_id, creator_id, code, state, "
    "created_at, kind, capacity, signup_deadline, place, code_secret, screen_token, "
    "leader_absent_by"
)


class SessionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, *, branch_id: int, group_id: int | None, topic: str, starts_at: int,
                     ends_at: int, leader_id: int, creator_id: int, code: str | None,
                     now: int, kind: str = "导学", capacity: int | None = None,
                     signup_deadline: int | None = None, place: str | None = None) -> int:
        cur = await self.db.execute(
            "INSERT INTO sessions (branch_id, group_id, topic, starts_at, ends_at, leader_id, "
            "creator_id, code, created_at, kind, capacity, signup_deadline, place) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (branch_id, group_id, topic, starts_at, ends_at, leader_id, creator_id, code, now,
             kind, capacity, signup_deadline, place),
        )
        return cur.lastrowid

    async def set_rotating_code(self, session_id: int, code_secret: str | None,
                                screen_token: str) -> None:
        """Give a new session its code secret (None: no code) and screen-page token."""
        await self.db.execute(
            "UPDATE sessions SET code = NULL, code_secret = ?, screen_token = ? WHERE id = ?",
            (code_secret, screen_token, session_id),
        )

    async def by_screen_token(self, token: str) -> SessionRow | None:
        row = await self.db.fetchone(f"SELECT {_S} FROM sessions WHERE screen_token = ?",
                                     (token,))
        return SessionRow(**dict(row)) if row else None

    async def branches_of(self, user_id: int) -> list[int]:
        """The branches where ``user_id`` has an active profile."""
        rows = await self.db.fetchall(
            "SELECT branch_id FROM members WHERE user_id = ? AND active = 1 ORDER BY branch_id",
            (user_id,),
        )
        return [r[0] for r in rows]

    async def get_many(self, session_ids: list[int]) -> list[SessionRow]:
        """The sessions of ``session_ids`` that exist, in that order."""
        if not session_ids:
            return []
        marks = ",".join("?" * len(session_ids))
        rows = await self.db.fetchall(f"SELECT {_S} FROM sessions WHERE id IN ({marks})",
                                      session_ids)
        by_id = {r["id"]: SessionRow(**dict(r)) for r in rows}
        return [by_id[i] for i in session_ids if i in by_id]

    async def get(self, session_id: int, branch_id: int | None = None) -> SessionRow | None:
        sql = f"SELECT {_S} FROM sessions WHERE id = ?"
        params: list = [session_id]
        if branch_id is not None:
            sql += " AND branch_id = ?"
            params.append(branch_id)
        row = await self.db.fetchone(sql, params)
        return SessionRow(**dict(row)) if row else None

    async def between(self, branch_id: int, since: int, until: int, limit: int,
                      kind: str | None = None) -> list[SessionRow]:
        """Activities starting in [since, until), of one ``kind`` or (None) of every kind."""
        rows = await self.db.fetchall(
            f"SELECT {_S} FROM sessions WHERE branch_id = ? AND starts_at >= ? AND starts_at < ? "
            "AND (? IS NULL OR kind = ?) ORDER BY starts_at, id LIMIT ?",
            (branch_id, since, until, kind, kind, limit),
        )
        return [SessionRow(**dict(r)) for r in rows]

    async def pending_jobs(self, since: int) -> list[SessionRow]:
        """Scheduled sessions (any branch) whose check-in has not closed long before ``since``."""
        rows = await self.db.fetchall(
            f"SELECT {_S} FROM sessions WHERE state = 'scheduled' AND ends_at >= ? ORDER BY id",
            (since,),
        )
        return [SessionRow(**dict(r)) for r in rows]

    async def cancel(self, session_id: int, now: int) -> bool:
        cur = await self.db.execute(
            "UPDATE sessions SET state = 'cancelled', cancelled_at = ? "
            "WHERE id = ? AND state = 'scheduled'",
            (now, session_id),
        )
        return cur.rowcount == 1

    async def mark_leader_absent(self, session_id: int, by: int, now: int) -> bool:
        """Record that the leader was not there; False if they have checked in meanwhile."""
        cur = await self.db.execute(
            "UPDATE sessions SET leader_absent_by = ?, leader_absent_at = ? WHERE id = ? "
            "AND NOT EXISTS (SELECT 1 FROM checkins c WHERE c.session_id = sessions.id "
            "AND c.user_id = sessions.leader_id)",
            (by, now, session_id),
        )
        return cur.rowcount == 1

    # check-ins ---------------------------------------------------------------------------

    async def attempt_checkin(self, session_id: int, user_id: int, now: int, method: str,
                              decide: Callable[[int | None, int], str], points: dict,
                              operator_id: int | None = None,
                              reason: str | None = None) -> tuple[str, int | None, int]:
        """Read this person's state, let ``decide(checked_at, wrong_count)`` rule, and act,
        atomically in one database call.

        ``decide`` returns "record" (insert the check-in and its ledger entry, ``points``
        being append_sync's keywords), "wrong" (count a wrong code) or any other word (change
        nothing). Returns (decision, check-in time or None, wrong-code count after).
        """

        def work(conn: sqlite3.Connection) -> tuple[str, int | None, int]:
            checked_at, wrong = conn.execute(
                "SELECT (SELECT at FROM checkins WHERE session_id = :s AND user_id = :u), "
                "(SELECT wrong_count FROM checkin_failures WHERE session_id = :s "
                "AND user_id = :u)",
                {"s": session_id, "u": user_id},
            ).fetchone()
            wrong = wrong or 0
            decision = decide(checked_at, wrong)
            if decision == "record":
                conn.execute(
                    "INSERT INTO checkins (session_id, user_id, at, method, operator_id, reason) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (session_id, user_id, now, method, operator_id, reason),
                )
                append_sync(conn, **points)
                return decision, now, wrong
            if decision == "wrong":
                conn.execute(
                    "INSERT INTO checkin_failures (session_id, user_id, wrong_count) "
                    "VALUES (?, ?, 1) ON CONFLICT(session_id, user_id) "
                    "DO UPDATE SET wrong_count = wrong_count + 1",
                    (session_id, user_id),
                )
                return decision, checked_at, wrong + 1
            return decision, checked_at, wrong

        return await self.db.run_atomic(work)

    async def open_or_upcoming(self, branch_id: int, closes_after: int,
                               after: int) -> list[SessionRow]:
        """Scheduled sessions of the branch whose check-in closes at or after ``closes_after``."""
        rows = await self.db.fetchall(
            f"SELECT {_S} FROM sessions WHERE branch_id = ? AND state = 'scheduled' "
            "AND ends_at + ? >= ? ORDER BY starts_at, id",
            (branch_id, after, closes_after),
        )
        return [SessionRow(**dict(r)) for r in rows]

    async def checkins(self, session_id: int) -> list[CheckinRow]:
        rows = await self.db.fetchall(
            "SELECT session_id, user_id, at, method, operator_id, reason FROM checkins "
            "WHERE session_id = ? ORDER BY at, user_id",
            (session_id,),
        )
        return [CheckinRow(**dict(r)) for r in rows]

    async def attendees_of(self, session_ids: list[int]) -> dict[int, set[int]]:
        """Who checked in to each of several sessions, in one query."""
        found: dict[int, set[int]] = {sid: set() for sid in session_ids}
        if not session_ids:
            return found
        marks = ",".join("?" * len(session_ids))
        for session_id, user_id in await self.db.fetchall(
                f"SELECT session_id, user_id FROM checkins WHERE session_id IN ({marks})",
                session_ids):
            found[session_id].add(user_id)
        return found

    async def checkin_counts(self, session_ids: list[int]) -> dict[int, int]:
        if not session_ids:
            return {}
        marks = ",".join("?" * len(session_ids))
        rows = await self.db.fetchall(
            f"SELECT session_id, COUNT(*) FROM checkins WHERE session_id IN ({marks}) "
            "GROUP BY session_id",
            session_ids,
        )
        return {r[0]: r[1] for r in rows}

    async def wrong_count(self, session_id: int, user_id: int) -> int:
        return await self.db.fetchval(
            "SELECT wrong_count FROM checkin_failures WHERE session_id = ? AND user_id = ?",
            (session_id, user_id), default=0,
        )

    async def latest_attended(self, branch_id: int, user_id: int,
                              ended_after: int) -> SessionRow | None:
        row = await self.db.fetchone(
            f"SELECT {', '.join('s.' + c.strip() for c in _S.split(','))} FROM sessions s "
            "JOIN checkins c ON c.session_id = s.id AND c.user_id = ? "
            "WHERE s.branch_id = ? AND s.state = 'scheduled' AND s.ends_at >= ? "
            "AND s.kind = '导学' ORDER BY s.starts_at DESC, s.id DESC LIMIT 1",
            (user_id, branch_id, ended_after),
        )
        return SessionRow(**dict(row)) if row else None

    # notes -------------------------------------------------------------------------------

    async def add_note(self, session_id: int, branch_id: int, user_id: int, content: str,
                       now: int) -> int | None:
        cur = await self.db.execute(
            "INSERT INTO notes (session_id, branch_id, user_id, content, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(session_id, user_id) DO NOTHING",
            (session_id, branch_id, user_id, content, now),
        )
        return cur.lastrowid if cur.rowcount == 1 else None

    async def note_count(self, session_id: int) -> int:
        return await self.db.fetchval(
            "SELECT COUNT(*) FROM notes WHERE session_id = ?", (session_id,), default=0
        )

    # rotation ----------------------------------------------------------------------------

    async def rotation(self, branch_id: int) -> tuple[list[int], int]:
        row = await self.db.fetchone(
            "SELECT members, next_index FROM rotations WHERE branch_id = ?", (branch_id,)
        )
        if row is None:
            return [], 0
        return json.loads(row[0]), row[1]

    async def set_rotation(self, branch_id: int, members: list[int], next_index: int,
                           now: int) -> None:
        await self.db.execute(
            "INSERT INTO rotations (branch_id, members, next_index, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(branch_id) DO UPDATE SET members = excluded.members, "
            "next_index = excluded.next_index, updated_at = excluded.updated_at",
            (branch_id, json.dumps(members), next_index, now),
        )
