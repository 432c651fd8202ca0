"""The few reads the playground's fast-forward needs from the outgoing queue, and the
playground's saved state (its clock and backup folder) for the command-line tools."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from domain.models import Member
from storage.database import Database
from storage.members import MEMBER_COLUMNS, member_of


async def last_outbox_id(db: Database) -> int:
    return int(await db.fetchval("SELECT MAX(id) FROM outbox", default=0))


async def due_unsent(db: Database, now: float) -> int:
    """Messages waiting in the queue that are due by ``now``."""
    return int(await db.fetchval(
        "SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?", (now,),
        default=0))


@dataclass(frozen=True)
class PlaygroundState:
    """What a playground's bot saved about itself: its clock's offset from the wall clock and
    its backup folder (so the command-line tools see what it saw)."""

    clock_offset_seconds: float
    backup_dir: str


async def save_state(db: Database, clock_offset_seconds: float, backup_dir: str,
                     now: int) -> None:
    async with db.transaction():
        await db.execute(
            "INSERT INTO playground_state (id, clock_offset_seconds, backup_dir, updated_at) "
            "VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "clock_offset_seconds = excluded.clock_offset_seconds, "
            "backup_dir = excluded.backup_dir, updated_at = excluded.updated_at",
            (clock_offset_seconds, backup_dir, now))


def playground_state(path: str | Path) -> PlaygroundState | None:
    """The playground state saved in the database file at ``path`` (read-only, blocking);
    None for a database no playground ran on (or one from before the table existed)."""
    if not Path(path).is_file():
        return None
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT clock_offset_seconds, backup_dir FROM playground_state "
                           "WHERE id = 1").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return None if row is None else PlaygroundState(float(row[0]), str(row[1]))


def profiles_of_group(path: str | Path, group_id: int) -> dict[int, Member]:
    """The profiles (removed ones too) of the branch of ``group_id`` as the database file at
    ``path`` holds them now (read-only, blocking): the playground's ``:who``."""
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return {}
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(
            f"SELECT {MEMBER_COLUMNS} FROM members WHERE branch_id = "
            "(SELECT branch_id FROM branch_groups WHERE group_id = ?)", (group_id,)).fetchall()
    except sqlite3.Error:
        return {}
    finally:
        conn.close()
    return {row["user_id"]: member_of(row) for row in rows}
