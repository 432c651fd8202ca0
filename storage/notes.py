"""Reading notes (读书笔记), read back."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database


@dataclass(frozen=True)
class NoteRow:
    id: int
    session_id: int
    user_id: int
    content: str
    created_at: int
    topic: str = ""
    starts_at: int = 0


class NoteRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def of_session(self, session_id: int) -> list[NoteRow]:
        rows = await self.db.fetchall(
            "SELECT id, session_id, user_id, content, created_at FROM notes "
            "WHERE session_id = ? ORDER BY created_at, id", (session_id,))
        return [NoteRow(**dict(r)) for r in rows]

    async def of_user(self, branch_id: int, user_id: int, limit: int) -> list[NoteRow]:
        """A person's notes in a branch, newest first, with each session's topic and start."""
        rows = await self.db.fetchall(
            "SELECT n.id, n.session_id, n.user_id, n.content, n.created_at, s.topic, s.starts_at "
            "FROM notes n JOIN sessions s ON s.id = n.session_id "
            "WHERE n.branch_id = ? AND n.user_id = ? ORDER BY n.created_at DESC, n.id DESC "
            "LIMIT ?", (branch_id, user_id, limit))
        return [NoteRow(**dict(r)) for r in rows]
