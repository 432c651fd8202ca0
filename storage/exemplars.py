"""微典型: nomination windows, nominations, the fields' votes, cases, and the showcase page with
its daily visitor counts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from storage.database import Database


@dataclass(frozen=True)
class CallRow:
    id: int
    branch_id: int
    term_id: int
    opens_at: int
    closes_at: int
    opened_by: int


@dataclass(frozen=True)
class NominationRow:
    id: int
    branch_id: int
    term_id: int
    field: str
    nominee_id: int
    nominator_id: int
    story: str
    state: str  # pending | approved | returned | selected
    created_at: int
    reviewed_by: int | None
    reviewed_at: int | None
    review_note: str | None
    selected_at: int | None
    selected_by: int | None
    announced_at: int | None

    @property
    def self_nominated(self) -> bool:
        """自荐 (the nominee nominated themself), else 推荐."""
        return self.nominee_id == self.nominator_id


@dataclass(frozen=True)
class VoteRow:
    poll_id: int
    branch_id: int
    term_id: int
    field: str
    state: str  # open | decided | tied | settled
    closed_at: int | None


@dataclass(frozen=True)
class CaseRow:
    id: int
    branch_id: int
    nomination_id: int
    title: str
    body: str
    author_id: int
    created_by: int
    created_at: int
    field: str = ""
    nominee_id: int = 0


@dataclass(frozen=True)
class PageRow:
    id: int
    branch_id: int
    token: str
    created_by: int
    created_at: int
    closed_by: int | None
    closed_at: int | None


_N = ("id, branch_id, term_id, field, nominee_id, nominator_id, story, state, created_at, "
      "reviewed_by, reviewed_at, review_note, selected_at, selected_by, announced_at")
_C = ("c.id, c.branch_id, c.nomination_id, c.title, c.body, c.author_id, c.created_by, "
      "c.created_at, n.field, n.nominee_id")
_P = "id, branch_id, token, created_by, created_at, closed_by, closed_at"
HONOURS_SQL = (
    "SELECT t.name, n.field FROM exemplar_nominations n JOIN terms t ON t.id = n.term_id "
    "WHERE n.branch_id = ? AND n.nominee_id = ? AND n.state = 'selected' "
    "AND n.announced_at IS NOT NULL ORDER BY t.started_at, n.id"
)


def honours_sync(conn: sqlite3.Connection, branch_id: int, user_id: int
                 ) -> list[tuple[str, str]]:
    """(term name, field) of each publicised exemplar title of a person, oldest first."""
    return [(r[0], r[1]) for r in conn.execute(HONOURS_SQL, (branch_id, user_id))]


def _marks(values: Iterable) -> str:
    return ",".join("?" * len(list(values)))


class ExemplarRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # the nomination window ---------------------------------------------------------------

    async def open_call(self, branch_id: int, term_id: int, opens_at: int, closes_at: int,
                        by: int) -> None:
        await self.db.execute(
            "INSERT INTO exemplar_calls (branch_id, term_id, opens_at, closes_at, opened_by) "
            "VALUES (?, ?, ?, ?, ?)", (branch_id, term_id, opens_at, closes_at, by))

    async def current_call(self, branch_id: int, term_id: int) -> CallRow | None:
        """The window in force for the term: the latest one opened."""
        row = await self.db.fetchone(
            "SELECT id, branch_id, term_id, opens_at, closes_at, opened_by FROM exemplar_calls "
            "WHERE branch_id = ? AND term_id = ? ORDER BY id DESC LIMIT 1", (branch_id, term_id))
        return CallRow(**dict(row)) if row else None

    # nominations -------------------------------------------------------------------------

    async def add_nomination(self, *, branch_id: int, term_id: int, field: str,
                             nominee_id: int, nominator_id: int, story: str,
                             now: int) -> int | None:
        """A new nomination; None when the person already has one in the field this term."""
        return await self._insert(
            "INSERT INTO exemplar_nominations (branch_id, term_id, field, nominee_id, "
            "nominator_id, story, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (branch_id, term_id, field, nominee_id, nominator_id, story, now))

    async def _insert(self, sql: str, params: tuple) -> int | None:
        """The new row's id; None when a unique key refused it."""
        try:
            cur = await self.db.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                return None
            raise
        return cur.lastrowid

    async def nomination(self, nomination_id: int,
                         branch_id: int | None = None) -> NominationRow | None:
        row = await self.db.fetchone(f"SELECT {_N} FROM exemplar_nominations WHERE id = ?",
                                     (nomination_id,))
        if row is None or (branch_id is not None and row["branch_id"] != branch_id):
            return None
        return NominationRow(**dict(row))

    async def nominations(self, branch_id: int, term_id: int,
                          field: str | None = None) -> list[NominationRow]:
        rows = await self.db.fetchall(
            f"SELECT {_N} FROM exemplar_nominations WHERE branch_id = ? AND term_id = ? "
            "AND (? IS NULL OR field = ?) ORDER BY id", (branch_id, term_id, field, field))
        return [NominationRow(**dict(r)) for r in rows]

    async def of_person(self, branch_ids: list[int], user_id: int,
                        limit: int) -> list[NominationRow]:
        """Nominations of or by ``user_id`` in those branches, newest first."""
        if not branch_ids:
            return []
        rows = await self.db.fetchall(
            f"SELECT {_N} FROM exemplar_nominations WHERE branch_id IN ({_marks(branch_ids)}) "
            "AND (nominee_id = ? OR nominator_id = ?) ORDER BY id DESC LIMIT ?",
            [*branch_ids, user_id, user_id, limit])
        return [NominationRow(**dict(r)) for r in rows]

    async def review(self, nomination_id: int, state: str, by: int, now: int,
                     note: str | None) -> bool:
        """pending → ``state``; False when it was reviewed meanwhile."""
        cur = await self.db.execute(
            "UPDATE exemplar_nominations SET state = ?, reviewed_by = ?, reviewed_at = ?, "
            "review_note = ? WHERE id = ? AND state = 'pending'",
            (state, by, now, note, nomination_id))
        return cur.rowcount == 1

    async def select(self, nomination_id: int, by: int | None, now: int) -> bool:
        """approved → selected; False when it was not approved (any more)."""
        cur = await self.db.execute(
            "UPDATE exemplar_nominations SET state = 'selected', selected_at = ?, "
            "selected_by = ? WHERE id = ? AND state = 'approved'", (now, by, nomination_id))
        return cur.rowcount == 1

    async def mark_announced(self, nomination_ids: list[int], now: int) -> None:
        await self.db.execute(
            "UPDATE exemplar_nominations SET announced_at = ? "
            f"WHERE announced_at IS NULL AND id IN ({_marks(nomination_ids)})",
            [now, *nomination_ids])

    # votes -------------------------------------------------------------------------------

    async def add_vote(self, poll_id: int, branch_id: int, term_id: int, field: str,
                       nomination_ids: list[int]) -> None:
        await self.db.execute(
            "INSERT INTO exemplar_votes (poll_id, branch_id, term_id, field) VALUES (?, ?, ?, ?)",
            (poll_id, branch_id, term_id, field))
        await self.db.executemany(
            "INSERT INTO exemplar_vote_options (poll_id, position, nomination_id) "
            "VALUES (?, ?, ?)",
            [(poll_id, i, n) for i, n in enumerate(nomination_ids, start=1)])

    async def vote(self, poll_id: int) -> VoteRow | None:
        row = await self.db.fetchone(
            "SELECT poll_id, branch_id, term_id, field, state, closed_at FROM exemplar_votes "
            "WHERE poll_id = ?", (poll_id,))
        return VoteRow(**dict(row)) if row else None

    async def votes(self, branch_id: int, term_id: int) -> list[VoteRow]:
        rows = await self.db.fetchall(
            "SELECT poll_id, branch_id, term_id, field, state, closed_at FROM exemplar_votes "
            "WHERE branch_id = ? AND term_id = ? ORDER BY poll_id", (branch_id, term_id))
        return [VoteRow(**dict(r)) for r in rows]

    async def vote_options(self, poll_id: int) -> list[tuple[int, int, int | None]]:
        """(position, nomination, votes at the close) of a vote's options."""
        rows = await self.db.fetchall(
            "SELECT position, nomination_id, votes FROM exemplar_vote_options WHERE poll_id = ? "
            "ORDER BY position", (poll_id,))
        return [(r[0], r[1], r[2]) for r in rows]

    async def finish_vote(self, poll_id: int, state: str, now: int,
                          counts: list[int]) -> bool:
        """open → decided | tied, with each option's votes; False if it was not open."""
        cur = await self.db.execute(
            "UPDATE exemplar_votes SET state = ?, closed_at = ? WHERE poll_id = ? "
            "AND state = 'open'", (state, now, poll_id))
        if cur.rowcount != 1:
            return False
        await self.db.executemany(
            "UPDATE exemplar_vote_options SET votes = ? WHERE poll_id = ? AND position = ?",
            [(n, poll_id, i) for i, n in enumerate(counts, start=1)])
        return True

    async def settle_vote(self, poll_id: int) -> bool:
        cur = await self.db.execute(
            "UPDATE exemplar_votes SET state = 'settled' WHERE poll_id = ? AND state = 'tied'",
            (poll_id,))
        return cur.rowcount == 1

    async def votes_of(self, nomination_ids: list[int]) -> dict[int, int]:
        """Votes each nomination got in its field's closed vote."""
        if not nomination_ids:
            return {}
        rows = await self.db.fetchall(
            "SELECT nomination_id, votes FROM exemplar_vote_options WHERE votes IS NOT NULL "
            f"AND nomination_id IN ({_marks(nomination_ids)})", nomination_ids)
        return {r[0]: r[1] for r in rows}

    # cases -------------------------------------------------------------------------------

    async def add_case(self, *, branch_id: int, nomination_id: int, title: str, body: str,
                       author_id: int, by: int, now: int) -> int | None:
        """A case from a nomination's story; None when that story is a case already."""
        return await self._insert(
            "INSERT INTO exemplar_cases (branch_id, nomination_id, title, body, author_id, "
            "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (branch_id, nomination_id, title, body, author_id, by, now))

    async def case(self, case_id: int) -> CaseRow | None:
        row = await self.db.fetchone(
            f"SELECT {_C} FROM exemplar_cases c JOIN exemplar_nominations n "
            "ON n.id = c.nomination_id WHERE c.id = ?", (case_id,))
        return CaseRow(**dict(row)) if row else None

    async def cases(self, branch_id: int, since: int | None = None,
                    until: int | None = None) -> list[CaseRow]:
        """The branch's cases (recorded in [since, until) if given), newest first."""
        rows = await self.db.fetchall(
            f"SELECT {_C} FROM exemplar_cases c JOIN exemplar_nominations n "
            "ON n.id = c.nomination_id WHERE c.branch_id = ? "
            "AND c.created_at >= COALESCE(?, c.created_at) "
            "AND c.created_at < COALESCE(?, c.created_at + 1) ORDER BY c.id DESC",
            (branch_id, since, until))
        return [CaseRow(**dict(r)) for r in rows]

    # figures -----------------------------------------------------------------------------

    async def field_counts(self, branch_id: int, term_id: int) -> list[dict]:
        """Per field: nominations by way (自荐/推荐) and how many were approved or selected."""
        rows = await self.db.fetchall(
            "SELECT field, COALESCE(SUM(nominee_id = nominator_id), 0) AS self_nominated, "
            "COALESCE(SUM(nominee_id <> nominator_id), 0) AS peer_nominated, "
            "COALESCE(SUM(state IN ('approved', 'selected')), 0) AS approved, "
            "COALESCE(SUM(state = 'selected'), 0) AS selected "
            "FROM exemplar_nominations WHERE branch_id = ? AND term_id = ? GROUP BY field",
            (branch_id, term_id))
        return [dict(r) for r in rows]

    # the showcase page -------------------------------------------------------------------

    async def open_page(self, branch_id: int) -> PageRow | None:
        """The branch's page in force: the oldest one not closed."""
        row = await self.db.fetchone(
            f"SELECT {_P} FROM showcase_pages WHERE branch_id = ? AND closed_at IS NULL "
            "ORDER BY id LIMIT 1", (branch_id,))
        return PageRow(**dict(row)) if row else None

    async def add_page(self, branch_id: int, token: str, by: int, now: int) -> None:
        await self.db.execute(
            "INSERT INTO showcase_pages (branch_id, token, created_by, created_at) "
            "VALUES (?, ?, ?, ?)", (branch_id, token, by, now))

    async def close_pages(self, branch_id: int, by: int, now: int) -> int:
        cur = await self.db.execute(
            "UPDATE showcase_pages SET closed_at = ?, closed_by = ? WHERE branch_id = ? "
            "AND closed_at IS NULL", (now, by, branch_id))
        return cur.rowcount

    async def page_by_token(self, token: str) -> PageRow | None:
        row = await self.db.fetchone(f"SELECT {_P} FROM showcase_pages WHERE token = ?",
                                     (token,))
        return PageRow(**dict(row)) if row else None

    async def add_view(self, page_id: int, day: str, visitor: str, now: int) -> bool:
        """Count a visitor once per page and day; True when this was their first view."""
        cur = await self.db.execute(
            "INSERT OR IGNORE INTO showcase_views (page_id, day, visitor, at) VALUES (?, ?, ?, ?)",
            (page_id, day, visitor, now))
        return cur.rowcount == 1

    async def views_by_day(self, branch_id: int, since: int, until: int) -> list[tuple[str, int]]:
        """(day, distinct visitors that day) over the branch's pages, for visits whose first
        view of the day was in [since, until)."""
        rows = await self.db.fetchall(
            "SELECT v.day, COUNT(DISTINCT v.visitor) FROM showcase_views v "
            "JOIN showcase_pages p ON p.id = v.page_id WHERE p.branch_id = ? "
            "AND v.at >= ? AND v.at < ? GROUP BY v.day ORDER BY v.day",
            (branch_id, since, until))
        return [(r[0], r[1]) for r in rows]
