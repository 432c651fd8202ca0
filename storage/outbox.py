"""The persistent outgoing queue."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from storage.database import Database


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    branch_id: int | None
    target_type: str
    target_id: int
    via_group_id: int | None
    segments: list[dict]
    kind: str
    attempts: int
    next_attempt_at: float

    @property
    def target_key(self) -> str:
        return f"{self.target_type}:{self.target_id}"

    @property
    def text(self) -> str:
        return "".join(s["data"].get("text", "") for s in self.segments if s["type"] == "text")


_COLUMNS = ("id, branch_id, target_type, target_id, via_group_id, segments, kind, attempts, "
            "next_attempt_at")


def _message(row) -> OutboxMessage:
    data = dict(row)
    data["segments"] = json.loads(data["segments"])
    return OutboxMessage(**data)


class OutboxRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, *, branch_id: int | None, target_type: str, target_id: int,
                  segments: list[dict], kind: str, now: float, dedupe_key: str | None = None,
                  via_group_id: int | None = None) -> int | None:
        """Queue one message; None when ``dedupe_key`` was queued before."""
        try:
            cur = await self.db.execute(
                "INSERT INTO outbox (branch_id, target_type, target_id, via_group_id, segments, "
                "kind, dedupe_key, next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (branch_id, target_type, target_id, via_group_id,
                 json.dumps(segments, ensure_ascii=False), kind, dedupe_key, now, int(now)),
            )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                return None
            raise
        return cur.lastrowid

    async def due(self, now: float, limit: int = 200) -> list[OutboxMessage]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? "
            "ORDER BY id LIMIT ?",
            (now, limit),
        )
        return [_message(r) for r in rows]

    async def next_due_at(self) -> float | None:
        return await self.db.fetchval(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'"
        )

    async def mark_sent(self, message_id: int, now: float) -> None:
        await self.db.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ?",
            (now, message_id),
        )

    async def mark_retry(self, message_id: int, error: str, next_at: float) -> None:
        await self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
            "WHERE id = ?",
            (error[:500], next_at, message_id),
        )

    async def mark_failed(self, message_id: int, error: str) -> None:
        await self.db.execute(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ? "
            "WHERE id = ?",
            (error[:500], message_id),
        )

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        return {r[0]: r[1] for r in rows}

    async def all(self) -> list[tuple]:
        """Every row as (id, target_type, target_id, state, attempts, text); for tests/tools."""
        rows = await self.db.fetchall(
            "SELECT id, target_type, target_id, state, attempts, segments FROM outbox ORDER BY id"
        )
        return [(*tuple(r)[:5], "".join(s["data"].get("text", "")
                                        for s in json.loads(r[5]) if s["type"] == "text"))
                for r in rows]
