"""The task list: tasks, one assignment row per person, and their timeline. State changes are
conditional updates, so racing claims and confirmations resolve in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storage.database import Database

_TASK_COLUMNS = ("id, branch_id, group_id, title, target_kind, target, points, due_at, "
                 "remind_at, reminded_at, overdue_at, state, created_by, created_at, ended_at")
_ASSIGNMENT_COLUMNS = ("task_id, user_id, state, claimed, note, done_at, confirmed_at, "
                       "confirmed_by, returns, return_reason, assigned_at")


@dataclass(frozen=True)
class TaskRow:
    id: int
    branch_id: int
    group_id: int | None
    title: str
    target_kind: str  # person / post / floor / all / open
    target: str | None  # the post kind or the floor
    points: int
    due_at: int | None
    remind_at: int | None
    reminded_at: int | None
    overdue_at: int | None
    state: str  # open / done / cancelled
    created_by: int
    created_at: int
    ended_at: int | None


@dataclass(frozen=True)
class AssignmentRow:
    task_id: int
    user_id: int
    state: str  # todo / done / confirmed
    claimed: bool
    note: str | None
    done_at: int | None
    confirmed_at: int | None
    confirmed_by: int | None
    returns: int
    return_reason: str | None
    assigned_at: int


@dataclass(frozen=True)
class TaskEvent:
    task_id: int
    user_id: int | None
    actor_id: int | None
    action: str
    note: str | None
    at: int


def _task(row) -> TaskRow:
    return TaskRow(**dict(row))


def _assignment(row) -> AssignmentRow:
    data = dict(row)
    data["claimed"] = bool(data["claimed"])
    return AssignmentRow(**data)


def _marks(values: Iterable) -> str:
    return ",".join("?" for _ in values)


# Overdue as the report counts it (defined once): a task with a deadline before ``:at`` that
# nobody held by its deadline, or with an assignment not reported done by then (a return
# clears the report, so a task returned and not redone in time counts).
OVERDUE_SQL = (
    "(t.due_at IS NOT NULL AND t.due_at < :at AND (NOT EXISTS (SELECT 1 FROM task_assignments a "
    "  WHERE a.task_id = t.id AND a.assigned_at <= t.due_at) "
    " OR EXISTS (SELECT 1 FROM task_assignments a WHERE a.task_id = t.id "
    "  AND (a.done_at IS NULL OR a.done_at > t.due_at))))"
)


class TaskRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, branch_id: int, group_id: int | None, title: str, target_kind: str,
                     target: str | None, points: int, due_at: int | None, remind_at: int | None,
                     by: int, now: int) -> int:
        cur = await self.db.execute(
            "INSERT INTO tasks (branch_id, group_id, title, target_kind, target, points, due_at, "
            "remind_at, created_by, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (branch_id, group_id, title, target_kind, target, points, due_at, remind_at, by, now))
        return cur.lastrowid

    async def assign(self, task_id: int, user_ids: Iterable[int], now: int) -> None:
        await self.db.executemany(
            "INSERT OR IGNORE INTO task_assignments (task_id, user_id, assigned_at) "
            "VALUES (?, ?, ?)", [(task_id, uid, now) for uid in user_ids])

    async def claim(self, branch_id: int, task_id: int, user_id: int, now: int) -> bool:
        """Take an open-to-claim task: only while it is open and nobody holds it."""
        cur = await self.db.execute(
            "INSERT INTO task_assignments (task_id, user_id, claimed, assigned_at) "
            "SELECT id, ?, 1, ? FROM tasks WHERE id = ? AND branch_id = ? AND state = 'open' "
            "AND target_kind = 'open' AND NOT EXISTS "
            "(SELECT 1 FROM task_assignments WHERE task_id = ?)",
            (user_id, now, task_id, branch_id, task_id))
        return cur.rowcount == 1

    async def get(self, branch_id: int, task_id: int) -> TaskRow | None:
        row = await self.db.fetchone(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE id = ? AND branch_id = ?",
            (task_id, branch_id))
        return _task(row) if row else None

    async def get_any(self, task_id: int) -> TaskRow | None:
        row = await self.db.fetchone(f"SELECT {_TASK_COLUMNS} FROM tasks WHERE id = ?",
                                     (task_id,))
        return _task(row) if row else None

    async def assignments(self, task_ids: Iterable[int]) -> dict[int, list[AssignmentRow]]:
        """Each task's assignments, in the order people were assigned."""
        ids = list(task_ids)
        found: dict[int, list[AssignmentRow]] = {tid: [] for tid in ids}
        if not ids:
            return found
        rows = await self.db.fetchall(
            f"SELECT {_ASSIGNMENT_COLUMNS} FROM task_assignments WHERE task_id IN ({_marks(ids)}) "
            "ORDER BY task_id, assigned_at, user_id", ids)
        for r in rows:
            found[r["task_id"]].append(_assignment(r))
        return found

    async def move(self, task_id: int, user_id: int, expected: str, new: str, **fields) -> bool:
        """Move one assignment from ``expected`` to ``new`` (with ``fields``); True if it moved."""
        allowed = {"note", "done_at", "confirmed_at", "confirmed_by", "return_reason"}
        if set(fields) - allowed:
            raise ValueError(f"cannot set {set(fields) - allowed}")
        sets = "".join(f", {col} = ?" for col in fields)
        bump = ", returns = returns + 1" if "return_reason" in fields else ""
        cur = await self.db.execute(
            f"UPDATE task_assignments SET state = ?{sets}{bump} WHERE task_id = ? AND user_id = ? "
            "AND state = ? AND (SELECT state FROM tasks WHERE id = ?) = 'open'",
            [new, *fields.values(), task_id, user_id, expected, task_id])
        return cur.rowcount == 1

    async def finish_if_all_confirmed(self, task_id: int, now: int) -> bool:
        """An open task whose every assignment is confirmed becomes done."""
        cur = await self.db.execute(
            "UPDATE tasks SET state = 'done', ended_at = ? WHERE id = ? AND state = 'open' "
            "AND EXISTS (SELECT 1 FROM task_assignments WHERE task_id = ?) "
            "AND NOT EXISTS (SELECT 1 FROM task_assignments WHERE task_id = ? "
            "AND state != 'confirmed')", (now, task_id, task_id, task_id))
        return cur.rowcount == 1

    async def cancel(self, task_id: int, now: int) -> bool:
        cur = await self.db.execute(
            "UPDATE tasks SET state = 'cancelled', ended_at = ? WHERE id = ? AND state = 'open'",
            (now, task_id))
        return cur.rowcount == 1

    async def add_event(self, task_id: int, user_id: int | None, actor_id: int | None,
                        action: str, note: str | None, now: int) -> None:
        await self.db.execute(
            "INSERT INTO task_events (task_id, user_id, actor_id, action, note, at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (task_id, user_id, actor_id, action, note, now))

    async def events(self, task_id: int) -> list[TaskEvent]:
        rows = await self.db.fetchall(
            "SELECT task_id, user_id, actor_id, action, note, at FROM task_events "
            "WHERE task_id = ? ORDER BY id", (task_id,))
        return [TaskEvent(**dict(r)) for r in rows]

    async def open_tasks(self, branch_id: int) -> list[TaskRow]:
        """The branch's open tasks, soonest deadline first (those without one last)."""
        rows = await self.db.fetchall(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE branch_id = ? AND state = 'open' "
            "ORDER BY due_at IS NULL, due_at, id", (branch_id,))
        return [_task(r) for r in rows]

    # the deadline jobs ---------------------------------------------------------------------

    async def with_pending_notices(self) -> list[TaskRow]:
        """Open tasks in every branch with a reminder or an overdue notice still to send."""
        rows = await self.db.fetchall(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE state = 'open' AND due_at IS NOT NULL "
            "AND ((remind_at IS NOT NULL AND reminded_at IS NULL) OR overdue_at IS NULL) "
            "ORDER BY id")
        return [_task(r) for r in rows]

    async def mark_sent(self, task_id: int, column: str, now: int) -> bool:
        """Stamp ``reminded_at`` or ``overdue_at`` once; False if it was already stamped."""
        if column not in ("reminded_at", "overdue_at"):
            raise ValueError(column)
        cur = await self.db.execute(
            f"UPDATE tasks SET {column} = ? WHERE id = ? AND state = 'open' AND {column} IS NULL",
            (now, task_id))
        return cur.rowcount == 1

    # the report ------------------------------------------------------------------------------

    async def confirmed_by_person(self, branch_id: int, since: int, until: int) -> dict[int, int]:
        """Per person, assignments of the branch's tasks confirmed in [since, until)."""
        rows = await self.db.fetchall(
            "SELECT a.user_id, COUNT(*) FROM task_assignments a "
            "INDEXED BY ix_task_assignments_confirmed JOIN tasks t ON t.id = a.task_id "
            "WHERE a.state = 'confirmed' AND a.confirmed_at >= ? AND a.confirmed_at < ? "
            "AND t.branch_id = ? GROUP BY a.user_id", (since, until, branch_id))
        return {r[0]: r[1] for r in rows}

    async def figures(self, branch_id: int, since: int, until: int, at: int) -> dict[str, int]:
        """Over tasks published in [since, until) and not cancelled: how many, their
        assignments, those confirmed, and tasks overdue at ``at`` (``OVERDUE_SQL``)."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS published, "
            "COALESCE(SUM((SELECT COUNT(*) FROM task_assignments a WHERE a.task_id = t.id)), 0) "
            "  AS assignments, "
            "COALESCE(SUM((SELECT COUNT(*) FROM task_assignments a WHERE a.task_id = t.id "
            "  AND a.state = 'confirmed')), 0) AS confirmed, "
            f"COALESCE(SUM({OVERDUE_SQL}), 0) AS overdue "
            "FROM tasks t WHERE t.branch_id = :b AND t.created_at >= :since "
            "AND t.created_at < :until AND t.state != 'cancelled'",
            {"b": branch_id, "since": since, "until": until, "at": at})
        return dict(row)

    async def sheet_rows(self, branch_id: int, since: int, until: int, at: int) -> list[dict]:
        """For the export: every assignment (and every task nobody holds) of the tasks
        published in [since, until) or confirmed then, with ``overdue`` as the report counts."""
        rows = await self.db.fetchall(
            "SELECT t.id, t.title, t.target_kind, t.target, t.points, t.due_at, t.state, "
            "t.created_at, t.created_by, a.user_id, a.state AS assignment, a.claimed, a.note, "
            "a.done_at, a.confirmed_at, a.confirmed_by, a.returns, a.return_reason, "
            f"{OVERDUE_SQL} AS overdue "
            "FROM tasks t LEFT JOIN task_assignments a ON a.task_id = t.id "
            "WHERE t.branch_id = :b AND ((t.created_at >= :since AND t.created_at < :until) "
            "OR EXISTS (SELECT 1 FROM task_assignments c WHERE c.task_id = t.id "
            "AND c.state = 'confirmed' AND c.confirmed_at >= :since AND c.confirmed_at < :until)) "
            "ORDER BY t.id, a.assigned_at, a.user_id",
            {"b": branch_id, "since": since, "until": until, "at": at})
        return [dict(r) for r in rows]
