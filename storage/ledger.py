"""The append-only points ledger."""

from __future__ import annotations

import sqlite3

from domain.models import LedgerEntry
from storage.database import Database

_COLUMNS = (
    "id, branch_id, term_id, user_id, category, delta, reason, ref, reverses_id, operator_id, "
    "created_at"
)


INSERT_SQL = (
    "INSERT INTO ledger (branch_id, term_id, user_id, category, delta, reason, ref, "
    "reverses_id, operator_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
)


def append_sync(conn: sqlite3.Connection, *, branch_id: int, term_id: int, user_id: int,
                category: str, delta: int, reason: str, ref: str | None,
                operator_id: int | None, now: int, reverses_id: int | None = None) -> int | None:
    """``LedgerRepository.append`` for code already running in the database thread."""
    try:
        cur = conn.execute(INSERT_SQL, (branch_id, term_id, user_id, category, delta, reason,
                                        ref, reverses_id, operator_id, now))
    except sqlite3.IntegrityError as exc:
        if "UNIQUE" in str(exc):
            return None
        raise
    return cur.lastrowid


class LedgerRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(
        self, *, branch_id: int, term_id: int, user_id: int, category: str, delta: int,
        reason: str, ref: str | None, operator_id: int | None, now: int,
        reverses_id: int | None = None,
    ) -> int | None:
        """Append one entry; None when ``ref`` (or ``reverses_id``) was already booked."""
        try:
            cur = await self.db.execute(
                INSERT_SQL, (branch_id, term_id, user_id, category, delta, reason, ref,
                             reverses_id, operator_id, now),
            )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                return None
            raise
        return cur.lastrowid

    async def get(self, branch_id: int, entry_id: int) -> LedgerEntry | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM ledger WHERE id = ? AND branch_id = ?", (entry_id, branch_id)
        )
        return LedgerEntry(**dict(row)) if row else None

    async def has_ref(self, branch_id: int, ref: str) -> bool:
        return await self.db.fetchone(
            "SELECT 1 FROM ledger WHERE branch_id = ? AND ref = ?", (branch_id, ref)
        ) is not None

    async def reversal_of(self, entry_id: int) -> LedgerEntry | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM ledger WHERE reverses_id = ?", (entry_id,)
        )
        return LedgerEntry(**dict(row)) if row else None

    async def sum_since(self, branch_id: int, user_id: int, category: str, since: int) -> int:
        return await self.db.fetchval(
            "SELECT SUM(delta) FROM ledger WHERE branch_id = ? AND user_id = ? AND category = ? "
            "AND created_at >= ?",
            (branch_id, user_id, category, since), default=0,
        )

    async def breakdown(self, branch_id: int, term_id: int, user_id: int) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT category, SUM(delta) FROM ledger "
            "WHERE branch_id = ? AND term_id = ? AND user_id = ? GROUP BY category",
            (branch_id, term_id, user_id),
        )
        return {r[0]: r[1] for r in rows}

    async def term_totals(self, branch_id: int, term_id: int) -> dict[int, int]:
        rows = await self.db.fetchall(
            "SELECT user_id, SUM(delta) FROM ledger WHERE branch_id = ? AND term_id = ? "
            "GROUP BY user_id",
            (branch_id, term_id),
        )
        return {r[0]: r[1] for r in rows}

    async def entries_of(self, branch_id: int, user_id: int, *, limit: int,
                         offset: int = 0) -> tuple[list[LedgerEntry], int]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM ledger WHERE branch_id = ? AND user_id = ? "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            (branch_id, user_id, limit, offset),
        )
        total = await self.db.fetchval(
            "SELECT COUNT(*) FROM ledger WHERE branch_id = ? AND user_id = ?",
            (branch_id, user_id), default=0,
        )
        return [LedgerEntry(**dict(r)) for r in rows], total
