"""The secretary's page (/统计 网页): its links, kept as the SHA-256 of their tokens."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database


@dataclass(frozen=True)
class LinkRow:
    branch_id: int
    user_id: int
    created_at: int
    expires_at: int


class DashboardRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, token_hash: str, branch_id: int, user_id: int, now: int,
                  expires_at: int) -> None:
        """Keep a new link, and forget the links that have expired."""
        await self.db.execute("DELETE FROM dashboard_links WHERE expires_at <= ?", (now,))
        await self.db.execute(
            "INSERT INTO dashboard_links (token_hash, branch_id, user_id, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)", (token_hash, branch_id, user_id, now, expires_at))

    async def find(self, token_hash: str) -> LinkRow | None:
        row = await self.db.fetchone(
            "SELECT branch_id, user_id, created_at, expires_at FROM dashboard_links "
            "WHERE token_hash = ?", (token_hash,))
        return None if row is None else LinkRow(*row)
