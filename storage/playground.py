"""The few reads the playground's fast-forward needs from the outgoing queue."""

from __future__ import annotations

from storage.database import Database


async def last_outbox_id(db: Database) -> int:
    return int(await db.fetchval("SELECT MAX(id) FROM outbox", default=0))


async def due_unsent(db: Database, now: float) -> int:
    """Messages waiting in the queue that are due by ``now``."""
    return int(await db.fetchval(
        "SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?", (now,),
        default=0))
