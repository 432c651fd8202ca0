"""Read-only queries behind the branch report and the spreadsheet export."""

from __future__ import annotations

from storage.database import Database


class ReportRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def wish_figures(self, branch_id: int, since: int, until: int) -> dict[str, int]:
        """Counts over wishes posted in [since, until)."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS posted, "
            "COALESCE(SUM(EXISTS (SELECT 1 FROM wish_events e WHERE e.wish_id = w.id "
            "  AND e.action = '认领')), 0) AS claimed, "
            "COALESCE(SUM(w.state = 'completed'), 0) AS completed, "
            "COALESCE(SUM(w.rating IS NOT NULL), 0) AS rated, "
            "COALESCE(SUM(w.rating >= 4), 0) AS satisfied "
            "FROM wishes w WHERE w.branch_id = ? AND w.created_at >= ? AND w.created_at < ?",
            (branch_id, since, until),
        )
        return dict(row)

    async def wishes(self, branch_id: int, since: int, until: int) -> list[dict]:
        rows = await self.db.fetchall(
            "SELECT id, wisher_id, content, state, claimer_id, rating, rating_comment, "
            "auto_completed, created_at, completed_at FROM wishes WHERE branch_id = ? "
            "AND created_at >= ? AND created_at < ? ORDER BY id",
            (branch_id, since, until),
        )
        return [dict(r) for r in rows]

    async def held_sessions(self, branch_id: int, since: int, until: int) -> list[dict]:
        """Sessions not cancelled that started in [since, until)."""
        rows = await self.db.fetchall(
            "SELECT id, topic, starts_at, ends_at, leader_id FROM sessions WHERE branch_id = ? "
            "AND state = 'scheduled' AND starts_at >= ? AND starts_at < ? ORDER BY starts_at, id",
            (branch_id, since, until),
        )
        return [dict(r) for r in rows]

    async def attendance(self, session_ids: list[int]) -> list[dict]:
        if not session_ids:
            return []
        marks = ",".join("?" * len(session_ids))
        rows = await self.db.fetchall(
            "SELECT session_id, user_id, at, method, operator_id, reason FROM checkins "
            f"WHERE session_id IN ({marks}) ORDER BY session_id, at, user_id",
            session_ids,
        )
        return [dict(r) for r in rows]

    async def attendee_pairs(self, session_ids: list[int]) -> list[tuple[int, int]]:
        """(session, person) of every check-in: all the report needs, cheaply."""
        if not session_ids:
            return []
        marks = ",".join("?" * len(session_ids))
        rows = await self.db.fetchall(
            f"SELECT session_id, user_id FROM checkins WHERE session_id IN ({marks})",
            session_ids,
        )
        return [(r[0], r[1]) for r in rows]

    async def note_count(self, session_ids: list[int]) -> int:
        if not session_ids:
            return 0
        marks = ",".join("?" * len(session_ids))
        return await self.db.fetchval(
            f"SELECT COUNT(*) FROM notes WHERE session_id IN ({marks})", session_ids, default=0
        )
