"""Polls, their options and ballots; anonymous ballots kept as voters apart from tallies, and
counted in batches (``poll_waiting`` holds who waits, never what they chose)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from storage.database import Database


@dataclass(frozen=True)
class PollRow:
    id: int
    branch_id: int
    group_id: int | None
    creator_id: int
    question: str
    options: int
    multi: bool
    anonymous: bool
    hide_results: bool
    closes_at: int | None
    state: str
    created_at: int
    closed_at: int | None
    closed_by: int | None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class VoteRecord:
    """What one ballot did: ``new`` (named: first ballot), ``replaced`` (named: earlier choices
    in ``previous``), ``received`` (anonymous: the voter is recorded as waiting; the choice
    is counted later with a batch) or ``already`` (anonymous: a ballot exists and cannot be
    replaced)."""

    poll: PollRow
    outcome: str
    previous: tuple[int, ...] = ()


_P = ("id, branch_id, group_id, creator_id, question, options, multi, anonymous, hide_results, "
      "closes_at, state, created_at, closed_at, closed_by")


def _poll(row, labels: Iterable[str] = ()) -> PollRow:
    data = dict(row)
    for flag in ("multi", "anonymous", "hide_results"):
        data[flag] = bool(data[flag])
    return PollRow(**data, labels=tuple(labels))


def _get_sync(conn: sqlite3.Connection, poll_id: int) -> PollRow | None:
    row = conn.execute(f"SELECT {_P} FROM polls WHERE id = ?", (poll_id,)).fetchone()
    if row is None:
        return None
    labels = [r[0] for r in conn.execute(
        "SELECT label FROM poll_options WHERE poll_id = ? ORDER BY position", (poll_id,))]
    return _poll(row, labels)


def _marks(values: Iterable) -> str:
    return ",".join("?" * len(list(values)))


class PollRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, *, branch_id: int, group_id: int | None, creator_id: int,
                     question: str, labels: list[str], multi: bool, anonymous: bool,
                     hide_results: bool, closes_at: int | None, now: int) -> int:
        """Insert a poll with its options (and, if anonymous, its zeroed tallies)."""
        cur = await self.db.execute(
            "INSERT INTO polls (branch_id, group_id, creator_id, question, options, multi, "
            "anonymous, hide_results, closes_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (branch_id, group_id, creator_id, question, len(labels), int(multi),
             int(anonymous), int(hide_results), closes_at, now),
        )
        poll_id = cur.lastrowid
        await self.db.executemany(
            "INSERT INTO poll_options (poll_id, position, label) VALUES (?, ?, ?)",
            [(poll_id, i, label) for i, label in enumerate(labels, start=1)],
        )
        if anonymous:
            await self.db.executemany(
                "INSERT INTO poll_tallies (poll_id, position, votes) VALUES (?, ?, 0)",
                [(poll_id, i) for i in range(1, len(labels) + 1)],
            )
        return poll_id

    async def get(self, poll_id: int, branch_id: int | None = None) -> PollRow | None:
        row = await self.db.fetchone(f"SELECT {_P} FROM polls WHERE id = ?", (poll_id,))
        if row is None or (branch_id is not None and row["branch_id"] != branch_id):
            return None
        rows = await self.db.fetchall(
            "SELECT label FROM poll_options WHERE poll_id = ? ORDER BY position", (poll_id,))
        return _poll(row, [r[0] for r in rows])

    async def recent(self, branch_ids: list[int], closed_since: int,
                     limit: int) -> list[PollRow]:
        """Open polls and those closed since ``closed_since``, newest first."""
        if not branch_ids:
            return []
        rows = await self.db.fetchall(
            f"SELECT {_P} FROM polls WHERE branch_id IN ({_marks(branch_ids)}) "
            "AND (state = 'open' OR closed_at >= ?) ORDER BY state = 'open' DESC, id DESC "
            "LIMIT ?",
            [*branch_ids, closed_since, limit],
        )
        return [_poll(r) for r in rows]

    async def is_member(self, branch_id: int, user_id: int) -> bool:
        return bool(await self.db.fetchval(
            "SELECT 1 FROM members WHERE branch_id = ? AND user_id = ? AND active = 1",
            (branch_id, user_id)))

    async def branches_of(self, user_id: int) -> list[int]:
        """Branches where ``user_id`` has an active profile."""
        rows = await self.db.fetchall(
            "SELECT branch_id FROM members WHERE user_id = ? AND active = 1 ORDER BY branch_id",
            (user_id,))
        return [r[0] for r in rows]

    # voting ------------------------------------------------------------------------------

    async def vote(self, poll_id: int, user_id: int, positions: tuple[int, ...], now: int,
                   check: Callable[[PollRow | None, bool], None]) -> VoteRecord:
        """Cast a ballot atomically, in one batched trip to the database thread.

        ``check(poll, voter_is_member)`` raises to refuse (not found, closed, bad choices).
        Anonymous: only the voter is written, to ``poll_waiting`` (the choice stays with the
        caller until ``count_batch``); a second ballot is ``already``. Named: the person's
        earlier rows are replaced by the new ones.
        """

        def work(conn: sqlite3.Connection) -> VoteRecord:
            poll = _get_sync(conn, poll_id)
            member = poll is not None and conn.execute(
                "SELECT 1 FROM members WHERE branch_id = ? AND user_id = ? AND active = 1",
                (poll.branch_id, user_id)).fetchone() is not None
            check(poll, member)
            assert poll is not None
            if poll.anonymous:
                if conn.execute(
                        "SELECT 1 FROM poll_voters WHERE poll_id = ? AND user_id = ?",
                        (poll_id, user_id)).fetchone() is not None:
                    return VoteRecord(poll, "already")
                cur = conn.execute(
                    "INSERT OR IGNORE INTO poll_waiting (poll_id, user_id) VALUES (?, ?)",
                    (poll_id, user_id))
                return VoteRecord(poll, "received" if cur.rowcount else "already")
            previous = tuple(r[0] for r in conn.execute(
                "SELECT position FROM poll_ballots WHERE poll_id = ? AND user_id = ? "
                "ORDER BY position", (poll_id, user_id)))
            if previous:
                conn.execute("DELETE FROM poll_ballots WHERE poll_id = ? AND user_id = ?",
                             (poll_id, user_id))
            conn.executemany(
                "INSERT INTO poll_ballots (poll_id, user_id, position, at) VALUES (?, ?, ?, ?)",
                [(poll_id, user_id, p, now) for p in positions])
            return VoteRecord(poll, "replaced" if previous else "new", previous)

        return await self.db.run_atomic(work)

    # anonymous ballots waiting for their batch --------------------------------------------

    async def waiting(self, poll_id: int) -> set[int]:
        """People whose anonymous ballot in the poll is received but not counted yet."""
        rows = await self.db.fetchall("SELECT user_id FROM poll_waiting WHERE poll_id = ?",
                                      (poll_id,))
        return {r[0] for r in rows}

    async def all_waiting(self) -> list[tuple[int, int]]:
        """(poll, person) of every anonymous ballot received and not counted (any poll)."""
        rows = await self.db.fetchall("SELECT poll_id, user_id FROM poll_waiting "
                                      "ORDER BY poll_id, user_id")
        return [(r[0], r[1]) for r in rows]

    async def count_batch(self, poll_id: int, voters: Iterable[int],
                          votes: dict[int, int]) -> None:
        """Count a batch of anonymous ballots (inside a transaction): the voters move from
        ``poll_waiting`` to ``poll_voters``, and each option's counter grows by the batch's
        total for it — one write per option, whatever order the ballots came in."""
        people = [(poll_id, uid) for uid in sorted(voters)]
        await self.db.executemany(
            "DELETE FROM poll_waiting WHERE poll_id = ? AND user_id = ?", people)
        await self.db.executemany(
            "INSERT INTO poll_voters (poll_id, user_id) VALUES (?, ?)", people)
        await self.db.executemany(
            "UPDATE poll_tallies SET votes = votes + ? WHERE poll_id = ? AND position = ?",
            [(n, poll_id, position) for position, n in sorted(votes.items()) if n])

    async def drop_waiting(self, poll_id: int, voters: Iterable[int]) -> None:
        """Forget ballots that were lost before being counted (inside a transaction)."""
        await self.db.executemany(
            "DELETE FROM poll_waiting WHERE poll_id = ? AND user_id = ?",
            [(poll_id, uid) for uid in voters])

    async def ballot_state(self, poll_id: int, user_id: int) -> str | None:
        """An anonymous poll's voter: ``counted``, ``waiting`` or None (has not voted)."""
        if await self.db.fetchval("SELECT 1 FROM poll_voters WHERE poll_id = ? AND user_id = ?",
                                  (poll_id, user_id)):
            return "counted"
        if await self.db.fetchval("SELECT 1 FROM poll_waiting WHERE poll_id = ? AND user_id = ?",
                                  (poll_id, user_id)):
            return "waiting"
        return None

    # counting ----------------------------------------------------------------------------

    async def counts(self, poll: PollRow) -> tuple[list[int], int, int]:
        """(votes per option, people who voted, of them people with an active profile)."""
        counts = [0] * poll.options
        if poll.anonymous:
            rows = await self.db.fetchall(
                "SELECT position, votes FROM poll_tallies WHERE poll_id = ?", (poll.id,))
            voters_table = "poll_voters"
        else:
            rows = await self.db.fetchall(
                "SELECT position, COUNT(*) FROM poll_ballots WHERE poll_id = ? GROUP BY position",
                (poll.id,))
            voters_table = "(SELECT DISTINCT poll_id, user_id FROM poll_ballots)"
        for position, votes in rows:
            counts[position - 1] = votes
        row = await self.db.fetchone(
            f"SELECT COUNT(*), COUNT(m.user_id) FROM {voters_table} v "
            "LEFT JOIN members m ON m.branch_id = ? AND m.user_id = v.user_id AND m.active = 1 "
            "WHERE v.poll_id = ?",
            (poll.branch_id, poll.id))
        return counts, row[0], row[1]

    async def voter_counts(self, polls: list[PollRow]) -> dict[int, int]:
        """People who voted, per poll."""
        found: dict[int, int] = {}
        named = [p.id for p in polls if not p.anonymous]
        anonymous = [p.id for p in polls if p.anonymous]
        if named:
            for poll_id, n in await self.db.fetchall(
                    "SELECT poll_id, COUNT(DISTINCT user_id) FROM poll_ballots "
                    f"WHERE poll_id IN ({_marks(named)}) GROUP BY poll_id", named):
                found[poll_id] = n
        if anonymous:  # counted, and received but waiting for their batch
            for poll_id, n in await self.db.fetchall(
                    "SELECT poll_id, COUNT(*) FROM (SELECT poll_id FROM poll_voters "
                    f"WHERE poll_id IN ({_marks(anonymous)}) UNION ALL SELECT poll_id "
                    f"FROM poll_waiting WHERE poll_id IN ({_marks(anonymous)})) "
                    "GROUP BY poll_id", anonymous + anonymous):
                found[poll_id] = n
        return {p.id: found.get(p.id, 0) for p in polls}

    async def active_members(self, branch_id: int) -> int:
        return await self.db.fetchval(
            "SELECT COUNT(*) FROM members WHERE branch_id = ? AND active = 1", (branch_id,),
            default=0)

    async def ballots(self, poll_id: int) -> list[tuple[int, int]]:
        """(position, person) of a named poll's current ballots."""
        rows = await self.db.fetchall(
            "SELECT position, user_id FROM poll_ballots WHERE poll_id = ? "
            "ORDER BY position, at, user_id", (poll_id,))
        return [(r[0], r[1]) for r in rows]

    # closing -----------------------------------------------------------------------------

    async def close(self, poll_id: int, now: int, by: int | None) -> bool:
        """Close an open poll; False if it was already closed (exactly one closer wins)."""
        cur = await self.db.execute(
            "UPDATE polls SET state = 'closed', closed_at = ?, closed_by = ? "
            "WHERE id = ? AND state = 'open'", (now, by, poll_id))
        return cur.rowcount == 1

    async def open_with_deadline(self) -> list[PollRow]:
        """Every open poll (any branch) that has a deadline, soonest first."""
        rows = await self.db.fetchall(
            f"SELECT {_P} FROM polls WHERE state = 'open' AND closes_at IS NOT NULL "
            "ORDER BY closes_at, id")
        return [_poll(r) for r in rows]

    # report ------------------------------------------------------------------------------

    async def turnout_rows(self, branch_id: int, since: int, until: int) -> list[int]:
        """For each poll created in [since, until): voters with an active profile."""
        rows = await self.db.fetchall(
            "SELECT CASE WHEN p.anonymous THEN "
            "  (SELECT COUNT(*) FROM poll_voters v JOIN members m ON m.branch_id = p.branch_id "
            "   AND m.user_id = v.user_id AND m.active = 1 WHERE v.poll_id = p.id) "
            "ELSE (SELECT COUNT(DISTINCT b.user_id) FROM poll_ballots b JOIN members m "
            "   ON m.branch_id = p.branch_id AND m.user_id = b.user_id AND m.active = 1 "
            "   WHERE b.poll_id = p.id) END "
            "FROM polls p WHERE p.branch_id = ? AND p.created_at >= ? AND p.created_at < ? "
            "ORDER BY p.id",
            (branch_id, since, until))
        return [r[0] for r in rows]
