"""Branches, their bound groups and their terms."""

from __future__ import annotations

from domain.models import Branch, Term
from storage.database import Database


class BranchRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def branch_of_group(self, group_id: int) -> Branch | None:
        row = await self.db.fetchone(
            "SELECT b.id, b.name, b.created_at FROM branch_groups g "
            "JOIN branches b ON b.id = g.branch_id WHERE g.group_id = ?",
            (group_id,),
        )
        return Branch(**dict(row)) if row else None

    async def get(self, branch_id: int) -> Branch | None:
        row = await self.db.fetchone(
            "SELECT id, name, created_at FROM branches WHERE id = ?", (branch_id,)
        )
        return Branch(**dict(row)) if row else None

    async def create_for_group(self, group_id: int, name: str, now: int) -> Branch:
        """Create a branch owning ``group_id`` (call inside a transaction)."""
        cur = await self.db.execute(
            "INSERT INTO branches (name, created_at) VALUES (?, ?)", (name, now)
        )
        branch_id = cur.lastrowid
        await self.db.execute(
            "INSERT INTO branch_groups (group_id, branch_id, bound_at) VALUES (?, ?, ?)",
            (group_id, branch_id, now),
        )
        return Branch(id=branch_id, name=name, created_at=now)

    async def bind_group(self, group_id: int, branch_id: int, by: int, now: int) -> None:
        await self.db.execute(
            "INSERT INTO branch_groups (group_id, branch_id, bound_at, bound_by) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(group_id) DO UPDATE SET "
            "branch_id = excluded.branch_id, bound_at = excluded.bound_at, "
            "bound_by = excluded.bound_by",
            (group_id, branch_id, now, by),
        )

    async def rename(self, branch_id: int, name: str) -> None:
        await self.db.execute("UPDATE branches SET name = ? WHERE id = ?", (name, branch_id))

    async def branches_of_member(self, user_id: int) -> list[Branch]:
        """The branches where ``user_id`` has an active profile (for private commands)."""
        rows = await self.db.fetchall(
            "SELECT b.id, b.name, b.created_at FROM members m JOIN branches b "
            "ON b.id = m.branch_id WHERE m.user_id = ? AND m.active = 1 ORDER BY b.id",
            (user_id,),
        )
        return [Branch(**dict(r)) for r in rows]

    async def groups(self, branch_id: int) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT group_id FROM branch_groups WHERE branch_id = ? ORDER BY bound_at, group_id",
            (branch_id,),
        )
        return [r[0] for r in rows]

    async def all_groups(self) -> set[int]:
        """Every group bound to a branch."""
        return {r[0] for r in await self.db.fetchall("SELECT group_id FROM branch_groups")}

    async def all_branch_ids(self) -> list[int]:
        return [r[0] for r in await self.db.fetchall("SELECT id FROM branches ORDER BY id")]

    async def counts(self, branch_id: int) -> dict[str, int]:
        row = await self.db.fetchone(
            "SELECT "
            "(SELECT COUNT(*) FROM members WHERE branch_id = :b AND active = 1) AS members, "
            "(SELECT COUNT(*) FROM wishes WHERE branch_id = :b) AS wishes, "
            "(SELECT COUNT(*) FROM wishes WHERE branch_id = :b AND state = 'completed') "
            "  AS wishes_completed",
            {"b": branch_id},
        )
        return dict(row)

    # terms -------------------------------------------------------------------------------

    async def current_term(self, branch_id: int) -> Term | None:
        row = await self.db.fetchone(
            "SELECT id, branch_id, name, started_at, ended_at FROM terms "
            "WHERE branch_id = ? ORDER BY id DESC LIMIT 1",
            (branch_id,),
        )
        return Term(**dict(row)) if row else None

    async def create_term(self, branch_id: int, name: str, now: int) -> Term:
        await self.db.execute(
            "UPDATE terms SET ended_at = ? WHERE branch_id = ? AND ended_at IS NULL",
            (now, branch_id),
        )
        cur = await self.db.execute(
            "INSERT INTO terms (branch_id, name, started_at) VALUES (?, ?, ?)",
            (branch_id, name, now),
        )
        return Term(id=cur.lastrowid, branch_id=branch_id, name=name, started_at=now,
                    ended_at=None)

    async def terms(self, branch_id: int) -> list[Term]:
        rows = await self.db.fetchall(
            "SELECT id, branch_id, name, started_at, ended_at FROM terms "
            "WHERE branch_id = ? ORDER BY id",
            (branch_id,),
        )
        return [Term(**dict(r)) for r in rows]
