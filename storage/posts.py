"""Posts (先锋岗, 责任区, 观察员) and the posts frozen with a term's membership."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database

_COLUMNS = "id, branch_id, user_id, kind, title, floor, dorm_from, dorm_to, created_at"
# A post counts while its holder has an active profile (a removed member holds none; the post
# is back if they are re-registered, as it was never ended).
HELD = ("EXISTS (SELECT 1 FROM members m WHERE m.branch_id = p.branch_id "
        "AND m.user_id = p.user_id AND m.active = 1)")


@dataclass(frozen=True)
class PostRow:
    id: int
    branch_id: int
    user_id: int
    kind: str  # vanguard / area / observer
    title: str | None
    floor: str | None
    dorm_from: str | None
    dorm_to: str | None
    created_at: int


def _post(row) -> PostRow:
    return PostRow(**dict(row))


ACTIVE_OF_SQL = (f"SELECT {_COLUMNS} FROM posts p WHERE branch_id = ? AND user_id = ? "
                 f"AND ended_at IS NULL AND {HELD} ORDER BY kind, id")


def posts_of_sync(conn, branch_id: int, user_id: int) -> list[PostRow]:
    """The posts one person holds now, for code already in the database thread."""
    return [_post(r) for r in conn.execute(ACTIVE_OF_SQL, (branch_id, user_id))]


class PostRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def active(self, branch_id: int, kind: str | None = None) -> list[PostRow]:
        """The branch's posts held now (of ``kind``), by kind, floor and person."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM posts p WHERE branch_id = ? AND ended_at IS NULL "
            f"AND (? IS NULL OR kind = ?) AND {HELD} "
            "ORDER BY kind, floor, dorm_from, user_id, id", (branch_id, kind, kind))
        return [_post(r) for r in rows]

    async def active_of(self, branch_id: int, user_id: int) -> list[PostRow]:
        rows = await self.db.fetchall(ACTIVE_OF_SQL, (branch_id, user_id))
        return [_post(r) for r in rows]

    async def create(self, branch_id: int, user_id: int, kind: str, title: str | None,
                     floor: str | None, dorm_from: str | None, dorm_to: str | None,
                     by: int, now: int) -> int:
        cur = await self.db.execute(
            "INSERT INTO posts (branch_id, user_id, kind, title, floor, dorm_from, dorm_to, "
            "created_by, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (branch_id, user_id, kind, title, floor, dorm_from, dorm_to, by, now))
        return cur.lastrowid

    async def end(self, post_id: int, by: int | None, now: int) -> bool:
        cur = await self.db.execute(
            "UPDATE posts SET ended_at = ?, ended_by = ? WHERE id = ? AND ended_at IS NULL",
            (now, by, post_id))
        return cur.rowcount == 1

    async def get(self, branch_id: int, post_id: int) -> PostRow | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM posts WHERE id = ? AND branch_id = ?", (post_id, branch_id))
        return _post(row) if row else None

    # terms ---------------------------------------------------------------------------------

    async def freeze_term(self, branch_id: int, term_id: int) -> int:
        """Keep the posts held now as the ending term's posts."""
        cur = await self.db.execute(
            "INSERT OR REPLACE INTO term_posts (term_id, post_id, user_id, kind, title, floor, "
            "dorm_from, dorm_to) SELECT ?, id, user_id, kind, title, floor, dorm_from, dorm_to "
            f"FROM posts p WHERE branch_id = ? AND ended_at IS NULL AND {HELD}",
            (term_id, branch_id))
        return cur.rowcount

    async def of_term(self, branch_id: int, term_id: int) -> list[PostRow]:
        """The posts frozen when the term ended (``created_at`` is not kept: 0)."""
        rows = await self.db.fetchall(
            "SELECT post_id AS id, ? AS branch_id, user_id, kind, title, floor, dorm_from, "
            "dorm_to, 0 AS created_at FROM term_posts WHERE term_id = ? "
            "ORDER BY kind, floor, dorm_from, user_id, post_id", (branch_id, term_id))
        return [_post(r) for r in rows]
