"""Read-only queries behind the branch report and the spreadsheet export."""

from __future__ import annotations

import json

from storage.database import Database
from storage.problems import Targets, missed_target_sql, target_case


def _numbers(joined: str | None) -> list[int]:
    """The integers of a ``group_concat`` (one string instead of thousands of rows), read by
    the JSON parser: a comma-separated list of integers is a JSON array's body."""
    return json.loads(f"[{joined}]") if joined else []


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

    async def held_sessions(self, branch_id: int, since: int, until: int,
                            kind: str | None = "导学") -> list[dict]:
        """Activities of ``kind`` (every kind if None) not cancelled that started in
        [since, until)."""
        rows = await self.db.fetchall(
            "SELECT id, topic, starts_at, ends_at, leader_id, kind, capacity FROM sessions "
            "WHERE branch_id = ? AND state = 'scheduled' AND starts_at >= ? AND starts_at < ? "
            "AND (? IS NULL OR kind = ?) ORDER BY starts_at, id",
            (branch_id, since, until, kind, kind),
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

    async def attendance_counts(self, session_ids: list[int], user_ids: set[int]
                                ) -> dict[int, int]:
        """Per session, how many of ``user_ids`` checked in (counted in the database: a big
        branch's term holds tens of thousands of check-ins)."""
        if not session_ids or not user_ids:
            return {}
        marks = ",".join("?" * len(session_ids))
        rows = await self.db.fetchall(
            # "+user_id": walk each session's check-ins and test the person against the list;
            # seeking every (session, person) pair is ten times slower for a big branch
            f"SELECT session_id, COUNT(*) FROM checkins WHERE session_id IN ({marks}) "
            "AND +user_id IN (SELECT value FROM json_each(?)) GROUP BY session_id",
            [*session_ids, json.dumps(sorted(user_ids))],
        )
        return {r[0]: r[1] for r in rows}

    async def notes(self, session_ids: list[int]) -> list[dict]:
        """The reading notes of these sessions, by session and time."""
        if not session_ids:
            return []
        marks = ",".join("?" * len(session_ids))
        rows = await self.db.fetchall(
            "SELECT id, session_id, user_id, content, created_at FROM notes "
            f"WHERE session_id IN ({marks}) ORDER BY session_id, created_at, id", session_ids)
        return [dict(r) for r in rows]

    async def note_count(self, session_ids: list[int]) -> int:
        if not session_ids:
            return 0
        marks = ",".join("?" * len(session_ids))
        return await self.db.fetchval(
            f"SELECT COUNT(*) FROM notes WHERE session_id IN ({marks})", session_ids, default=0
        )

    # 民情 problems -----------------------------------------------------------------------------

    async def problem_figures(self, branch_id: int, since: int, until: int, targets: Targets,
                              at: int) -> list[dict]:
        """Per category, over problems raised in [since, until), in one pass of a covering
        index: collected, done, closed, rated, satisfied (rating ≥ 4), overdue
        (``missed_target_sql`` at ``at``), and the seconds to the first response (``first``)
        and to the latest 已解决 (``resolution``) of those not closed."""
        late, params = missed_target_sql(targets, at)
        rows = await self.db.fetchall(
            "SELECT category, COUNT(*) AS collected, "
            "COALESCE(SUM(state = 'done'), 0) AS done, "
            "COALESCE(SUM(state = 'closed'), 0) AS closed, "
            "COALESCE(SUM(rating IS NOT NULL), 0) AS rated, "
            "COALESCE(SUM(rating >= 4), 0) AS satisfied, "
            f"COALESCE(SUM({late}), 0) AS overdue, "
            "group_concat(CASE WHEN state != 'closed' AND taken_at IS NOT NULL "
            "  THEN taken_at - raised_at END) AS first, "
            "group_concat(CASE WHEN state != 'closed' AND solved_at IS NOT NULL "
            "  THEN solved_at - raised_at END) AS resolution "
            # the covering index: the figures never touch the table itself
            "FROM problems INDEXED BY ix_problems_branch_raised "
            "WHERE branch_id = ? AND raised_at >= ? AND raised_at < ? GROUP BY category",
            [*params, branch_id, since, until],
        )
        found = []
        for r in rows:
            row = dict(r)
            row["first"] = _numbers(row["first"])
            row["resolution"] = _numbers(row["resolution"])
            found.append(row)
        return found

    async def problem_first_responses(self, branch_id: int, since: int,
                                      until: int) -> dict[str, list[int]]:
        """Per category, the seconds to the first response of the problems raised in
        [since, until) that got one and were not closed."""
        rows = await self.db.fetchall(
            "SELECT category, group_concat(taken_at - raised_at) "
            "FROM problems INDEXED BY ix_problems_branch_raised WHERE branch_id = ? "
            "AND raised_at >= ? AND raised_at < ? AND state != 'closed' "
            "AND taken_at IS NOT NULL GROUP BY category",
            (branch_id, since, until),
        )
        return {r[0]: _numbers(r[1]) for r in rows}

    async def problems(self, branch_id: int, since: int, until: int, targets: Targets,
                       at: int) -> list[dict]:
        """Every column of the problems raised in [since, until), with ``overdue`` as the
        report counts it, for the export."""
        late, params = missed_target_sql(targets, at)
        rows = await self.db.fetchall(
            "SELECT id, group_id, reporter_id, category, content, anonymous, private, state, "
            "handler_id, escalated_to, solution, close_reason, rating, rating_comment, "
            "auto_confirmed, reopen_count, raised_at, taken_at, escalated_at, solved_at, "
            f"done_at, closed_at, {late} AS overdue FROM problems WHERE branch_id = ? "
            "AND raised_at >= ? AND raised_at < ? ORDER BY id",
            [*params, branch_id, since, until],
        )
        return [dict(r) for r in rows]

    # what a cached picture of the report depends on --------------------------------------------

    async def data_version(self, branch_id: int) -> int:
        """The branch's change counter (bumped by triggers on every table the report reads,
        migration 0015); 0 before anything was written."""
        return await self.db.fetchval(
            "SELECT version FROM data_versions WHERE branch_id = ?", (branch_id,), default=0)

    async def next_start(self, branch_id: int, after: int) -> int | None:
        """The first start of a scheduled activity of any kind after ``after``."""
        return await self.db.fetchval(
            "SELECT MIN(starts_at) FROM sessions WHERE branch_id = ? AND state = 'scheduled' "
            "AND starts_at > ?", (branch_id, after))

    async def next_deadline(self, branch_id: int, since: int, until: int, targets: Targets,
                            after: int) -> int | None:
        """The first moment after ``after`` when a problem raised in [since, until) that is not
        closed may miss a target it has not met yet (``missed_target_sql`` changes then)."""
        first, first_params = target_case(targets.first, targets.first_default)
        res, res_params = target_case(targets.resolution, targets.resolution_default)
        found = await self.db.fetchval(
            "SELECT MIN(d) FROM ("
            f"SELECT raised_at + {first} AS d FROM problems WHERE branch_id = ? "
            "AND state != 'closed' AND taken_at IS NULL AND raised_at >= ? AND raised_at < ? "
            f"UNION ALL SELECT raised_at + {res} FROM problems WHERE branch_id = ? "
            "AND state != 'closed' AND solved_at IS NULL AND raised_at >= ? AND raised_at < ?"
            ") WHERE d >= ?",
            [*first_params, branch_id, since, until, *res_params, branch_id, since, until,
             after])
        return None if found is None else int(found) + 1

    # service (服务达标) and wish matching ---------------------------------------------------

    async def wishes_helped(self, branch_id: int, since: int, until: int) -> dict[int, int]:
        """Per helper, wishes of the branch completed (已完成) in [since, until)."""
        rows = await self.db.fetchall(
            "SELECT claimer_id, COUNT(*) FROM wishes WHERE branch_id = ? AND state = 'completed' "
            "AND completed_at >= ? AND completed_at < ? AND claimer_id IS NOT NULL "
            "GROUP BY claimer_id", (branch_id, since, until))
        return {r[0]: r[1] for r in rows}

    async def problems_handled(self, branch_id: int, since: int, until: int) -> dict[int, int]:
        """Per handler, problems of the branch that became 已办结 in [since, until)."""
        rows = await self.db.fetchall(
            "SELECT handler_id, COUNT(*) FROM problems WHERE branch_id = ? AND state = 'done' "
            "AND done_at >= ? AND done_at < ? AND handler_id IS NOT NULL GROUP BY handler_id",
            (branch_id, since, until))
        return {r[0]: r[1] for r in rows}

    async def first_claims(self, branch_id: int, since: int, until: int) -> list[dict]:
        """Of the wishes posted in [since, until) that were claimed: seconds from posting to
        the first claim (``seconds``), and whether its claimer had been told of the wish by
        matching (``notified``)."""
        rows = await self.db.fetchall(
            "SELECT w.id, e.at - w.created_at AS seconds, EXISTS (SELECT 1 FROM wish_matches m "
            "  WHERE m.wish_id = w.id AND m.user_id = e.actor_id) AS notified "
            "FROM wishes w JOIN wish_events e ON e.id = (SELECT MIN(x.id) FROM wish_events x "
            "  WHERE x.wish_id = w.id AND x.action = '认领') "
            "WHERE w.branch_id = ? AND w.created_at >= ? AND w.created_at < ? ORDER BY w.id",
            (branch_id, since, until))
        return [dict(r) for r in rows]
