"""党小组 leaders per floor, and the membership of a term frozen when it ended."""

from __future__ import annotations

from domain.models import Member
from storage.database import Database

_FROZEN = ("user_id, name, floor, dorm, identity, is_committee, is_secretary, active, "
           "floor_leader")


class FloorRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def leaders(self, branch_id: int) -> dict[str, int]:
        """floor → leader, for leaders who still have an active profile on that floor."""
        rows = await self.db.fetchall(
            "SELECT g.floor, g.leader_id FROM floor_groups g JOIN members m "
            "ON m.branch_id = g.branch_id AND m.user_id = g.leader_id AND m.active = 1 "
            "AND m.floor = g.floor WHERE g.branch_id = ?", (branch_id,))
        return {r[0]: r[1] for r in rows}

    async def set_leader(self, branch_id: int, floor: str, user_id: int, now: int) -> None:
        await self.db.execute(
            "INSERT INTO floor_groups (branch_id, floor, leader_id, updated_at) VALUES (?,?,?,?) "
            "ON CONFLICT(branch_id, floor) DO UPDATE SET leader_id = excluded.leader_id, "
            "updated_at = excluded.updated_at", (branch_id, floor, user_id, now))

    async def clear_leader(self, branch_id: int, user_id: int) -> int:
        cur = await self.db.execute(
            "DELETE FROM floor_groups WHERE branch_id = ? AND leader_id = ?", (branch_id, user_id))
        return cur.rowcount

    # terms ---------------------------------------------------------------------------------

    async def freeze_term(self, branch_id: int, term_id: int) -> int:
        """Keep the branch's profiles (and who leads each floor) as the term's membership."""
        cur = await self.db.execute(
            "INSERT OR REPLACE INTO term_members (term_id, user_id, name, floor, dorm, identity, "
            "is_committee, is_secretary, active, floor_leader) "
            "SELECT ?, m.user_id, m.name, m.floor, m.dorm, m.identity, m.is_committee, "
            "m.is_secretary, m.active, EXISTS (SELECT 1 FROM floor_groups g "
            "  WHERE g.branch_id = m.branch_id AND g.floor = m.floor AND g.leader_id = m.user_id) "
            "FROM members m WHERE m.branch_id = ?", (term_id, branch_id))
        return cur.rowcount

    async def is_frozen(self, term_id: int) -> bool:
        return await self.db.fetchone(
            "SELECT 1 FROM term_members WHERE term_id = ? LIMIT 1", (term_id,)) is not None

    async def frozen(self, branch_id: int, term_id: int) -> tuple[list[Member], dict[str, int]]:
        """The term's frozen profiles (removed ones included) and floor → leader."""
        rows = await self.db.fetchall(
            f"SELECT {_FROZEN} FROM term_members WHERE term_id = ? ORDER BY user_id", (term_id,))
        members, leaders = [], {}
        for r in rows:
            members.append(Member(
                branch_id=branch_id, user_id=r["user_id"], name=r["name"], floor=r["floor"],
                dorm=r["dorm"], identity=r["identity"], is_committee=bool(r["is_committee"]),
                is_secretary=bool(r["is_secretary"]), active=bool(r["active"])))
            if r["floor_leader"] and r["active"] and r["floor"] is not None:
                leaders[r["floor"]] = r["user_id"]
        return members, leaders

    async def frozen_standing(self, branch_id: int, term_id: int, identities: list[str],
                              standard: int) -> tuple[list[int], int]:
        """Of an ended term's frozen active members with one of ``identities``: their QQ
        numbers, and how many had term points ≥ ``standard`` (for the trend, cheaply)."""
        marks = ",".join("?" * len(identities))
        ids = [r[0] for r in await self.db.fetchall(
            "SELECT user_id FROM term_members WHERE term_id = ? AND active = 1 "
            f"AND identity IN ({marks})", (term_id, *identities))]
        reaching = await self.db.fetchval(
            "SELECT COUNT(*) FROM term_members t JOIN points_agg p ON p.branch_id = ? "
            "AND p.period = ? AND p.user_id = t.user_id WHERE t.term_id = ? AND t.active = 1 "
            f"AND t.identity IN ({marks}) AND p.total >= ?",
            (branch_id, f"term:{term_id}", term_id, *identities, standard), default=0)
        return ids, reaching

    async def frozen_attendance(self, term_id: int, session_ids: list[int],
                                identities: list[str]) -> list[int]:
        """Per session, how many of an ended term's frozen active members with one of
        ``identities`` checked in (counted in the database, not row by row)."""
        if not session_ids:
            return []
        marks = ",".join("?" * len(identities))
        found = dict(await self.db.fetchall(
            # each session's check-ins walked, each person tested against the term's people
            # gathered once ("+user_id": not one seek per (session, person) pair)
            "SELECT session_id, COUNT(*) FROM checkins WHERE session_id IN "
            f"({','.join('?' * len(session_ids))}) AND +user_id IN (SELECT user_id FROM "
            f"term_members WHERE term_id = ? AND active = 1 AND identity IN ({marks})) "
            "GROUP BY session_id",
            (*session_ids, term_id, *identities)))
        return [found.get(sid, 0) for sid in session_ids]

    async def all_profiles(self, branch_id: int) -> list[Member]:
        """Every profile of the branch, removed ones included."""
        rows = await self.db.fetchall(
            "SELECT branch_id, user_id, name, floor, dorm, identity, is_committee, "
            "is_secretary, active FROM members WHERE branch_id = ? ORDER BY user_id",
            (branch_id,))
        return [Member(**{**dict(r), "is_committee": bool(r["is_committee"]),
                          "is_secretary": bool(r["is_secretary"]),
                          "active": bool(r["active"])}) for r in rows]
