"""Reading notes read back: a session's notes for its leader and the admins, and one's own."""

from __future__ import annotations

from domain.branches import Actor
from domain.errors import Forbidden
from domain.sessions import SessionService
from storage.notes import NoteRepository, NoteRow
from storage.sessions import SessionRow


class NoteService:
    def __init__(self, sessions: SessionService) -> None:
        self.sessions = sessions
        self.branches = sessions.branches
        self.settings = sessions.settings
        self.repo = NoteRepository(sessions.db)

    async def of_session(self, session_id: int, actor: Actor,
                         branch_id: int | None = None) -> tuple[SessionRow, list[NoteRow]]:
        """The notes of a session, for the admins and the session's leader. From a private
        chat (``branch_id`` None) the number tells the branch; to anyone outside it the
        session does not exist."""
        sessions = self.sessions
        if branch_id is not None:
            session = await sessions.get(branch_id, session_id)
        else:
            session = await sessions.get_any(session_id)
            await sessions._require_visible(session, actor)
        if actor.user_id != session.leader_id and not await self.branches.is_admin(
                session.branch_id, actor):
            raise Forbidden(f"{session.kind} #{session.id} 的读书笔记只有本场导学人和支委、书记、"
                            "群管理员可以看。")
        return session, await self.repo.of_session(session.id)

    async def mine(self, branch_id: int, user_id: int) -> list[NoteRow]:
        """My notes in this branch, newest first (at most ``page_size`` × 5)."""
        return await self.repo.of_user(branch_id, user_id, self.settings.page_size * 5)
