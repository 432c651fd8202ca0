"""What the bot sends on its own: queueing (persistent) and pacing (per group and global)."""

from __future__ import annotations

from collections import deque

from config import BranchConfig
from domain.clock import Clock
from storage.branches import BranchRepository
from storage.database import Database
from storage.outbox import OutboxRepository


def text_segment(content: str) -> dict:
    return {"type": "text", "data": {"text": content}}


def at_segment(user_id: int) -> dict:
    """An @ of one real person; there is deliberately no way to build @全体成员 here."""
    return {"type": "at", "data": {"qq": str(int(user_id))}}


class SendPacer:
    """Decides how long to wait before the next send, from the times of earlier sends.

    Two limits: ``interval`` seconds between two messages to the same target, and at most
    ``per_minute`` messages in any 60-second window over all targets. Pure: times are passed in.
    """

    def __init__(self, interval: float, per_minute: int) -> None:
        self.interval = interval
        self.per_minute = per_minute
        self._last: dict[str, float] = {}
        self._window: deque[float] = deque()

    def delay(self, target: str, now: float) -> float:
        """Seconds to wait before a message to ``target`` may go out (0 if it may go now)."""
        while self._window and self._window[0] <= now - 60:
            self._window.popleft()
        wait = 0.0
        last = self._last.get(target)
        if last is not None:
            wait = max(wait, last + self.interval - now)
        if len(self._window) >= self.per_minute:
            wait = max(wait, self._window[0] + 60 - now)
        return max(wait, 0.0)

    def record(self, target: str, now: float) -> None:
        self._last[target] = now
        self._window.append(now)


class OutboxService:
    """Queue messages for the dispatcher; they survive restarts until sent."""

    def __init__(self, db: Database, settings: BranchConfig, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.repo = OutboxRepository(db)
        self.branches = BranchRepository(db)
        self._listeners: list = []

    def on_enqueue(self, callback) -> None:
        """``callback()`` runs after every enqueue (the dispatcher wakes up)."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        for callback in self._listeners:
            callback()

    async def to_group(self, group_id: int, segments: list[dict], kind: str, *,
                       branch_id: int | None = None, dedupe_key: str | None = None) -> int | None:
        async with self.db.transaction():
            queued = await self.repo.add(
                branch_id=branch_id, target_type="group", target_id=group_id,
                segments=segments, kind=kind, now=self.clock.now().timestamp(),
                dedupe_key=dedupe_key,
            )
        self._notify()
        return queued

    async def to_branch(self, branch_id: int, segments: list[dict], kind: str, *,
                        dedupe_key: str | None = None) -> int:
        """Queue one copy per group bound to the branch; returns how many were queued."""
        groups = await self.branches.groups(branch_id)
        now = self.clock.now().timestamp()
        queued = 0
        async with self.db.transaction():
            for group_id in groups:
                key = f"{dedupe_key}:{group_id}" if dedupe_key else None
                if await self.repo.add(branch_id=branch_id, target_type="group",
                                       target_id=group_id, segments=segments, kind=kind,
                                       now=now, dedupe_key=key):
                    queued += 1
        self._notify()
        return queued

    async def to_user(self, user_id: int, segments: list[dict], kind: str, *,
                      via_group_id: int | None = None, branch_id: int | None = None,
                      dedupe_key: str | None = None) -> int | None:
        async with self.db.transaction():
            queued = await self.repo.add(
                branch_id=branch_id, target_type="private", target_id=user_id,
                via_group_id=via_group_id, segments=segments, kind=kind,
                now=self.clock.now().timestamp(), dedupe_key=dedupe_key,
            )
        self._notify()
        return queued

    def backoff(self, attempts: int) -> float:
        """Seconds before retry number ``attempts`` (1-based): base × 2^(attempts-1)."""
        return self.settings.send_retry_base_seconds * (2 ** (attempts - 1))
