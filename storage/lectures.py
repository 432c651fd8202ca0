"""微党课: an activity's speakers, the audience's scores (one per scorer and speaker) and the
scoring round that closes ``score_close_hours`` after the activity ends."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from storage.database import Database
from storage.sessions import SESSION_COLUMNS, SessionRow


@dataclass(frozen=True)
class RoundRow:
    session_id: int
    anonymous: bool
    closes_at: int
    closed_at: int | None
    set_by: int
    set_at: int


@dataclass(frozen=True)
class SpeakerRow:
    position: int
    user_id: int
    title: str


@dataclass(frozen=True)
class ScoreRow:
    speaker_id: int
    scorer_id: int | None  # None once an anonymous round closed
    score: int
    at: int | None


@dataclass(frozen=True)
class ScoreOutcome:
    """What one score did: the speaker scored and the scorer's earlier score (None: new)."""

    speaker: SpeakerRow
    previous: int | None


_R = "session_id, anonymous, closes_at, closed_at, set_by, set_at"


def _round(row) -> RoundRow:
    data = dict(row)
    data["anonymous"] = bool(data["anonymous"])
    return RoundRow(**data)


def _session_sync(conn: sqlite3.Connection, session_id: int) -> SessionRow | None:
    row = conn.execute(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?",
                       (session_id,)).fetchone()
    return SessionRow(**dict(row)) if row else None


def score_sync(conn: sqlite3.Connection, session_id: int, scorer_id: int, position: int,
               score: int, now: int,
               check: Callable[[SessionRow | None, RoundRow | None, bool, bool,
                                SpeakerRow | None], None]) -> ScoreOutcome:
    """One score, atomically (run in the database thread): ``check(activity, round, scorer is
    a member of its branch, scorer checked in, speaker at position)`` raises to refuse; then
    that speaker gets ``score`` from ``scorer_id``, replacing the scorer's earlier one."""
    activity = _session_sync(conn, session_id)
    found = conn.execute(f"SELECT {_R} FROM lecture_rounds WHERE session_id = ?",
                         (session_id,)).fetchone()
    member = activity is not None and conn.execute(
        "SELECT 1 FROM members WHERE branch_id = ? AND user_id = ? AND active = 1",
        (activity.branch_id, scorer_id)).fetchone() is not None
    came = conn.execute("SELECT 1 FROM checkins WHERE session_id = ? AND user_id = ?",
                        (session_id, scorer_id)).fetchone() is not None
    row = conn.execute("SELECT position, user_id, title FROM lecture_speakers "
                       "WHERE session_id = ? AND position = ?", (session_id, position)).fetchone()
    speaker = SpeakerRow(*row) if row else None
    check(activity, _round(found) if found else None, member, came, speaker)
    assert speaker is not None
    before = conn.execute(
        "SELECT score FROM lecture_scores WHERE session_id = ? AND speaker_id = ? "
        "AND scorer_id = ?", (session_id, speaker.user_id, scorer_id)).fetchone()
    conn.execute(
        "INSERT INTO lecture_scores (session_id, speaker_id, scorer_id, score, at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id, speaker_id, scorer_id) "
        "DO UPDATE SET score = excluded.score, at = excluded.at",
        (session_id, speaker.user_id, scorer_id, score, now))
    return ScoreOutcome(speaker, before[0] if before else None)


class LectureRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def round(self, session_id: int) -> RoundRow | None:
        row = await self.db.fetchone(f"SELECT {_R} FROM lecture_rounds WHERE session_id = ?",
                                     (session_id,))
        return _round(row) if row else None

    async def speakers(self, session_id: int) -> list[SpeakerRow]:
        rows = await self.db.fetchall(
            "SELECT position, user_id, title FROM lecture_speakers WHERE session_id = ? "
            "ORDER BY position", (session_id,))
        return [SpeakerRow(*r) for r in rows]

    async def has_scores(self, session_id: int) -> bool:
        return bool(await self.db.fetchval(
            "SELECT 1 FROM lecture_scores WHERE session_id = ? LIMIT 1", (session_id,)))

    async def set_speakers(self, session_id: int, speakers: list[tuple[int, str]],
                           anonymous: bool, closes_at: int, by: int, now: int) -> None:
        """Replace the speakers (call inside a transaction, before any score exists)."""
        await self.db.execute(
            "INSERT INTO lecture_rounds (session_id, anonymous, closes_at, set_by, set_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET "
            "anonymous = excluded.anonymous, closes_at = excluded.closes_at, "
            "set_by = excluded.set_by, set_at = excluded.set_at",
            (session_id, int(anonymous), closes_at, by, now))
        await self.db.execute("DELETE FROM lecture_speakers WHERE session_id = ?", (session_id,))
        await self.db.executemany(
            "INSERT INTO lecture_speakers (session_id, position, user_id, title) "
            "VALUES (?, ?, ?, ?)",
            [(session_id, i, uid, title) for i, (uid, title) in enumerate(speakers, start=1)])

    async def scores(self, session_id: int) -> list[ScoreRow]:
        rows = await self.db.fetchall(
            "SELECT speaker_id, scorer_id, score, at FROM lecture_scores WHERE session_id = ? "
            "ORDER BY speaker_id, score DESC, scorer_id", (session_id,))
        return [ScoreRow(*r) for r in rows]

    async def scores_by(self, session_id: int, scorer_id: int) -> dict[int, int]:
        """The scores one person has given in a round, by speaker."""
        rows = await self.db.fetchall(
            "SELECT speaker_id, score FROM lecture_scores WHERE session_id = ? AND scorer_id = ?",
            (session_id, scorer_id))
        return {r[0]: r[1] for r in rows}

    async def close(self, session_id: int, now: int) -> bool:
        """Mark a round closed; exactly one of several closers wins."""
        cur = await self.db.execute(
            "UPDATE lecture_rounds SET closed_at = ? WHERE session_id = ? AND closed_at IS NULL",
            (now, session_id))
        return cur.rowcount == 1

    async def forget_scorers(self, session_id: int) -> None:
        """An anonymous round, closed: its scores again, in random order, without scorer or
        time (call inside the closing transaction)."""
        rows = await self.db.fetchall(
            "SELECT speaker_id, score FROM lecture_scores WHERE session_id = ?", (session_id,))
        kept = [(session_id, r[0], r[1]) for r in rows]
        random.SystemRandom().shuffle(kept)
        await self.db.execute("DELETE FROM lecture_scores WHERE session_id = ?", (session_id,))
        await self.db.executemany(
            "INSERT INTO lecture_scores (session_id, speaker_id, scorer_id, score, at) "
            "VALUES (?, ?, NULL, ?, NULL)", kept)

    async def open_rounds(self) -> list[RoundRow]:
        """Rounds of every branch not closed yet, soonest first."""
        rows = await self.db.fetchall(
            f"SELECT {_R} FROM lecture_rounds WHERE closed_at IS NULL ORDER BY closes_at")
        return [_round(r) for r in rows]

    async def rounds_between(self, branch_id: int, since: int, until: int
                             ) -> list[tuple[SessionRow, RoundRow]]:
        """Activities with speakers, not cancelled, that started in [since, until)."""
        columns = ", ".join("s." + c.strip() for c in SESSION_COLUMNS.split(","))
        rows = await self.db.fetchall(
            f"SELECT {columns}, r.anonymous AS r_anonymous, r.closes_at AS r_closes_at, "
            "r.closed_at AS r_closed_at, r.set_by AS r_set_by, r.set_at AS r_set_at "
            "FROM sessions s JOIN lecture_rounds r ON r.session_id = s.id "
            "WHERE s.branch_id = ? AND s.state = 'scheduled' AND s.starts_at >= ? "
            "AND s.starts_at < ? ORDER BY s.starts_at, s.id", (branch_id, since, until))
        found = []
        for row in rows:
            data = dict(row)
            extra = {k[2:]: data.pop(k) for k in list(data) if k.startswith("r_")}
            found.append((SessionRow(**data), RoundRow(session_id=data["id"],
                                                       anonymous=bool(extra["anonymous"]),
                                                       closes_at=extra["closes_at"],
                                                       closed_at=extra["closed_at"],
                                                       set_by=extra["set_by"],
                                                       set_at=extra["set_at"])))
        return found
