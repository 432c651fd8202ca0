"""Moving one branch's records into another, when a group that was a branch of its own is bound
into a branch (``/支部 绑定``). Call inside a transaction: everything moves, or nothing.

Every table with a ``branch_id`` column is found from the schema at run time, so tables added
later are moved too. Most are moved by re-pointing ``branch_id`` (and a ``term_id``, if the
table has one, to the target's term of that time). A few are handled one by one:

- ``members``: merged by QQ number; where both branches have a profile the target's wins for
  name, identity and 支委/书记, a missing floor, dorm or skill list is filled from the old one,
  and a person active in either is active. The old branch's profile rows are then removed
  (merged).
- ``ledger``: re-pointed to the target branch and to the target's term that held each entry's
  time; the append-only trigger allows exactly this while the move's ``branch_merges`` row is
  ``moving`` (migration 0010). Amounts, people, references and times never change.
- ``points_agg``: rebuilt for the target from the ledger; the old branch's rows are dropped.
- ``rotations``, ``floor_groups``: the target's setting wins where both have one.
- ``outbox_backlog_warnings``: dropped (recomputed on the next check).
- ``branch_groups``: every group of the old branch moves (the old branch keeps none).
- ``terms``, ``pairings``: stay with the old branch as its history (a pairing was made from
  that branch's ranking; the target pairs anew).
- ``data_versions``, ``dashboard_links``: stay (each branch's counter is bumped by the moves
  themselves; a page link stays tied to the branch it was made for).

A unique key that would clash in a re-pointed table (a table added later may have one) raises
``MergeConflict`` naming the table, and the whole bind is refused.
"""

from __future__ import annotations

import json
import sqlite3

from storage.database import Database

KEPT = frozenset({"branches", "terms", "pairings", "data_versions", "dashboard_links"})
SPECIAL = frozenset({"branch_groups", "members", "ledger", "points_agg", "rotations",
                     "floor_groups", "outbox_backlog_warnings"})

# the target's term holding a moment (the first term when it is older than all of them)
_TERM_AT = (
    "COALESCE((SELECT t.id FROM terms t WHERE t.branch_id = :dst AND t.started_at <= {at} "
    "ORDER BY t.started_at DESC, t.id DESC LIMIT 1), "
    "(SELECT MIN(id) FROM terms WHERE branch_id = :dst))"
)


class MergeConflict(Exception):
    """A re-pointed row would clash with one of the target's (a unique key)."""

    def __init__(self, table: str) -> None:
        super().__init__(table)
        self.table = table


class MergeRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def branch_tables(self) -> dict[str, list[str]]:
        """Every table with a ``branch_id`` column, with its columns (read from the schema)."""
        try:
            names = [r[0] for r in await self.db.fetchall(
                "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        except sqlite3.OperationalError:  # SQLite before 3.37
            names = [r[0] for r in await self.db.fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        found = {}
        for name in names:
            columns = [r[0] for r in await self.db.fetchall(
                "SELECT name FROM pragma_table_info(?)", (name,))]
            if "branch_id" in columns:
                found[name] = columns
        return found

    async def counts(self, branch_id: int) -> dict[str, int]:
        """Rows per branch table of ``branch_id`` (active profiles for ``members``)."""
        counts = {}
        for table in await self.branch_tables():
            if table in KEPT or table == "branch_groups":
                continue
            where = " AND active = 1" if table == "members" else ""
            counts[table] = await self.db.fetchval(
                f'SELECT COUNT(*) FROM "{table}" WHERE branch_id = ?{where}', (branch_id,),
                default=0)
        return counts

    async def merged_into(self, branch_id: int) -> int | None:
        """The branch that ``branch_id`` was moved into, if it was."""
        return await self.db.fetchval(
            "SELECT into_branch_id FROM branch_merges WHERE from_branch_id = ? AND moving = 0 "
            "ORDER BY id DESC LIMIT 1", (branch_id,))

    async def move(self, source: int, target: int, group_id: int, by: int | None,
                   now: int) -> dict[str, int]:
        """Move everything of branch ``source`` into ``target``; rows moved per table."""
        p = {"src": source, "dst": target, "now": now}
        cur = await self.db.execute(
            "INSERT INTO branch_merges (from_branch_id, into_branch_id, group_id, by_user, at) "
            "VALUES (?, ?, ?, ?, ?)", (source, target, group_id, by, now))
        merge_id = cur.lastrowid
        moved: dict[str, int] = {}
        moved["members"] = await self._members(p)
        cur = await self.db.execute(
            "UPDATE ledger SET branch_id = :dst, term_id = "
            + _TERM_AT.format(at="ledger.created_at") + " WHERE branch_id = :src", p)
        moved["ledger"] = cur.rowcount
        await self._rebuild_points(p)
        for table in ("rotations", "floor_groups"):
            await self.db.execute(
                f"UPDATE OR IGNORE {table} SET branch_id = :dst WHERE branch_id = :src", p)
            await self.db.execute(f"DELETE FROM {table} WHERE branch_id = :src", p)
        await self.db.execute("DELETE FROM outbox_backlog_warnings WHERE branch_id = :src", p)
        for table, columns in (await self.branch_tables()).items():
            if table in KEPT or table in SPECIAL:
                continue
            term = (", term_id = " + _TERM_AT.format(
                at="(SELECT COALESCE(s.ended_at, :now) FROM terms s "
                   f'WHERE s.id = "{table}".term_id)')) if "term_id" in columns else ""
            try:
                cur = await self.db.execute(
                    f'UPDATE "{table}" SET branch_id = :dst{term} WHERE branch_id = :src', p)
            except sqlite3.IntegrityError as exc:
                raise MergeConflict(table) from exc
            moved[table] = cur.rowcount
        cur = await self.db.execute(
            "UPDATE branch_groups SET branch_id = :dst WHERE branch_id = :src", p)
        await self.db.execute(
            "UPDATE branch_merges SET moving = 0, summary = ? WHERE id = ?",
            (json.dumps(moved, ensure_ascii=False), merge_id))
        return moved

    async def _members(self, p: dict) -> int:
        """Merge the profiles by QQ number (see the module docstring); active ones merged."""
        count = await self.db.fetchval(
            "SELECT COUNT(*) FROM members WHERE branch_id = :src AND active = 1", p, default=0)
        await self.db.execute(
            "UPDATE members AS t SET floor = COALESCE(t.floor, s.floor), "
            "dorm = COALESCE(t.dorm, s.dorm), active = MAX(t.active, s.active), "
            "skills = CASE t.skills WHEN '' THEN s.skills ELSE t.skills END, "
            "updated_at = :now FROM members AS s "
            "WHERE t.branch_id = :dst AND s.branch_id = :src AND s.user_id = t.user_id", p)
        await self.db.execute(
            "UPDATE OR IGNORE members SET branch_id = :dst, updated_at = :now "
            "WHERE branch_id = :src", p)
        await self.db.execute("DELETE FROM members WHERE branch_id = :src", p)
        return count

    async def _rebuild_points(self, p: dict) -> None:
        """The boards' aggregates of the target, from its ledger (as migration 0004 built
        them); the old branch has no entries left, so its rows go."""
        await self.db.execute("DELETE FROM points_agg WHERE branch_id IN (:src, :dst)", p)
        day = "COALESCE(local_day, date(created_at, 'unixepoch', '+8 hours'))"
        for period in ("'all'", "'term:' || term_id",
                       f"'week:' || date({day}, '-6 days', 'weekday 1')",
                       f"'month:' || substr({day}, 1, 7)"):
            await self.db.execute(
                f"INSERT INTO points_agg SELECT branch_id, {period}, user_id, SUM(delta) "
                "FROM ledger WHERE branch_id = :dst GROUP BY 1, 2, 3", p)

    async def shared_profiles(self, source: int, target: int) -> int:
        """People with a profile in both branches (merged, not added)."""
        return await self.db.fetchval(
            "SELECT COUNT(*) FROM members s JOIN members t ON t.user_id = s.user_id "
            "AND t.branch_id = ? WHERE s.branch_id = ? AND s.active = 1", (target, source),
            default=0)
