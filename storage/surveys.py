"""Surveys, their questions and responses; anonymous responses kept apart from respondents."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from storage.database import Database


@dataclass(frozen=True)
class Question:
    position: int
    kind: str  # scale / choice / text
    prompt: str
    choices: tuple[str, ...] = ()
    optional: bool = False
    satisfaction: bool = False  # the 满意度 template's overall score


@dataclass(frozen=True)
class SurveyRow:
    id: int
    branch_id: int
    group_id: int | None
    creator_id: int
    title: str
    template: str | None
    anonymous: bool
    link_kind: str | None
    link_id: int | None
    invite_at: int | None
    invited_at: int | None
    state: str
    created_at: int
    closed_at: int | None
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True)
class Response:
    """One response: ``user_id`` and ``submitted_at`` are None for an anonymous survey."""

    user_id: int | None
    submitted_at: int | None
    values: tuple[str | None, ...]


_S = ("id, branch_id, group_id, creator_id, title, template, anonymous, link_kind, link_id, "
      "invite_at, invited_at, state, created_at, closed_at")


def _survey(row, questions: Iterable[Question] = ()) -> SurveyRow:
    data = dict(row)
    data["anonymous"] = bool(data["anonymous"])
    return SurveyRow(**data, questions=tuple(questions))


def _question(row) -> Question:
    return Question(position=row["position"], kind=row["kind"], prompt=row["prompt"],
                    choices=tuple(json.loads(row["choices"])) if row["choices"] else (),
                    optional=bool(row["optional"]), satisfaction=bool(row["satisfaction"]))


def _marks(values: list) -> str:
    return ",".join("?" * len(values))


class SurveyRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, *, branch_id: int, group_id: int | None, creator_id: int, title: str,
                     template: str | None, anonymous: bool, link_kind: str | None,
                     link_id: int | None, invite_at: int | None, questions: list[Question],
                     now: int) -> int:
        cur = await self.db.execute(
            "INSERT INTO surveys (branch_id, group_id, creator_id, title, template, anonymous, "
            "link_kind, link_id, invite_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (branch_id, group_id, creator_id, title, template, int(anonymous), link_kind,
             link_id, invite_at, now),
        )
        survey_id = cur.lastrowid
        await self.db.executemany(
            "INSERT INTO survey_questions (survey_id, position, kind, prompt, choices, optional, "
            "satisfaction) VALUES (?,?,?,?,?,?,?)",
            [(survey_id, q.position, q.kind, q.prompt,
              json.dumps(list(q.choices), ensure_ascii=False) if q.choices else None,
              int(q.optional), int(q.satisfaction)) for q in questions],
        )
        return survey_id

    async def get(self, survey_id: int, branch_id: int | None = None) -> SurveyRow | None:
        row = await self.db.fetchone(f"SELECT {_S} FROM surveys WHERE id = ?", (survey_id,))
        if row is None or (branch_id is not None and row["branch_id"] != branch_id):
            return None
        rows = await self.db.fetchall(
            "SELECT position, kind, prompt, choices, optional, satisfaction "
            "FROM survey_questions WHERE survey_id = ? ORDER BY position", (survey_id,))
        return _survey(row, [_question(r) for r in rows])

    async def recent(self, branch_ids: list[int], closed_since: int,
                     limit: int) -> list[SurveyRow]:
        if not branch_ids:
            return []
        rows = await self.db.fetchall(
            f"SELECT {_S} FROM surveys WHERE branch_id IN ({_marks(branch_ids)}) "
            "AND (state = 'open' OR closed_at >= ?) ORDER BY state = 'open' DESC, id DESC "
            "LIMIT ?",
            [*branch_ids, closed_since, limit],
        )
        return [_survey(r) for r in rows]

    async def created_between(self, branch_id: int, since: int, until: int) -> list[SurveyRow]:
        rows = await self.db.fetchall(
            f"SELECT {_S} FROM surveys WHERE branch_id = ? AND created_at >= ? "
            "AND created_at < ? ORDER BY id", (branch_id, since, until))
        found = []
        for r in rows:
            survey = await self.get(r["id"])
            assert survey is not None
            found.append(survey)
        return found

    async def close(self, survey_id: int, now: int) -> bool:
        cur = await self.db.execute(
            "UPDATE surveys SET state = 'closed', closed_at = ? WHERE id = ? AND state = 'open'",
            (now, survey_id))
        return cur.rowcount == 1

    # who is asked ------------------------------------------------------------------------

    async def active_members(self, branch_id: int) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT user_id FROM members WHERE branch_id = ? AND active = 1 ORDER BY user_id",
            (branch_id,))
        return [r[0] for r in rows]

    async def is_member(self, branch_id: int, user_id: int) -> bool:
        return bool(await self.db.fetchval(
            "SELECT 1 FROM members WHERE branch_id = ? AND user_id = ? AND active = 1",
            (branch_id, user_id)))

    async def session_participants(self, session_id: int) -> list[int]:
        """Who checked in to the session (导学 or any activity kind)."""
        rows = await self.db.fetchall(
            "SELECT user_id FROM checkins WHERE session_id = ? ORDER BY user_id", (session_id,))
        return [r[0] for r in rows]

    async def wisher_of(self, wish_id: int) -> int | None:
        return await self.db.fetchval("SELECT wisher_id FROM wishes WHERE id = ?", (wish_id,))

    async def branches_of(self, user_id: int) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT branch_id FROM members WHERE user_id = ? AND active = 1 ORDER BY branch_id",
            (user_id,))
        return [r[0] for r in rows]

    async def due_invitations(self, now: int) -> list[SurveyRow]:
        rows = await self.db.fetchall(
            f"SELECT {_S} FROM surveys WHERE invited_at IS NULL AND invite_at IS NOT NULL "
            "AND invite_at <= ? AND state = 'open' ORDER BY invite_at, id", (now,))
        return [_survey(r) for r in rows]

    async def future_invitations(self, now: int) -> list[SurveyRow]:
        rows = await self.db.fetchall(
            f"SELECT {_S} FROM surveys WHERE invited_at IS NULL AND invite_at > ? "
            "AND state = 'open' ORDER BY invite_at, id", (now,))
        return [_survey(r) for r in rows]

    async def mark_invited(self, survey_id: int, now: int) -> bool:
        """Claim the invitation of a survey (once: False if already claimed)."""
        cur = await self.db.execute(
            "UPDATE surveys SET invited_at = ? WHERE id = ? AND invited_at IS NULL",
            (now, survey_id))
        return cur.rowcount == 1

    async def add_invitations(self, survey_id: int, user_ids: list[int]) -> None:
        """Record who was sent an invitation (in the transaction that queues them)."""
        await self.db.executemany(
            "INSERT OR IGNORE INTO survey_invitations (survey_id, user_id) VALUES (?, ?)",
            [(survey_id, u) for u in user_ids])

    async def invited(self, survey_id: int) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT user_id FROM survey_invitations WHERE survey_id = ? ORDER BY user_id",
            (survey_id,))
        return [r[0] for r in rows]

    # answers -----------------------------------------------------------------------------

    async def has_answered(self, survey: SurveyRow, user_id: int) -> bool:
        """Answered: stored, or (anonymous) received and waiting for its batch."""
        tables = (("survey_respondents", "survey_waiting") if survey.anonymous
                  else ("survey_responses",))
        for table in tables:
            if await self.db.fetchval(f"SELECT 1 FROM {table} WHERE survey_id = ? "
                                      "AND user_id = ?", (survey.id, user_id)):
                return True
        return False

    async def submit(self, survey: SurveyRow, user_id: int, values: list[str | None],
                     now: int) -> bool:
        """Store a response; False if this person has answered already (nothing written).

        Named: a response row (person, time) and its answers. Anonymous: only the person is
        written, to ``survey_waiting``; the answers stay with the caller until
        ``store_batch`` writes a batch of them.
        """
        if survey.anonymous:
            if await self.has_answered(survey, user_id):
                return False
            await self.db.execute(
                "INSERT INTO survey_waiting (survey_id, user_id) VALUES (?, ?)",
                (survey.id, user_id))
            return True
        cur = await self.db.execute(
            "INSERT OR IGNORE INTO survey_responses (survey_id, user_id, submitted_at) "
            "VALUES (?, ?, ?)", (survey.id, user_id, now))
        if cur.rowcount == 0:
            return False
        response_id = cur.lastrowid
        await self.db.executemany(
            "INSERT INTO survey_answers (response_id, position, value) VALUES (?, ?, ?)",
            [(response_id, i, v) for i, v in enumerate(values, start=1)])
        return True

    # anonymous responses waiting for their batch -------------------------------------------

    async def waiting(self, survey_id: int) -> set[int]:
        rows = await self.db.fetchall("SELECT user_id FROM survey_waiting WHERE survey_id = ?",
                                      (survey_id,))
        return {r[0] for r in rows}

    async def all_waiting(self) -> list[tuple[int, int]]:
        rows = await self.db.fetchall("SELECT survey_id, user_id FROM survey_waiting "
                                      "ORDER BY survey_id, user_id")
        return [(r[0], r[1]) for r in rows]

    async def store_batch(self, survey_id: int, sheets: list[tuple[int, list[str | None]]],
                          numbers: list[int]) -> None:
        """Store a batch of anonymous responses (inside a transaction): the people move from
        ``survey_waiting`` to ``survey_respondents``, each sheet of answers is written under
        its random number (``numbers``), in that random order."""
        people = [(survey_id, uid) for uid in sorted(uid for uid, _ in sheets)]
        await self.db.executemany(
            "DELETE FROM survey_waiting WHERE survey_id = ? AND user_id = ?", people)
        await self.db.executemany(
            "INSERT INTO survey_respondents (survey_id, user_id) VALUES (?, ?)", people)
        rows = sorted(zip(numbers, (values for _, values in sheets), strict=True))
        await self.db.executemany(
            "INSERT INTO survey_sheets (survey_id, sheet, position, value) VALUES (?,?,?,?)",
            [(survey_id, number, i, v) for number, values in rows
             for i, v in enumerate(values, start=1)])

    async def drop_waiting(self, survey_id: int, people: list[int]) -> None:
        await self.db.executemany(
            "DELETE FROM survey_waiting WHERE survey_id = ? AND user_id = ?",
            [(survey_id, uid) for uid in people])

    async def respondents(self, survey: SurveyRow) -> list[int]:
        table = "survey_respondents" if survey.anonymous else "survey_responses"
        rows = await self.db.fetchall(
            f"SELECT user_id FROM {table} WHERE survey_id = ? ORDER BY user_id", (survey.id,))
        return [r[0] for r in rows]

    async def response_counts(self, surveys: list[SurveyRow]) -> dict[int, int]:
        """Responses per survey: stored, and (anonymous) received but waiting for a batch."""
        found: dict[int, int] = {}
        anonymous = [s.id for s in surveys if s.anonymous]
        for table, ids in (("survey_respondents", anonymous), ("survey_waiting", anonymous),
                           ("survey_responses", [s.id for s in surveys if not s.anonymous])):
            if ids:
                for survey_id, n in await self.db.fetchall(
                        f"SELECT survey_id, COUNT(*) FROM {table} "
                        f"WHERE survey_id IN ({_marks(ids)}) GROUP BY survey_id", ids):
                    found[survey_id] = found.get(survey_id, 0) + n
        return {s.id: found.get(s.id, 0) for s in surveys}

    async def responses(self, survey: SurveyRow) -> list[Response]:
        """Every response with its answers: named ones by submission; anonymous ones in the
        order of their random sheet numbers, without person or time."""
        size = len(survey.questions)
        grouped: dict[int, list[str | None]] = {}
        if survey.anonymous:
            rows = await self.db.fetchall(
                "SELECT sheet, position, value FROM survey_sheets WHERE survey_id = ? "
                "ORDER BY sheet, position", (survey.id,))
            for sheet, position, value in rows:
                grouped.setdefault(sheet, [None] * size)[position - 1] = value
            return [Response(None, None, tuple(v)) for v in grouped.values()]
        rows = await self.db.fetchall(
            "SELECT r.id, r.user_id, r.submitted_at, a.position, a.value "
            "FROM survey_responses r JOIN survey_answers a ON a.response_id = r.id "
            "WHERE r.survey_id = ? ORDER BY r.submitted_at, r.id, a.position", (survey.id,))
        people: dict[int, tuple[int, int]] = {}
        for response_id, user_id, at, position, value in rows:
            people[response_id] = (user_id, at)
            grouped.setdefault(response_id, [None] * size)[position - 1] = value
        return [Response(*people[rid], tuple(v)) for rid, v in grouped.items()]

    async def satisfaction_scores(self, branch_id: int, since: int, until: int) -> list[int]:
        """Every answer to the overall-score question of 满意度 surveys created in
        [since, until), named and anonymous alike."""
        rows = await self.db.fetchall(
            "SELECT a.value FROM surveys s "
            "JOIN survey_questions q ON q.survey_id = s.id AND q.satisfaction = 1 "
            "JOIN survey_responses r ON r.survey_id = s.id "
            "JOIN survey_answers a ON a.response_id = r.id AND a.position = q.position "
            "WHERE s.branch_id = ? AND s.template = 'satisfaction' AND s.created_at >= ? "
            "AND s.created_at < ? AND a.value IS NOT NULL "
            "UNION ALL "
            "SELECT t.value FROM surveys s "
            "JOIN survey_questions q ON q.survey_id = s.id AND q.satisfaction = 1 "
            "JOIN survey_sheets t ON t.survey_id = s.id AND t.position = q.position "
            "WHERE s.branch_id = ? AND s.template = 'satisfaction' AND s.created_at >= ? "
            "AND s.created_at < ? AND t.value IS NOT NULL",
            (branch_id, since, until, branch_id, since, until))
        return [int(r[0]) for r in rows]
