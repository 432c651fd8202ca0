"""微党课 competitions: an activity of a scored kind (``ActivityKind.scored``, 微党课 by default)
gets speakers with their talks' titles; those who checked in score each speaker 1–5 in a
private chat, step by step or one at a time, never themselves; a score can be changed until
the round closes, ``score_close_hours`` after the end. Then the ranking is posted (mean score,
number of scores, equal means share a rank) and the speakers earn 互动 points."""

from __future__ import annotations

import logging
import statistics
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from typing import Generic, TypeVar

from config import BranchConfig
from domain.branches import Actor, BranchService
from domain.clock import Clock
from domain.errors import DomainError, Forbidden, NotFound
from domain.models import Category
from domain.outbox import OutboxService, text_segment
from domain.points import PointsService
from domain.sessions import SessionService
from domain.surveys import CANCEL_WORD, SKIP_WORD, Step, scale_value
from domain.text import paginate, require_text
from storage.database import Database
from storage.lectures import LectureRepository, RoundRow, ScoreOutcome, SpeakerRow, score_sync
from storage.sessions import SessionRow

log = logging.getLogger("zhibu.lectures")

SOMEONE = "一位同学"  # a person without a profile: shown so, never by QQ number
TOP = 3  # the top 3 earn points_lecture_top; the report's best lectures
SCORES = range(1, 6)
T = TypeVar("T")


@dataclass(frozen=True)
class Standing(Generic[T]):
    """One ranked item (a speaker of a round, or a talk of the term) with its scores."""

    rank: int | None  # None: no score, unranked
    item: T
    scores: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None


def rank_by_mean(items: Iterable[tuple[T, Sequence[int]]]) -> list[Standing[T]]:
    """Items by mean score, highest first; equal means (compared exactly) share a rank
    (1, 2, 2, 4); items without a score come last, unranked, in their given order."""
    scored = [(item, tuple(s)) for item, s in items]
    ranked = sorted((x for x in scored if x[1]), key=lambda x: -Fraction(sum(x[1]), len(x[1])))
    found: list[Standing[T]] = []
    previous, rank = None, 0
    for index, (item, scores) in enumerate(ranked, start=1):
        mean = Fraction(sum(scores), len(scores))
        if mean != previous:
            rank, previous = index, mean
        found.append(Standing(rank, item, scores))
    return found + [Standing(None, item, ()) for item, scores in scored if not scores]


def mean_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} 分"


@dataclass(frozen=True)
class Lecture:
    """An activity with speakers and its scoring round."""

    activity: SessionRow
    round: RoundRow
    speakers: list[SpeakerRow]

    def speaker_at(self, position: int) -> SpeakerRow | None:
        return next((s for s in self.speakers if s.position == position), None)


@dataclass(frozen=True)
class BestLecture:
    activity: SessionRow
    speaker: SpeakerRow
    name: str


@dataclass(frozen=True)
class LectureFigures:
    """微党课 of a term (each defined once here; the README repeats them): 举办 = activities
    with speakers that started in the term (up to now) and were not cancelled; 讲者 = their
    speakers (人次); 评分 = the scores given to those speakers; 平均分 = the mean of those
    scores; 最佳微党课 = the term's talks with a score ranked by their mean, the top 3 (equal
    means share a rank, so there may be more rows)."""

    held: int = 0
    speakers: int = 0
    scores: tuple[int, ...] = ()
    best: tuple[Standing[BestLecture], ...] = ()

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None

    def rows(self) -> list[tuple[str, str]]:
        best = "；".join(
            f"第{s.rank}名 {s.item.name}《{s.item.speaker.title}》{mean_text(s.mean)}"
            f"（{s.item.activity.label}，{s.count} 人评）" for s in self.best)
        return [
            ("微党课", f"举办 {self.held} 场，讲者 {self.speakers} 人次，评分 "
                    f"{len(self.scores)} 个，平均 {mean_text(self.mean)}"),
            ("最佳微党课", best or "—"),
        ]


@dataclass(frozen=True)
class Scored:
    """One score given: to whom, and the scorer's earlier score for them (None: new)."""

    activity: SessionRow
    speaker: SpeakerRow
    name: str
    score: int
    previous: int | None

    def reply(self) -> str:
        was = ("" if self.previous is None else "，分数没有变化" if self.previous == self.score
               else f"（替换了之前的 {self.previous} 分）")
        return (f"已给{self.activity.label} 第 {self.speaker.position} 位讲者 {self.name}"
                f"《{self.speaker.title}》打 {self.score} 分{was}。")


@dataclass
class ScoreSheet:
    """One person scoring one round step by step in a private chat."""

    lecture: Lecture
    scorer_id: int
    names: dict[int, str]
    queue: list[SpeakerRow]  # the speakers to score: everyone but the scorer
    given: dict[int, int] = field(default_factory=dict)  # speaker → score (before and now)
    expires_at: float = 0
    index: int = 0
    scored: int = 0  # scores given in this conversation

    @property
    def speaker(self) -> SpeakerRow:
        return self.queue[self.index]

    def prompt(self) -> str:
        s = self.speaker
        before = self.given.get(s.user_id)
        was = f"（你之前给了 {before} 分）" if before else ""
        return (f"第 {self.index + 1}/{len(self.queue)} 位：{self.names[s.user_id]}《{s.title}》"
                f"{was}，请回复 1-5 分：")


class LectureService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService, sessions: SessionService, points: PointsService,
                 outbox: OutboxService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.sessions = sessions
        self.points = points
        self.outbox = outbox
        self.repo = LectureRepository(db)

    def is_scored(self, activity: SessionRow) -> bool:
        kind = self.settings.activity_kinds.get(activity.kind)
        return kind is not None and kind.scored

    def scored_kinds(self) -> str:
        return "、".join(n for n, k in self.settings.activity_kinds.items() if k.scored) or "（无）"

    # speakers ----------------------------------------------------------------------------

    async def organised(self, branch_id: int, actor: Actor, activity_id: int) -> SessionRow:
        """The activity, if ``actor`` may set its speakers (its organiser or an admin)."""
        activity = await self.sessions.repo.get(activity_id, branch_id)
        if activity is None:
            raise NotFound(f"没有找到活动 #{activity_id}。")
        if actor.user_id not in (activity.leader_id, activity.creator_id) and not (
                await self.branches.is_admin(branch_id, actor)):
            raise Forbidden("只有支委、书记、群管理员或活动负责人可以设置讲者。")
        return activity

    async def set_speakers(self, branch_id: int, actor: Actor, activity_id: int,
                           entries: list[tuple[int, str]], anonymous: bool) -> Lecture:
        """Set (or replace, before anyone scored) the speakers and their talks' titles."""
        activity = await self.organised(branch_id, actor, activity_id)
        if not self.is_scored(activity):
            raise DomainError(f"{activity.label} 不是评分类活动，只有{self.scored_kinds()}"
                              "可以设讲者。")
        if activity.state != "scheduled":
            raise DomainError(f"{activity.label} 已取消。")
        most = self.settings.lecture_max_speakers
        if not 1 <= len(entries) <= most:
            raise DomainError(f"讲者需要 1 到 {most} 位，现在 {len(entries)} 位。")
        seen: set[int] = set()
        speakers = []
        for user_id, title in entries:
            if user_id in seen:
                raise DomainError(f"{user_id} 写了两次，每位讲者只写一次。")
            seen.add(user_id)
            if await self.branches.member(branch_id, user_id) is None:
                raise DomainError(f"{user_id} 还没有在本支部登记，请先 /登记 后再设为讲者。")
            speakers.append((user_id, require_text(title, self.settings.title_max_length,
                                                   "讲题")))
        now = self.clock.timestamp()
        closes_at = activity.ends_at + self.settings.score_close_hours * 3600
        if closes_at <= now:
            raise DomainError(f"{activity.label} 的评分已于 {self.clock.format(closes_at)} "
                              "截止，不能再设讲者。")
        async with self.db.transaction():
            if await self.repo.has_scores(activity.id):
                raise DomainError(f"{activity.label} 已经有人评分了，讲者不能再改。")
            await self.repo.set_speakers(activity.id, speakers, anonymous, closes_at,
                                         actor.user_id, now)
        lecture = await self.lecture(activity)
        assert lecture is not None
        return lecture

    async def lecture(self, activity: SessionRow) -> Lecture | None:
        found = await self.repo.round(activity.id)
        if found is None:
            return None
        return Lecture(activity, found, await self.repo.speakers(activity.id))

    async def show(self, branch_id: int, activity_id: int) -> Lecture:
        activity = await self.sessions.repo.get(activity_id, branch_id)
        if activity is None:
            raise NotFound(f"没有找到活动 #{activity_id}。")
        lecture = await self.lecture(activity)
        if lecture is None:
            raise DomainError(f"{activity.label} 还没有设讲者。")
        return lecture

    # scoring -----------------------------------------------------------------------------

    def _refuse(self, activity_id: int, activity: SessionRow | None, found: RoundRow | None,
                member: bool, came: bool, now: int) -> None:
        """The rules of scoring, before the speaker is looked at (raise to refuse)."""
        if activity is None or not member:
            raise NotFound(f"没有找到活动 #{activity_id}（私聊时只能找到你登记的支部的活动）。")
        if found is None:
            raise DomainError(f"{activity.label} 没有设讲者，不用评分。")
        if activity.state != "scheduled":
            raise DomainError(f"{activity.label} 已取消。")
        if now < activity.starts_at:
            raise DomainError(f"{activity.label} 还没开始，"
                              f"{self.clock.format(activity.starts_at)} 开始后才能评分。")
        if found.closed_at is not None or now >= found.closes_at:
            raise DomainError(f"{activity.label} 的评分已于 {self.clock.format(found.closes_at)} "
                              "截止。")
        if not came:
            raise Forbidden(f"只有签到了{activity.label}的同学可以评分，你没有签到记录。")

    async def score(self, activity_id: int, scorer_id: int, position: int,
                    score: int) -> Scored:
        """One score for the speaker at ``position``; replaces the scorer's earlier one."""
        if score not in SCORES:
            raise DomainError("评分只能是 1 到 5 分。")
        now = self.clock.timestamp()

        def check(activity, found, member, came, speaker) -> None:  # in the database thread
            self._refuse(activity_id, activity, found, member, came, now)
            if speaker is None:
                raise DomainError(f"{activity.label} 没有第 {position} 位讲者。")
            if speaker.user_id == scorer_id:
                raise Forbidden("不能给自己评分。")

        outcome: ScoreOutcome = await self.db.run_atomic(partial(
            score_sync, session_id=activity_id, scorer_id=scorer_id, position=position,
            score=score, now=now, check=check))
        activity = await self.sessions.repo.get(activity_id)
        assert activity is not None
        names = await self.branches.names(activity.branch_id, [outcome.speaker.user_id])
        return Scored(activity, outcome.speaker, names.get(outcome.speaker.user_id, SOMEONE),
                      score, outcome.previous)

    async def start(self, activity_id: int, scorer_id: int) -> ScoreSheet:
        """Begin scoring step by step: every speaker but the scorer, in order."""
        activity = await self.sessions.repo.get(activity_id)
        member = activity is not None and await self.branches.member(
            activity.branch_id, scorer_id) is not None
        found = await self.repo.round(activity_id)
        came = member and scorer_id in {
            c.user_id for c in await self.sessions.repo.checkins(activity_id)}
        self._refuse(activity_id, activity, found, member, came, self.clock.timestamp())
        assert activity is not None and found is not None
        lecture = Lecture(activity, found, await self.repo.speakers(activity_id))
        queue = [s for s in lecture.speakers if s.user_id != scorer_id]
        if not queue:
            raise Forbidden(f"你是{activity.label} 唯一的讲者，不能给自己评分。")
        names = await self.speaker_names(lecture)
        return ScoreSheet(lecture, scorer_id, names, queue,
                          await self.repo.scores_by(activity_id, scorer_id),
                          self.clock.now().timestamp()
                          + self.settings.survey_answer_timeout_minutes * 60)

    def intro(self, sheet: ScoreSheet) -> str:
        lecture = sheet.lecture
        a = lecture.activity
        lines = [f"{a.label}「{a.topic}」评分：请给每位讲者打 1-5 分（5 最高），共 "
                 f"{len(sheet.queue)} 位。"]
        if len(sheet.queue) < len(lecture.speakers):
            lines.append("你是讲者之一，不给自己评分。")
        lines.append("匿名评分：截止后不保留谁打了几分。" if lecture.round.anonymous
                     else "每个人的分数不公开，只公布平均分和排名。")
        lines.append(f"回复“{SKIP_WORD}”跳过一位，“{CANCEL_WORD}”结束；"
                     f"{self.clock.format(lecture.round.closes_at)} 前可以重新评分修改。")
        return "\n".join(lines) + "\n" + sheet.prompt()

    async def feed(self, sheet: ScoreSheet, content: str) -> Step:
        """One reply in a step-by-step scoring; each score is stored as it is given."""
        now = self.clock.now().timestamp()
        label = sheet.lecture.activity.label
        if now > sheet.expires_at:
            return Step("expired", self.timeout_notice(sheet))
        answer = unicodedata.normalize("NFKC", content or "").strip()
        if answer == CANCEL_WORD:
            return Step("cancelled", f"已结束{label} 的评分，已给出的分数都已保存"
                                     f"（这次 {sheet.scored} 个）。")
        if answer != SKIP_WORD:
            value = scale_value(answer)
            if value is None:
                return Step("retry", f"请回复 1 到 5 的数字（5 最高），或“{SKIP_WORD}”、"
                                     f"“{CANCEL_WORD}”。\n" + sheet.prompt())
            try:
                await self.score(sheet.lecture.activity.id, sheet.scorer_id,
                                 sheet.speaker.position, value)
            except DomainError as exc:
                return Step("cancelled", f"{exc}这一分没有保存。")
            sheet.given[sheet.speaker.user_id] = value
            sheet.scored += 1
        sheet.index += 1
        sheet.expires_at = now + self.settings.survey_answer_timeout_minutes * 60
        if sheet.index < len(sheet.queue):
            return Step("ask", sheet.prompt())
        close = self.clock.format(sheet.lecture.round.closes_at)
        return Step("done", f"感谢评分！{label} 你这次给出 {sheet.scored} 个分数；"
                            f"{close} 前可以再发 /评分 #{sheet.lecture.activity.id} 修改。")

    def timeout_notice(self, sheet: ScoreSheet) -> str:
        return (f"{sheet.lecture.activity.label} 的评分对话已超时，之前给出的分数都已保存；"
                f"需要时请重新发送 /评分 #{sheet.lecture.activity.id}。")

    async def speaker_names(self, lecture: Lecture) -> dict[int, str]:
        """Speakers by their registered names (never a QQ number: they all registered)."""
        ids = [s.user_id for s in lecture.speakers]
        known = await self.branches.names(lecture.activity.branch_id, ids)
        return {u: known.get(u, SOMEONE) for u in ids}

    # closing -----------------------------------------------------------------------------

    async def standings(self, lecture: Lecture) -> list[Standing[SpeakerRow]]:
        scores: dict[int, list[int]] = {s.user_id: [] for s in lecture.speakers}
        for row in await self.repo.scores(lecture.activity.id):
            scores[row.speaker_id].append(row.score)
        return rank_by_mean((s, scores[s.user_id]) for s in lecture.speakers)

    async def close_due(self, session_id: int) -> list[Standing[SpeakerRow]] | None:
        """At ``closes_at``: close the round once, book the speakers' points, forget who
        scored (anonymous rounds) and queue the ranking, in one transaction. None if it was
        not due or already closed; [] for a cancelled activity (closed without anything)."""
        found = await self.repo.round(session_id)
        now = self.clock.timestamp()
        if found is None or found.closed_at is not None or found.closes_at > now + 1:
            return None
        activity = await self.sessions.repo.get(session_id)
        assert activity is not None
        async with self.db.transaction():
            if not await self.repo.close(session_id, now):
                return None
            if activity.state != "scheduled":
                return []
            lecture = Lecture(activity, found, await self.repo.speakers(session_id))
            table = await self.standings(lecture)
            for standing in table:
                await self._book(activity, standing)
            if found.anonymous:
                await self.repo.forget_scorers(session_id)
            names = await self.speaker_names(lecture)
            pages = paginate(self.ranking_lines(activity, table, names),
                             self.settings.reply_max_chars)
            for i, page in enumerate(pages):
                await self.outbox.to_branch(activity.branch_id, [text_segment(page)],
                                            "lecture_ranking",
                                            dedupe_key=f"lecture:{session_id}:ranking:{i}")
        log.info("lecture round #%s closed: %s speakers ranked", session_id, len(table))
        return table

    async def _book(self, activity: SessionRow, standing: Standing[SpeakerRow]) -> None:
        speaker = standing.item
        plan = [(f"lecture:{activity.id}:{speaker.user_id}", self.settings.points_lecture,
                 f"{activity.label} 讲者《{speaker.title}》")]
        if standing.rank is not None and standing.rank <= TOP:
            plan.append((f"lecture:{activity.id}:{speaker.user_id}:top",
                         self.settings.points_lecture_top,
                         f"{activity.label} 评分第 {standing.rank} 名"))
        for ref, delta, reason in plan:
            if delta:
                await self.points.book(activity.branch_id, speaker.user_id, Category.INTERACTION,
                                       delta, reason, ref=ref)

    def ranking_lines(self, activity: SessionRow, table: list[Standing[SpeakerRow]],
                      names: dict[int, str]) -> list[str]:
        total = sum(s.count for s in table)
        lines = [f"🏆 {activity.label}「{activity.topic}」评分结果（共 {total} 个评分）："]
        for s in table:
            who = f"{names[s.item.user_id]}《{s.item.title}》"
            if s.rank is None:
                lines.append(f"— {who}暂无评分")
            else:
                lines.append(f"第 {s.rank} 名 {who}平均 {mean_text(s.mean)}（{s.count} 人评分）")
        settings = self.settings
        if settings.points_lecture or settings.points_lecture_top:
            lines.append(f"每位讲者获得 {settings.points_lecture} 积分（互动），前 {TOP} 名另加 "
                         f"{settings.points_lecture_top} 分。")
        return lines

    async def catch_up(self) -> tuple[list[int], list[RoundRow]]:
        """At start-up: close every round whose time passed while the bot was down (the
        ranking is still worth posting late); the others are returned to be armed."""
        now = self.clock.timestamp()
        closed, pending = [], []
        for found in await self.repo.open_rounds():
            if found.closes_at > now:
                pending.append(found)
            elif await self.close_due(found.session_id) is not None:
                closed.append(found.session_id)
        return closed, pending

    # report, export and the showcase -----------------------------------------------------

    async def lectures_between(self, branch_id: int, since: int, until: int) -> list[Lecture]:
        """Activities with speakers that started in [since, until) up to now, not cancelled."""
        held_until = min(until, self.clock.timestamp() + 1)
        return [Lecture(a, r, await self.repo.speakers(a.id))
                for a, r in await self.repo.rounds_between(branch_id, since, held_until)]

    async def figures(self, branch_id: int, since: int, until: int) -> LectureFigures:
        lectures = await self.lectures_between(branch_id, since, until)
        talks: list[tuple[BestLecture, list[int]]] = []
        every: list[int] = []
        for lecture in lectures:
            names = await self.speaker_names(lecture)
            for standing in await self.standings(lecture):
                talks.append((BestLecture(lecture.activity, standing.item,
                                          names[standing.item.user_id]), list(standing.scores)))
                every += standing.scores
        best = tuple(s for s in rank_by_mean(talks) if s.rank is not None and s.rank <= TOP)
        return LectureFigures(held=len(lectures), speakers=sum(len(x.speakers) for x in lectures),
                              scores=tuple(every), best=best)

    async def rankings(self, branch_id: int, since: int, until: int
                       ) -> list[tuple[Lecture, list[Standing[SpeakerRow]], dict[int, str]]]:
        """The closed rounds of [since, until) with their rankings (for the showcase page)."""
        found = []
        for lecture in await self.lectures_between(branch_id, since, until):
            if lecture.round.closed_at is not None:
                found.append((lecture, await self.standings(lecture),
                              await self.speaker_names(lecture)))
        return found

    async def sheets(self, branch_id: int, since: int, until: int
                     ) -> list[tuple[str, tuple[str, ...], list[tuple]]]:
        """The export's 微党课 sheet (a row per speaker with every score) and 微党课评分 sheet
        (a row per score; an anonymous round's rows name no scorer and carry no time)."""
        speakers_rows: list[tuple] = []
        score_rows: list[tuple] = []
        fmt = "%Y-%m-%d %H:%M"
        for lecture in await self.lectures_between(branch_id, since, until):
            a = lecture.activity
            names = await self.speaker_names(lecture)
            table = await self.standings(lecture)
            for s in table:
                speakers_rows.append((
                    a.id, a.kind, a.topic, self.clock.format(a.starts_at, fmt), s.item.user_id,
                    names[s.item.user_id], s.item.title, s.count,
                    None if s.mean is None else round(s.mean, 2), s.rank,
                    "、".join(str(x) for x in s.scores),
                    "已截止" if lecture.round.closed_at is not None else "评分中"))
            rows = await self.repo.scores(a.id)
            scorers = await self.branches.names(
                branch_id, [r.scorer_id for r in rows if r.scorer_id is not None])
            by_speaker = {s.user_id: s for s in lecture.speakers}
            for r in rows:
                speaker = by_speaker[r.speaker_id]
                if lecture.round.anonymous or r.scorer_id is None:
                    who: tuple = ("（匿名）", "（匿名）", None)
                else:
                    who = (r.scorer_id, scorers.get(r.scorer_id, str(r.scorer_id)),
                           self.clock.format(r.at, fmt) if r.at else None)
                score_rows.append((a.id, a.topic, names[r.speaker_id], speaker.title, *who[:2],
                                   r.score, who[2]))
        return [
            ("微党课", ("活动编号", "类型", "主题", "开始", "讲者QQ", "讲者", "讲题", "评分数",
                     "平均分", "名次", "各评分", "状态"), speakers_rows),
            ("微党课评分", ("活动编号", "主题", "讲者", "讲题", "评分人QQ", "评分人", "分数",
                       "时间"), score_rows),
        ]
