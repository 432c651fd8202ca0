"""Member profiles, per branch."""

from __future__ import annotations

from domain.models import Member
from storage.database import Database

MEMBER_COLUMNS = _COLUMNS = (
    "branch_id, user_id, name, floor, dorm, identity, is_committee, is_secretary, active"
)


def _member(row) -> Member:
    data = dict(row)
    for flag in ("is_committee", "is_secretary", "active"):
        data[flag] = bool(data[flag])
    return Member(**data)


GET_ACTIVE_SQL = (
    f"SELECT {_COLUMNS} FROM members WHERE branch_id = ? AND user_id = ? AND active = 1"
)
GET_ANY_SQL = f"SELECT {_COLUMNS} FROM members WHERE branch_id = ? AND user_id = ?"


def member_of(row) -> Member | None:
    return _member(row) if row else None


SKILLS_SQL = "SELECT skills, matching FROM members WHERE branch_id = ? AND user_id = ?"


def skills_of_sync(conn, branch_id: int, user_id: int) -> tuple[list[str], bool]:
    """(tags, matching on) of a profile, for code already in the database thread."""
    row = conn.execute(SKILLS_SQL, (branch_id, user_id)).fetchone()
    return ([], True) if row is None else (row[0].split(), bool(row[1]))


def _names_sql(count: int) -> str:
    marks = ",".join("?" * count)
    return f"SELECT user_id, name FROM members WHERE branch_id = ? AND user_id IN ({marks})"


def names_sync(conn, branch_id: int, user_ids: list[int]) -> dict[int, str]:
    """``MemberRepository.names`` for code already in the database thread."""
    if not user_ids:
        return {}
    return {r[0]: r[1] for r in conn.execute(_names_sql(len(user_ids)), [branch_id, *user_ids])}


class MemberRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, branch_id: int, user_id: int, *, active_only: bool = True) -> Member | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM members WHERE branch_id = ? AND user_id = ?"
            + (" AND active = 1" if active_only else ""),
            (branch_id, user_id),
        )
        return _member(row) if row else None

    async def upsert_profile(
        self, branch_id: int, user_id: int, name: str, floor: str | None, dorm: str | None,
        now: int,
    ) -> None:
        """Create the profile, or update name/floor/dorm (and re-activate a removed one)."""
        await self.db.execute(
            "INSERT INTO members (branch_id, user_id, name, floor, dorm, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(branch_id, user_id) DO UPDATE SET "
            "name = excluded.name, floor = excluded.floor, dorm = excluded.dorm, active = 1, "
            "updated_at = excluded.updated_at",
            (branch_id, user_id, name, floor, dorm, now, now),
        )

    async def update_roles(
        self, branch_id: int, user_id: int, *, identity: str | None = None,
        is_committee: bool | None = None, is_secretary: bool | None = None, now: int,
    ) -> None:
        await self.db.execute(
            "UPDATE members SET identity = COALESCE(?, identity), "
            "is_committee = COALESCE(?, is_committee), is_secretary = COALESCE(?, is_secretary), "
            "updated_at = ? WHERE branch_id = ? AND user_id = ?",
            (identity, is_committee, is_secretary, now, branch_id, user_id),
        )

    async def deactivate(self, branch_id: int, user_id: int, now: int) -> None:
        await self.db.execute(
            "UPDATE members SET active = 0, is_committee = 0, is_secretary = 0, updated_at = ? "
            "WHERE branch_id = ? AND user_id = ?",
            (now, branch_id, user_id),
        )

    async def list_active(self, branch_id: int, floor: str | None = None) -> list[Member]:
        sql = f"SELECT {_COLUMNS} FROM members WHERE branch_id = ? AND active = 1"
        params: list = [branch_id]
        if floor is not None:
            sql += " AND floor = ?"
            params.append(floor)
        sql += " ORDER BY floor IS NULL, floor, dorm IS NULL, dorm, name, user_id"
        return [_member(r) for r in await self.db.fetchall(sql, params)]

    async def active_anywhere(self, user_id: int) -> bool:
        """Whether the person has an active profile in any branch."""
        return await self.db.fetchval(
            "SELECT 1 FROM members WHERE user_id = ? AND active = 1 LIMIT 1", (user_id,)) == 1

    async def names(self, branch_id: int, user_ids: list[int]) -> dict[int, str]:
        """Display names of those with a profile (removed ones included)."""
        if not user_ids:
            return {}
        rows = await self.db.fetchall(_names_sql(len(user_ids)), [branch_id, *user_ids])
        return {r[0]: r[1] for r in rows}

    # skills (/成员 特长) -------------------------------------------------------------------

    async def skills(self, branch_id: int, user_id: int) -> tuple[list[str], bool] | None:
        """(tags, matching on) of an active profile; None without one."""
        row = await self.db.fetchone(SKILLS_SQL + " AND active = 1", (branch_id, user_id))
        return None if row is None else (row[0].split(), bool(row[1]))

    async def set_skills(self, branch_id: int, user_id: int, tags: list[str], now: int) -> None:
        await self.db.execute(
            "UPDATE members SET skills = ?, updated_at = ? WHERE branch_id = ? AND user_id = ?",
            (" ".join(tags), now, branch_id, user_id))

    async def set_matching(self, branch_id: int, user_id: int, on: bool, now: int) -> None:
        await self.db.execute(
            "UPDATE members SET matching = ?, updated_at = ? WHERE branch_id = ? AND user_id = ?",
            (int(on), now, branch_id, user_id))
