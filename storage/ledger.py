"""The append-only points ledger."""

from __future__ import annotations

import sqlite3

from domain.models import LedgerEntry
from storage.database import Database
from storage.members import names_sync

_COLUMNS = (
    "id, branch_id, term_id, user_id, category, delta, reason, ref, reverses_id, operator_id, "
    "created_at, local_day"
)


INSERT_SQL = (
    "INSERT INTO ledger (branch_id, term_id, user_id, category, delta, reason, ref, "
    "reverses_id, operator_id, created_at, local_day) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)


def append_sync(conn: sqlite3.Connection, *, branch_id: int, term_id: int, user_id: int,
                category: str, delta: int, reason: str, ref: str | None,
                operator_id: int | None, now: int, local_day: str,
                reverses_id: int | None = None) -> int | None:
    """``LedgerRepository.append`` for code already running in the database thread."""
    try:
        cur = conn.execute(INSERT_SQL, (branch_id, term_id, user_id, category, delta, reason,
                                        ref, reverses_id, operator_id, now, local_day))
    except sqlite3.IntegrityError as exc:
        if "UNIQUE" in str(exc):
            return None
        raise
    return cur.lastrowid


BREAKDOWN_SQL = (
    "SELECT category, SUM(delta) FROM ledger "
    "WHERE branch_id = ? AND term_id = ? AND user_id = ? GROUP BY category"
)
# A removed member (inactive profile) is off the boards; ``{t}`` is the points_agg alias.
ON_BOARD = ("NOT EXISTS (SELECT 1 FROM members m WHERE m.branch_id = {t}.branch_id "
            "AND m.user_id = {t}.user_id AND m.active = 0)")
# Counts over a board: all rows counted by the rank index, less the few removed members' rows
# (found through the partial index ix_members_removed; CROSS JOIN keeps members the outer
# loop), so the counts stay index range scans.
_REMOVED_ROWS = ("(SELECT COUNT(*) FROM members m CROSS JOIN points_agg r "
                 "ON r.branch_id = m.branch_id AND r.period = a.period AND r.user_id = m.user_id "
                 "WHERE m.branch_id = a.branch_id AND m.active = 0{cond})")
STANDING_SQL = (
    "SELECT a.total, "
    "(SELECT COUNT(*) FROM points_agg b WHERE b.branch_id = a.branch_id "
    " AND b.period = a.period AND b.total > a.total) "
    f"- {_REMOVED_ROWS.format(cond=' AND r.total > a.total')} + 1, "
    "(SELECT COUNT(*) FROM points_agg c WHERE c.branch_id = a.branch_id "
    f" AND c.period = a.period) - {_REMOVED_ROWS.format(cond='')} "
    "FROM points_agg a WHERE a.branch_id = ? AND a.period = ? AND a.user_id = ? "
    f"AND {ON_BOARD.format(t='a')}"
)
PARTNER_SQL = (
    "SELECT p.helper_id, p.helped_id FROM pairs p WHERE p.pairing_id = "
    "(SELECT MAX(id) FROM pairings WHERE branch_id = ? AND term_id = ?) "
    "AND (p.helper_id = ? OR p.helped_id = ?)"
)


def standing_of(row) -> tuple[int, int, int] | None:
    return None if row is None else (row[0], row[1], row[2])


def partner_of(row, user_id: int) -> tuple[int, bool] | None:
    if row is None:
        return None
    return (row[1], True) if row[0] == user_id else (row[0], False)


def points_of_sync(conn: sqlite3.Connection, branch_id: int, term_id: int, user_id: int
                   ) -> tuple[dict[str, int], tuple[int, int, int] | None]:
    """(per-category breakdown, standing) of one person in one term, in one database trip."""
    breakdown = {r[0]: r[1] for r in conn.execute(BREAKDOWN_SQL, (branch_id, term_id, user_id))}
    standing = conn.execute(STANDING_SQL, (branch_id, f"term:{term_id}", user_id)).fetchone()
    return breakdown, standing_of(standing)


# The top ``limit`` places of a board: everyone whose total reaches the ``limit``-th highest,
# so people tied at the last place are all on it (ties share a place, none is dropped).
BOARD_SQL = (
    "SELECT user_id, total FROM points_agg a WHERE branch_id = ?1 AND period = ?2 "
    f"AND {ON_BOARD.format(t='a')} AND total >= COALESCE(("
    "SELECT total FROM points_agg b WHERE b.branch_id = ?1 AND b.period = ?2 "
    f"AND {ON_BOARD.format(t='b')} ORDER BY total DESC LIMIT 1 OFFSET ?3 - 1), total) "
    "ORDER BY total DESC, user_id"
)
COUNT_RANKED_SQL = (
    "SELECT COUNT(*) - (SELECT COUNT(*) FROM members m CROSS JOIN points_agg r "
    "ON r.branch_id = m.branch_id AND r.period = ? AND r.user_id = m.user_id "
    "WHERE m.branch_id = ? AND m.active = 0) "
    "FROM points_agg WHERE branch_id = ? AND period = ?"
)


def board_sync(conn: sqlite3.Connection, branch_id: int, period: str, limit: int,
               user_id: int) -> tuple[list[tuple[int, int]], tuple[int, int, int] | None, int,
                                      dict[int, str]]:
    """Everything a leaderboard reply shows, in one database trip: the top ``limit`` places
    (user, total; people tied at the last place all included), the asker's standing, how many
    are ranked, and the names on the board."""
    rows = [(r[0], r[1]) for r in conn.execute(BOARD_SQL, (branch_id, period, limit))]
    standing = standing_of(conn.execute(STANDING_SQL, (branch_id, period, user_id)).fetchone())
    ranked = standing[2] if standing else conn.execute(
        COUNT_RANKED_SQL, (period, branch_id, branch_id, period)).fetchone()[0]
    names = names_sync(conn, branch_id, [uid for uid, _ in rows])
    return rows, standing, ranked, names


class LedgerRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(
        self, *, branch_id: int, term_id: int, user_id: int, category: str, delta: int,
        reason: str, ref: str | None, operator_id: int | None, now: int, local_day: str,
        reverses_id: int | None = None,
    ) -> int | None:
        """Append one entry; None when ``ref`` (or ``reverses_id``) was already booked.

        ``local_day`` is the entry's calendar day in the branch timezone (for week/month
        boards); the ``ledger_aggregate`` trigger keeps ``points_agg`` in step.
        """
        try:
            cur = await self.db.execute(
                INSERT_SQL, (branch_id, term_id, user_id, category, delta, reason, ref,
                             reverses_id, operator_id, now, local_day),
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
        rows = await self.db.fetchall(BREAKDOWN_SQL, (branch_id, term_id, user_id))
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

    # boards, from the maintained aggregates --------------------------------------------------

    async def board(self, branch_id: int, period: str, limit: int) -> list[tuple[int, int]]:
        """The top ``limit`` places (user, total) of a period, highest first (ties by QQ
        number; all tied at the last place are included); removed members are off the board."""
        rows = await self.db.fetchall(BOARD_SQL, (branch_id, period, limit))
        return [(r[0], r[1]) for r in rows]

    async def standing(self, branch_id: int, period: str, user_id: int
                       ) -> tuple[int, int, int] | None:
        """(total, competition rank, people ranked) of one person, or None if unranked."""
        row = await self.db.fetchone(STANDING_SQL, (branch_id, period, user_id))
        return standing_of(row)

    async def count_ranked(self, branch_id: int, period: str) -> int:
        return await self.db.fetchval(COUNT_RANKED_SQL, (period, branch_id, branch_id, period),
                                      default=0)

    async def period_totals(self, branch_id: int, period: str) -> dict[int, int]:
        rows = await self.db.fetchall(
            "SELECT user_id, total FROM points_agg WHERE branch_id = ? AND period = ?",
            (branch_id, period),
        )
        return {r[0]: r[1] for r in rows}

    async def term_entries(self, branch_id: int, term_id: int) -> list[LedgerEntry]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM ledger WHERE branch_id = ? AND term_id = ? ORDER BY id",
            (branch_id, term_id),
        )
        return [LedgerEntry(**dict(r)) for r in rows]

    # pairings --------------------------------------------------------------------------------

    async def save_pairing(self, branch_id: int, term_id: int, by: int, now: int,
                           pairs: list[tuple[int, int]]) -> int:
        cur = await self.db.execute(
            "INSERT INTO pairings (branch_id, term_id, created_by, created_at) VALUES (?,?,?,?)",
            (branch_id, term_id, by, now),
        )
        await self.db.executemany(
            "INSERT INTO pairs (pairing_id, helper_id, helped_id) VALUES (?, ?, ?)",
            [(cur.lastrowid, a, b) for a, b in pairs],
        )
        return cur.lastrowid

    async def partner(self, branch_id: int, term_id: int, user_id: int
                      ) -> tuple[int, bool] | None:
        """(partner, whether ``user_id`` is the helper) from the term's latest pairing."""
        row = await self.db.fetchone(PARTNER_SQL, (branch_id, term_id, user_id, user_id))
        return partner_of(row, user_id)
