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
    fallback_segments: list[dict] | None = None  # told to the group if a private send fails
    attempted_by: int | None = None  # the account of the latest attempt
    first_attempt_at: float | None = None
    unconfirmed: bool = False  # the latest attempt's outcome is unknown (timeout, kill)

    @property
    def target_key(self) -> str:
        return f"{self.target_type}:{self.target_id}"

    @property
    def text(self) -> str:
        return "".join(s["data"].get("text", "") for s in self.segments if s["type"] == "text")


_COLUMNS = ("id, branch_id, target_type, target_id, via_group_id, segments, kind, attempts, "
            "next_attempt_at, fallback_segments, attempted_by, first_attempt_at, unconfirmed")
_O_COLUMNS = ", ".join(f"o.{c}" for c in _COLUMNS.split(", "))


def _message(row) -> OutboxMessage:
    data = dict(row)
    data["segments"] = json.loads(data["segments"])
    if data.get("fallback_segments"):
        data["fallback_segments"] = json.loads(data["fallback_segments"])
    data["unconfirmed"] = bool(data["unconfirmed"])
    return OutboxMessage(**data)


class OutboxRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, *, branch_id: int | None, target_type: str, target_id: int,
                  segments: list[dict], kind: str, now: float, dedupe_key: str | None = None,
                  via_group_id: int | None = None,
                  fallback: list[dict] | None = None) -> int | None:
        """Queue one message; None when ``dedupe_key`` was queued before."""
        try:
            cur = await self.db.execute(
                "INSERT INTO outbox (branch_id, target_type, target_id, via_group_id, segments, "
                "kind, dedupe_key, next_attempt_at, created_at, fallback_segments) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                (branch_id, target_type, target_id, via_group_id,
                 json.dumps(segments, ensure_ascii=False), kind, dedupe_key, now, int(now),
                 json.dumps(fallback, ensure_ascii=False) if fallback else None),
            )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                return None
            raise
        return cur.lastrowid

    async def add_mention(self, group_id: int, kind: str, mention: dict, text: str,
                          most: int) -> bool:
        """Add ``mention`` to a waiting, never-attempted ``kind`` message to the group whose
        segments are @-mentions then ``text``; False when there is none with room."""
        rows = await self.db.fetchall(
            "SELECT id, segments FROM outbox WHERE state = 'pending' AND attempted_at IS NULL "
            "AND target_type = 'group' AND target_id = ? AND kind = ? ORDER BY id DESC LIMIT 5",
            (group_id, kind))
        for row in rows:
            segments = json.loads(row[1])
            mentions = [s for s in segments if s["type"] == "at"]
            if (segments[-1] != {"type": "text", "data": {"text": text}}
                    or len(mentions) != len(segments) - 1 or len(mentions) >= most):
                continue
            if mention in mentions:
                return True
            cur = await self.db.execute(
                "UPDATE outbox SET segments = ? WHERE id = ? AND state = 'pending' "
                "AND attempted_at IS NULL",
                (json.dumps([*mentions, mention, segments[-1]], ensure_ascii=False), row[0]))
            if cur.rowcount == 1:
                return True
        return False

    async def due(self, now: float, limit: int = 200) -> list[OutboxMessage]:
        """The oldest ``limit`` due rows over all targets (tools and tests; not for picking)."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? "
            "ORDER BY id LIMIT ?",
            (now, limit),
        )
        return [_message(r) for r in rows]

    async def due_heads(self, now: float) -> list[OutboxMessage]:
        """Per target with a due row, its oldest due row (the head of that target's queue).

        The distinct pending targets are walked by index seeks (a recursive skip-scan over
        ``ix_outbox_pending_target``), so the cost grows with the number of targets, not with
        the length of one target's backlog.
        """
        rows = await self.db.fetchall(
            "WITH RECURSIVE targets(tt, tid) AS ("
            " SELECT 'group', (SELECT MIN(target_id) FROM outbox"
            "  WHERE state = 'pending' AND target_type = 'group')"
            " UNION ALL"
            " SELECT 'private', (SELECT MIN(target_id) FROM outbox"
            "  WHERE state = 'pending' AND target_type = 'private')"
            " UNION ALL"
            " SELECT tt, (SELECT MIN(target_id) FROM outbox WHERE state = 'pending'"
            "  AND target_type = targets.tt AND target_id > targets.tid)"
            " FROM targets WHERE tid IS NOT NULL"
            f") SELECT {_O_COLUMNS}"
            " FROM targets JOIN outbox o ON o.id = ("
            " SELECT id FROM outbox WHERE state = 'pending' AND target_type = targets.tt"
            " AND target_id = targets.tid AND next_attempt_at <= ? ORDER BY id LIMIT 1)"
            " ORDER BY o.id",
            (now,),
        )
        return [_message(r) for r in rows]

    async def next_due_at(self) -> float | None:
        return await self.db.fetchval(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'"
        )

    async def mark_attempt(self, message_id: int, now: float,
                           self_id: int) -> OutboxMessage | None:
        """Stamp the start of a send attempt through account ``self_id`` (before the API call),
        for the pacing window and the history check (the attempt is unconfirmed until its
        answer).

        Returns the row as committed, or None when it is no longer pending. The dispatcher
        shares the connection, so it may have read a row of a transaction still open in
        another task; by now (inside its own transaction) that one has committed or rolled
        back, and a rolled-back row (or a number given again since) must not be sent.
        """
        row = await self.db.fetchone(
            "UPDATE outbox SET attempted_at = ?, attempted_by = ?, unconfirmed = 1, "
            "first_attempt_at = COALESCE(first_attempt_at, ?) WHERE id = ? AND state = 'pending' "
            f"RETURNING {_COLUMNS}", (now, self_id, now, message_id))
        return None if row is None else _message(row)

    async def mark_sent(self, message_id: int, now: float, self_id: int | None = None) -> None:
        await self.db.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, sent_by = ?, unconfirmed = 0, "
            "attempts = attempts + 1 WHERE id = ?",
            (now, self_id, message_id),
        )

    async def mark_retry(self, message_id: int, error: str, next_at: float, *,
                         unconfirmed: bool = False, count: bool = True) -> None:
        """Try again at ``next_at``; ``unconfirmed``: the attempt may have gone out (look in
        the history first); ``count`` False: a re-route that spends no retry."""
        await self.db.execute(
            "UPDATE outbox SET attempts = attempts + ?, last_error = ?, next_attempt_at = ?, "
            "unconfirmed = ? WHERE id = ?",
            (1 if count else 0, error[:500], next_at, int(unconfirmed), message_id),
        )

    async def mark_failed(self, message_id: int, error: str, outcome: str = "gave_up") -> None:
        """The row ends unsent: ``outcome`` says how (fallback, hinted, gave_up)."""
        await self.db.execute(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?, "
            "outcome = ?, unconfirmed = 0 WHERE id = ?",
            (error[:500], outcome, message_id),
        )

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        return {r[0]: r[1] for r in rows}

    async def recent_attempts(self, since: float) -> list[tuple[str, float, int | None]]:
        """(target key, attempt time, account) of every send attempt started at or after
        ``since``."""
        rows = await self.db.fetchall(
            "SELECT target_type, target_id, attempted_at, attempted_by FROM outbox "
            "WHERE attempted_at >= ? ORDER BY attempted_at",
            (since,),
        )
        return [(f"{r[0]}:{r[1]}", r[2], r[3]) for r in rows]

    async def pending_summary(self, branch_id: int) -> tuple[int, float | None]:
        """(pending rows of the branch, when the oldest was queued) for ``/支部 状态``."""
        row = await self.db.fetchone(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE state = 'pending' "
            "AND branch_id = ?", (branch_id,))
        return (row[0], row[1]) if row else (0, None)

    async def pending_overall(self) -> tuple[int, float | None]:
        """(pending rows of every branch, when the oldest was queued) for ``/zhibu/health``."""
        row = await self.db.fetchone(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE state = 'pending'")
        return (row[0], row[1]) if row else (0, None)

    # friend hints ------------------------------------------------------------------------

    async def add_hint(self, user_id: int, kind: str, now: int) -> None:
        await self.db.execute(
            "INSERT INTO friend_hints (user_id, kind, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT(user_id) DO NOTHING", (user_id, kind, now))

    async def take_hint(self, user_id: int) -> str | None:
        """The kind of the message that missed the person, forgetting it (told once)."""
        row = await self.db.fetchone("DELETE FROM friend_hints WHERE user_id = ? RETURNING kind",
                                     (user_id,))
        return None if row is None else row[0]

    async def hinted_users(self) -> set[int]:
        rows = await self.db.fetchall("SELECT user_id FROM friend_hints")
        return {r[0] for r in rows}

    async def pending_of_branch(self, branch_id: int, cap: int) -> int:
        """How many rows of the branch are pending, counted up to ``cap`` (cheap when long)."""
        return await self.db.fetchval(
            "SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE state = 'pending' "
            "AND branch_id = ? LIMIT ?)",
            (branch_id, cap), default=0,
        )

    async def prune_sent(self, before: float, batch: int) -> int:
        """Delete up to ``batch`` rows sent before ``before``; returns how many went."""
        cur = await self.db.execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox "
            "WHERE state = 'sent' AND sent_at < ? LIMIT ?)",
            (before, batch),
        )
        return cur.rowcount

    # backlog warnings ----------------------------------------------------------------------

    async def warned_branches(self) -> set[int]:
        rows = await self.db.fetchall("SELECT branch_id FROM outbox_backlog_warnings")
        return {r[0] for r in rows}

    async def add_backlog_warning(self, branch_id: int, pending: int, now: int) -> bool:
        """Remember that the branch was warned; False when it already was."""
        cur = await self.db.execute(
            "INSERT INTO outbox_backlog_warnings (branch_id, pending, warned_at) "
            "VALUES (?, ?, ?) ON CONFLICT(branch_id) DO NOTHING",
            (branch_id, pending, now),
        )
        return cur.rowcount == 1

    async def clear_backlog_warning(self, branch_id: int) -> None:
        await self.db.execute("DELETE FROM outbox_backlog_warnings WHERE branch_id = ?",
                              (branch_id,))

    async def all(self) -> list[tuple]:
        """Every row as (id, target_type, target_id, state, attempts, text); for tests/tools."""
        rows = await self.db.fetchall(
            "SELECT id, target_type, target_id, state, attempts, segments FROM outbox ORDER BY id"
        )
        return [(*tuple(r)[:5], "".join(s["data"].get("text", "")
                                        for s in json.loads(r[5]) if s["type"] == "text"))
                for r in rows]
