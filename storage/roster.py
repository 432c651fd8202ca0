"""SQL of the roster import: every profile of a branch, and writing many profiles at once."""

from __future__ import annotations

from dataclasses import dataclass

from domain.models import Member
from storage.database import Database
from storage.members import member_of

_COLUMNS = (
    "branch_id, user_id, name, floor, dorm, identity, is_committee, is_secretary, active"
)


@dataclass(frozen=True)
class RosterWrite:
    """The whole profile as it is to be after the import."""

    branch_id: int
    user_id: int
    name: str
    floor: str | None
    dorm: str | None
    identity: str
    is_secretary: bool
    is_committee: bool


class RosterRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def branch_exists(self, branch_id: int) -> bool:
        return await self.db.fetchone("SELECT 1 FROM branches WHERE id = ?",
                                      (branch_id,)) is not None

    async def members(self, branch_id: int) -> list[Member]:
        """Every profile of the branch, removed ones included, in floor, dorm, name order."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM members WHERE branch_id = ? "
            "ORDER BY floor IS NULL, floor, dorm IS NULL, dorm, name, user_id", (branch_id,))
        return [m for m in (member_of(r) for r in rows) if m is not None]

    async def write(self, writes: list[RosterWrite], now: int) -> None:
        """Create or update each profile (re-activating a removed one); call in a transaction."""
        for w in writes:
            await self.db.execute(
                "INSERT INTO members (branch_id, user_id, name, floor, dorm, identity, "
                "is_committee, is_secretary, active, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) "
                "ON CONFLICT(branch_id, user_id) DO UPDATE SET name = excluded.name, "
                "floor = excluded.floor, dorm = excluded.dorm, identity = excluded.identity, "
                "is_committee = excluded.is_committee, is_secretary = excluded.is_secretary, "
                "active = 1, updated_at = excluded.updated_at",
                (w.branch_id, w.user_id, w.name, w.floor, w.dorm, w.identity,
                 int(w.is_committee), int(w.is_secretary), now, now),
            )
