"""Stored reminders."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database


@dataclass(frozen=True)
class ReminderRow:
    id: int
    branch_id: int
    creator_id: int
    schedule: str
    content: str
    state: str
    next_fire_at: int | None
    last_fired_at: int | None
    fired_count: int
    created_at: int


_COLUMNS = ("id, branch_id, creator_id, schedule, content, state, next_fire_at, last_fired_at, "
            "fired_count, created_at")


class ReminderRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, branch_id: int, creator_id: int, schedule: str, content: str,
                  next_fire_at: int | None, now: int) -> int:
        cur = await self.db.execute(
            "INSERT INTO reminders (branch_id, creator_id, schedule, content, next_fire_at, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (branch_id, creator_id, schedule, content, next_fire_at, now),
        )
        return cur.lastrowid

    async def get(self, reminder_id: int, branch_id: int | None = None) -> ReminderRow | None:
        sql = f"SELECT {_COLUMNS} FROM reminders WHERE id = ? AND state != 'deleted'"
        params: list = [reminder_id]
        if branch_id is not None:
            sql += " AND branch_id = ?"
            params.append(branch_id)
        row = await self.db.fetchone(sql, params)
        return ReminderRow(**dict(row)) if row else None

    async def of_branch(self, branch_id: int) -> list[ReminderRow]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM reminders WHERE branch_id = ? "
            "AND state IN ('active', 'paused') ORDER BY id",
            (branch_id,),
        )
        return [ReminderRow(**dict(r)) for r in rows]

    async def count_live(self, branch_id: int) -> int:
        """Reminders of the branch that are active or paused (those an admin manages)."""
        return await self.db.fetchval(
            "SELECT COUNT(*) FROM reminders WHERE branch_id = ? AND state IN ('active', 'paused')",
            (branch_id,), default=0,
        )

    async def active(self) -> list[ReminderRow]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM reminders WHERE state = 'active' ORDER BY id"
        )
        return [ReminderRow(**dict(r)) for r in rows]

    async def set_state(self, reminder_id: int, state: str, next_fire_at: int | None) -> None:
        await self.db.execute(
            "UPDATE reminders SET state = ?, next_fire_at = ? WHERE id = ?",
            (state, next_fire_at, reminder_id),
        )

    async def record_fired(self, reminder_id: int, fired_at: int, next_fire_at: int | None,
                           state: str) -> None:
        await self.db.execute(
            "UPDATE reminders SET last_fired_at = ?, fired_count = fired_count + 1, "
            "next_fire_at = ?, state = ? WHERE id = ?",
            (fired_at, next_fire_at, state, reminder_id),
        )

    async def reschedule(self, reminder_id: int, next_fire_at: int | None, state: str) -> None:
        await self.db.execute(
            "UPDATE reminders SET next_fire_at = ?, state = ? WHERE id = ?",
            (next_fire_at, state, reminder_id),
        )
