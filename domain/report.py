"""The branch report (/统计) and its figures, each defined once here.

Definitions (the README repeats them):
- 成员: active profiles in the branch; by identity and per floor.
- 覆盖率 = active profiles / group members, where group members is the sum of the member counts
  the QQ side reports for the branch's groups (a person in two groups counts twice); unknown
  when the QQ side does not say.
- 需达标成员 (eligible; shown as 入党积极分子及以上 for the default): active members whose
  identity is in ``wish_claim_identities``.
- 心愿 (wishes posted in the term): 收集 = posted; 认领 = of those, claimed at least once;
  完成 = in state 已完成 (rated or completed automatically); 满意度 = ratings ≥ 4 / rated wishes.
- 导学: 举办 = sessions that started in the term and were not cancelled; 平均出勤率 = the mean
  over those sessions of (eligible members who checked in / eligible members); 笔记 = reading
  notes submitted for those sessions.
- 积分达标率 = eligible members whose term points ≥ ``points_standard`` / eligible members.
- 前三名: the term's top 3 by points (ties share a rank, so there may be more than 3 rows).
- 民情 (problems raised in the term): 收集 = raised; 已办结 = in state 已办结 (confirmed or
  confirmed automatically); 已关闭 = closed, counted apart; 问题解决率 = 已办结 / (收集 − 已关闭);
  满意度 = ratings ≥ 4 / rated problems. Timings over problems not closed: first response =
  raised → first taken on or escalated (those that got one); resolution = raised → the latest
  已解决 (those solved). Median (the middle value, the mean of the two middle ones for an even
  count) and 90th percentile (nearest rank: the smallest value with at least 90% of values at
  or below it), in hours. 超时 = problems not closed that missed their category's first-response
  or resolution target, a missing response or fix measured up to the term's end (now for the
  current term; the condition is ``storage.problems.missed_target_sql``). 响应速度提升 =
  (previous term's median first response − this term's) / previous term's; "—" without data
  in either term. Also per category.
- 投票与问卷 (created in the term): 投票举办 = polls started; 投票平均参与率 = the mean over those
  polls of 参与率 (people with an active profile who voted / active profiles now, as
  ``domain.polls.turnout``); 问卷发放 = surveys started; 问卷回收率 = Σ people reached who
  answered / Σ people reached (those sent an invitation — a survey tied to a session invites
  its check-ins, to a wish its wisher, otherwise the active profiles when it starts — and anyone
  who answered without one: ``domain.surveys.response_figures``); 问卷满意度 = over every answer to
  the overall-score question of 满意度 surveys, the mean (1–5) and the share of 4–5
  (``domain.surveys.satisfaction_mean`` / ``satisfied_share``).
- 服务 (service, counted by when it was confirmed): a member's service in a term =
  ``service_weight_task`` × their task assignments confirmed in it + ``service_weight_wish`` ×
  wishes they helped that became 已完成 in it + ``service_weight_problem`` × problems they
  handled that became 已办结 in it. 党员服务达标率 = eligible members whose service ≥
  ``service_standard`` / eligible members (also per floor: <楼层>服务达标率); 服务来源 = the three
  counts summed over the term's members, and the weighted total; 岗位 = per kind of post, the
  term's members holding one and how many of them reached the standard (an ended term reads
  the posts frozen when it ended).
- 匹配 (wishes posted in the term that were claimed): 匹配认领占比 = those whose first claim was
  by a member matching had told of the wish / those claimed; 认领用时 = the median hours from
  posting to the first claim, against the previous term's (提速 = ``improvement``).
- 微党课 (``domain.lectures.LectureFigures``) and 微典型 with 典型案例 and 展示页浏览量
  (``domain.exemplars.ExemplarFigures``) are defined where their features live.
- Membership (成员, 身份构成, per floor, eligible, 积分前三): an ended term reads the membership
  frozen when the next term started (``term_members``); the current term today's profiles.
  Removed members are never on the 积分前三. 达标率 (积分 and 服务, per floor too for 服务),
  平均出勤率 and 满意度 also show the previous term's value and the change in percentage points.
"""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from config import IDENTITIES, BranchConfig
from domain.branches import Actor, BranchService
from domain.clock import Clock
from domain.exemplars import ExemplarFigures
from domain.floors import floor_key
from domain.lectures import LectureFigures
from domain.models import Member, Term
from domain.points import ranked_rows
from domain.polls import turnout
from domain.posts import KIND_SHORT, KINDS
from domain.problems import target_seconds
from domain.surveys import response_figures, response_rate, satisfaction_mean, satisfied_share
from domain.wording import eligible_word
from storage.database import Database
from storage.ledger import LedgerRepository
from storage.polls import PollRepository
from storage.report import ReportRepository
from storage.surveys import SurveyRepository

TOP = 3


def ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def median(values: Sequence[float]) -> float | None:
    """The middle value; the mean of the two middle ones for an even count; None if empty."""
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least ``p``% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)), 1) - 1]


def improvement(previous: float | None, current: float | None) -> float | None:
    """How much faster ``current`` is than ``previous``: (previous − current) / previous."""
    if previous is None or current is None or previous == 0:
        return None
    return (previous - current) / previous


def hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} 小时"


@dataclass(frozen=True)
class CategoryFigures:
    category: str
    collected: int
    first_response_hours: tuple[float, ...] = ()
    previous_first_response_hours: tuple[float, ...] = ()

    @property
    def first_response_median(self) -> float | None:
        return median(self.first_response_hours)

    @property
    def first_response_p90(self) -> float | None:
        return percentile(self.first_response_hours, 90)

    @property
    def response_improvement(self) -> float | None:
        return improvement(median(self.previous_first_response_hours),
                           self.first_response_median)


@dataclass(frozen=True)
class ProblemFigures:
    """The 民情 figures of a term (see the module docstring for each definition)."""

    collected: int = 0
    done: int = 0
    closed: int = 0
    rated: int = 0
    satisfied: int = 0
    overdue: int = 0
    first_response_hours: tuple[float, ...] = ()
    resolution_hours: tuple[float, ...] = ()
    previous_first_response_hours: tuple[float, ...] = ()
    categories: tuple[CategoryFigures, ...] = ()

    @property
    def resolution_rate(self) -> float | None:
        return ratio(self.done, self.collected - self.closed)

    @property
    def satisfaction(self) -> float | None:
        return ratio(self.satisfied, self.rated)

    @property
    def first_response_median(self) -> float | None:
        return median(self.first_response_hours)

    @property
    def first_response_p90(self) -> float | None:
        return percentile(self.first_response_hours, 90)

    @property
    def resolution_median(self) -> float | None:
        return median(self.resolution_hours)

    @property
    def resolution_p90(self) -> float | None:
        return percentile(self.resolution_hours, 90)

    @property
    def previous_first_response_median(self) -> float | None:
        return median(self.previous_first_response_hours)

    @property
    def response_improvement(self) -> float | None:
        return improvement(self.previous_first_response_median, self.first_response_median)

    def rows(self) -> list[tuple[str, str]]:
        def timing(values: tuple[float, ...]) -> str:
            if not values:
                return "—"
            return (f"中位 {hours(median(values))}，90% {hours(percentile(values, 90))}"
                    f"（{len(values)} 个）")

        change = percent(self.response_improvement)
        if self.response_improvement is not None:
            change += (f"（首次响应中位 {hours(self.previous_first_response_median)} → "
                       f"{hours(self.first_response_median)}）")
        rows = [
            ("民情收集", f"{self.collected} 个"),
            ("民情已办结", f"{self.done} 个"),
            ("民情已关闭", f"{self.closed} 个（不计入解决率）"),
            ("问题解决率", f"{percent(self.resolution_rate)}（{self.done}/"
                       f"{self.collected - self.closed}）"),
            ("民情满意度", f"{percent(self.satisfaction)}（{self.satisfied}/"
                       f"{self.rated} 个评价 ≥4 分）"),
            ("首次响应用时", timing(self.first_response_hours)),
            ("解决用时", timing(self.resolution_hours)),
            ("民情超时", f"{self.overdue} 个"),
            ("响应速度提升", change),
        ]
        for c in self.categories:
            rows.append((f"民情·{c.category}",
                         f"{c.collected} 个，首次响应中位 {hours(c.first_response_median)}，"
                         f"响应速度提升 {percent(c.response_improvement)}"))
        return rows


def problem_figures(settings: BranchConfig, rows: Iterable[dict],
                    previous: dict[str, list[int]] | None = None) -> ProblemFigures:
    """The figures from ``ReportRepository.problem_figures`` rows (per category) and the
    previous term's first-response seconds per category."""
    totals = dict.fromkeys(("collected", "done", "closed", "rated", "satisfied", "overdue"), 0)
    collected: dict[str, int] = dict.fromkeys(settings.problem_categories, 0)
    first: dict[str, tuple[float, ...]] = {}
    resolution: list[int] = []
    for row in rows:
        collected[row["category"]] = row["collected"]
        for key in totals:
            totals[key] += row[key]
        first[row["category"]] = _sorted_hours(row["first"])
        resolution += row["resolution"]
    before = {k: _sorted_hours(v) for k, v in (previous or {}).items()}
    categories = tuple(
        CategoryFigures(name, n, first.get(name, ()), before.get(name, ()))
        for name, n in collected.items()
    )
    # the per-category tuples are sorted runs, so sorting their concatenation is a cheap merge
    return ProblemFigures(
        **totals,
        first_response_hours=tuple(sorted(chain.from_iterable(first.values()))),
        resolution_hours=_sorted_hours(resolution),
        previous_first_response_hours=tuple(sorted(chain.from_iterable(before.values()))),
        categories=categories,
    )


def _sorted_hours(seconds: Iterable[int]) -> tuple[float, ...]:
    """Seconds as hours, in ascending order."""
    return tuple([s / 3600 for s in sorted(seconds)])


@dataclass(frozen=True)
class VoteFigures:
    """投票与问卷 of a term (see the module docstring for each definition)."""

    polls: int = 0
    turnouts: tuple[float, ...] = ()  # 参与率 of each poll (branches with profiles)
    surveys: int = 0
    answered: int = 0
    invited: int = 0
    scores: tuple[int, ...] = ()  # answers to the 满意度 surveys' overall-score question

    @property
    def mean_turnout(self) -> float | None:
        return statistics.fmean(self.turnouts) if self.turnouts else None

    @property
    def response_rate(self) -> float | None:
        return response_rate(self.answered, self.invited)

    @property
    def satisfaction_mean(self) -> float | None:
        return satisfaction_mean(self.scores)

    @property
    def satisfied_share(self) -> float | None:
        return satisfied_share(self.scores)

    def rows(self) -> list[tuple[str, str]]:
        mean = self.satisfaction_mean
        score = ("—（没有满意度问卷的评分）" if mean is None else
                 f"平均 {mean:.2f} 分，4–5 分占 {percent(self.satisfied_share)}"
                 f"（{len(self.scores)} 份评分）")
        return [
            ("投票举办", f"{self.polls} 次"),
            ("投票平均参与率", percent(self.mean_turnout)),
            ("问卷发放", f"{self.surveys} 份"),
            ("问卷回收率", f"{percent(self.response_rate)}（{self.answered}/{self.invited} 人次）"),
            ("问卷满意度", score),
        ]


@dataclass(frozen=True)
class ServiceCount:
    """One member's service in a term, by source."""

    tasks: int = 0  # task assignments confirmed
    wishes: int = 0  # wishes helped to 已完成
    problems: int = 0  # problems handled to 已办结

    def weighted(self, settings: BranchConfig) -> int:
        return (settings.service_weight_task * self.tasks
                + settings.service_weight_wish * self.wishes
                + settings.service_weight_problem * self.problems)

    def __add__(self, other: ServiceCount) -> ServiceCount:
        return ServiceCount(self.tasks + other.tasks, self.wishes + other.wishes,
                            self.problems + other.problems)


@dataclass(frozen=True)
class ServiceFloor:
    floor: str
    eligible: int
    reaching: int

    @property
    def compliance(self) -> float | None:
        return ratio(self.reaching, self.eligible)


@dataclass(frozen=True)
class ServiceFigures:
    """The service standard of a term (see the module docstring for each definition)."""

    standard: int
    eligible: int = 0
    reaching: int = 0
    floors: tuple[ServiceFloor, ...] = ()
    total: ServiceCount = ServiceCount()
    weighted: int = 0
    posts: tuple[tuple[str, int, int], ...] = ()  # (kind label, holders, reaching)

    @property
    def compliance(self) -> float | None:
        return ratio(self.reaching, self.eligible)

    def rows(self, trend: TermTrend | None) -> list[tuple[str, str]]:
        before = trend.service if trend else None
        rows = [("党员服务达标率", f"{percent(self.compliance)}（{self.reaching}/{self.eligible} "
                              f"人服务达到 {self.standard}）"
                 + change(self.compliance, before, trend))]
        for floor in self.floors:
            earlier = trend.service_floors.get(floor.floor) if trend else None
            rows.append((f"{floor.floor}服务达标率",
                         f"{percent(floor.compliance)}（{floor.reaching}/{floor.eligible} 人）"
                         + change(floor.compliance, earlier, trend)))
        t = self.total
        rows.append(("服务来源", f"任务 {t.tasks} 次，心愿 {t.wishes} 次，民情 {t.problems} 次"
                              f"（加权合计 {self.weighted}）"))
        rows.append(("岗位", "，".join(f"{label} {held} 人（服务达标 {reached}）"
                                     for label, held, reached in self.posts) or "—"))
        return rows


@dataclass(frozen=True)
class MatchFigures:
    """Wishes matched to members (see the module docstring for each definition)."""

    claimed: int = 0
    by_notified: int = 0
    claim_hours: tuple[float, ...] = ()
    previous_claim_hours: tuple[float, ...] | None = None  # None: no previous term

    @property
    def notified_share(self) -> float | None:
        return ratio(self.by_notified, self.claimed)

    @property
    def claim_median(self) -> float | None:
        return median(self.claim_hours)

    @property
    def previous_claim_median(self) -> float | None:
        return median(self.previous_claim_hours or ())

    @property
    def claim_improvement(self) -> float | None:
        return improvement(self.previous_claim_median, self.claim_median)

    def rows(self) -> list[tuple[str, str]]:
        timing = (f"中位 {hours(self.claim_median)}（{len(self.claim_hours)} 个）"
                  if self.claim_hours else "—")
        if self.previous_claim_hours is not None:
            timing += f"；上学期 {hours(self.previous_claim_median)}"
            if self.claim_improvement is not None:
                timing += f"，提速 {percent(self.claim_improvement)}"
        return [
            ("匹配认领占比", f"{percent(self.notified_share)}（{self.by_notified}/{self.claimed} 个"
                         "被认领的心愿由收到匹配通知的成员认领）"),
            ("认领用时", timing),
        ]


@dataclass(frozen=True)
class FloorFigures:
    floor: str
    members: int
    eligible: int
    reaching_standard: int
    leader: str | None = None  # the 党小组 leader's name

    @property
    def compliance(self) -> float | None:
        return ratio(self.reaching_standard, self.eligible)


@dataclass(frozen=True)
class TermTrend:
    """The previous term's figures that a trend is shown for (/统计 compares them)."""

    name: str
    compliance: float | None
    average_attendance: float | None
    satisfaction: float | None
    service: float | None = None  # 党员服务达标率
    service_floors: dict[str, float | None] = field(default_factory=dict)


def delta_points(now: float | None, before: float | None) -> str | None:
    """``↑18.0`` / ``↓3.5`` (percentage points) or ``持平``; None when either is missing."""
    if now is None or before is None:
        return None
    points = (now - before) * 100
    if abs(points) < 0.05:
        return "持平"
    return f"{'↑' if points > 0 else '↓'}{abs(points):.1f}"


def change(now: float | None, before: float | None, trend: TermTrend | None) -> str:
    """``；上学期 78.0%，↑18.0 个百分点`` ('' without a previous term)."""
    if trend is None:
        return ""
    text = f"；上学期 {percent(before)}"
    delta = delta_points(now, before)
    if delta is None:
        return text
    return text + ("，持平" if delta == "持平" else f"，{delta} 个百分点")


@dataclass(frozen=True)
class DataVersion:
    """What a picture of a term's report depends on: the branch's change counter (bumped by the
    database on every write a figure reads) and, for the current term, the first moment a
    figure may change by time alone (an activity starts, a problem misses a target, a month or
    quarter begins). A picture is reused while the counter is the same and that moment has not
    come; an ended term's figures change only with the counter."""

    counter: int
    valid_until: int | None  # None: only a write changes the figures

    def still(self, counter: int, now: int) -> bool:
        """Whether a picture drawn at this version still shows the figures, given the branch's
        counter now (``ReportService.counter``)."""
        return self.counter == counter and (self.valid_until is None or now < self.valid_until)


def next_month(clock: Clock, now: int) -> int:
    """00:00 of the first day of the month after ``now``, in the branch's timezone."""
    moment = clock.from_timestamp(now)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return int(moment.replace(year=year, month=month, day=1, hour=0, minute=0, second=0,
                              microsecond=0).timestamp())


@dataclass(frozen=True)
class Membership:
    """Who the term counts: its active members, floor leaders and removed people."""

    members: list[Member]
    leaders: dict[str, int]
    removed: set[int]
    frozen: bool  # read from the term's frozen membership (an ended term)


@dataclass
class Report:
    branch_id: int
    branch_name: str
    term: Term
    since: int
    until: int
    members: int
    by_identity: dict[str, int]
    floors: list[FloorFigures]
    group_members: int | None
    eligible: int
    reaching_standard: int
    wishes_posted: int
    wishes_claimed: int
    wishes_completed: int
    wishes_rated: int
    wishes_satisfied: int
    sessions_held: int
    attendance_rates: list[float]
    notes: int
    top: list[tuple[int, int, int]]  # (rank, user, points)
    names: dict[int, str] = field(default_factory=dict)
    previous: TermTrend | None = None  # the previous term, for the trend
    eligible_word: str = "入党积极分子及以上"
    roster: list[Member] = field(default_factory=list)  # the members counted, floor order
    leaders: dict[str, int] = field(default_factory=dict)  # floor → its 党小组 leader
    problems: ProblemFigures = field(default_factory=ProblemFigures)
    votes: VoteFigures = field(default_factory=VoteFigures)
    activities: list = field(default_factory=list)  # KindFigures per kind (domain.activities)
    service: ServiceFigures | None = None
    service_counts: dict[int, ServiceCount] = field(default_factory=dict)  # per member
    posts: list = field(default_factory=list)  # the term's posts (storage.posts.PostRow)
    tasks: Any = None  # TaskFigures (domain.tasks)
    matching: MatchFigures = field(default_factory=MatchFigures)
    lectures: LectureFigures = field(default_factory=LectureFigures)  # 微党课 (domain.lectures)
    exemplars: ExemplarFigures = field(default_factory=ExemplarFigures)  # 微典型, 展示页

    @property
    def coverage(self) -> float | None:
        return None if not self.group_members else self.members / self.group_members

    @property
    def satisfaction(self) -> float | None:
        return ratio(self.wishes_satisfied, self.wishes_rated)

    @property
    def average_attendance(self) -> float | None:
        rates = self.attendance_rates
        return None if not rates else sum(rates) / len(rates)

    @property
    def compliance(self) -> float | None:
        return ratio(self.reaching_standard, self.eligible)

    def figures(self) -> list[tuple[str, str]]:
        """(label, value) rows, the same in the group reply and the spreadsheet."""
        before = self.previous
        coverage = (f"{percent(self.coverage)}（{self.members}/{self.group_members}）"
                    if self.group_members else "未知（QQ 端未提供群人数）")
        rows = [
            ("支部", f"#{self.branch_id} {self.branch_name}"),
            ("学期", self.term.name),
            ("成员", f"{self.members} 人"),
            ("身份构成", "，".join(f"{k} {v}" for k, v in self.by_identity.items()) or "—"),
            ("覆盖率", coverage),
            ("心愿收集", f"{self.wishes_posted} 个"),
            ("心愿认领", f"{self.wishes_claimed} 个"),
            ("服务完成", f"{self.wishes_completed} 个"),
            ("满意度", f"{percent(self.satisfaction)}（{self.wishes_satisfied}/"
                     f"{self.wishes_rated} 个评价 ≥4 分）"
                     + change(self.satisfaction, before and before.satisfaction, before)),
            *self.matching.rows(),
            ("导学举办", f"{self.sessions_held} 场"),
            ("平均出勤率", percent(self.average_attendance)
             + change(self.average_attendance, before and before.average_attendance, before)),
            ("读书笔记", f"{self.notes} 篇"),
            ("积分达标率", f"{percent(self.compliance)}（{self.reaching_standard}/"
                       f"{self.eligible} 人达到标准）"
                       + change(self.compliance, before and before.compliance, before)),
        ]
        for floor in self.floors:
            leader = f"；党小组组长 {floor.leader}" if floor.leader else ""
            rows.append((floor.floor, f"成员 {floor.members} 人，其中{self.eligible_word} "
                                      f"{floor.eligible} 人，积分达标 {floor.reaching_standard} 人"
                                      f"（{percent(floor.compliance)}）{leader}"))
        top = "；".join(f"第{rank}名 {self.names.get(uid, uid)} {pts} 分"
                       for rank, uid, pts in self.top)
        rows.append(("积分前三", top or "—"))
        if self.service is not None:
            rows += self.service.rows(before)
        if self.tasks is not None:
            rows += self.tasks.rows()
        rows += self.problems.rows()
        rows += [kind.row() for kind in self.activities]
        rows += self.lectures.rows()
        rows += self.exemplars.rows()
        rows += self.votes.rows()
        return rows


async def _just(value: Any) -> Any:
    """``value``, awaitable (a part of the report that this bot does not have)."""
    return value


class ReportService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.repo = ReportRepository(db)
        self.ledger = LedgerRepository(db)
        # set when the services are wired: ActivityService, PostService, TaskService,
        # LectureService, ExemplarService
        self.activities = None
        self.posts = None
        self.tasks = None
        self.lectures = None
        self.exemplars = None

    def eligible(self, members: list[Member]) -> list[Member]:
        return [m for m in members if m.identity in self.settings.wish_claim_identities]

    async def build(self, branch_id: int, actor: Actor, term_word: str | None = None,
                    group_members: int | None = None) -> Report:
        await self.branches.require_admin(branch_id, actor)
        return await self.build_unchecked(branch_id, term_word, group_members)

    async def build_unchecked(self, branch_id: int, term_word: str | None = None,
                              group_members: int | None = None) -> Report:
        """The report without a permission check (for the command-line export)."""
        await self.branches.get_branch(branch_id)  # not found: before any term is made
        term = await self.branches.find_term(branch_id, term_word)
        return await self.build_term(branch_id, term, group_members)

    async def history(self, branch_id: int, term: Term,
                      group_members: int | None = None) -> list[Report]:
        """The report of every term of the branch up to ``term``, oldest first (the last one
        is ``term``'s, with ``group_members``): the report card's line over the terms."""
        terms = [t for t in await self.branches.terms(branch_id) if t.id <= term.id]
        return [await self.build_term(branch_id, t, group_members if t.id == term.id else None)
                for t in terms]

    async def counter(self, branch_id: int) -> int:
        """The branch's change counter: one indexed read, for checking a cached picture."""
        return await self.repo.data_version(branch_id)

    async def version(self, branch_id: int, term: Term) -> DataVersion:
        """What a picture of ``term``'s report depends on (see ``DataVersion``)."""
        counter = await self.repo.data_version(branch_id)
        if term.ended_at is not None:
            return DataVersion(counter, None)
        now = self.clock.timestamp()
        moments = [
            await self.repo.next_start(branch_id, now),
            await self.repo.next_deadline(branch_id, term.started_at, now + 1,
                                          target_seconds(self.settings), now),
            next_month(self.clock, now),
        ]
        return DataVersion(counter, min(m for m in moments if m is not None))

    async def build_term(self, branch_id: int, term: Term,
                         group_members: int | None = None) -> Report:
        """The report of ``term`` (no permission check)."""
        branch = await self.branches.get_branch(branch_id)
        since = term.started_at
        until = term.ended_at if term.ended_at is not None else self.clock.timestamp() + 1
        held = await self.membership(branch_id, term)
        members = held.members
        eligible = self.eligible(members)
        eligible_ids = {m.user_id for m in eligible}
        # the parts read side by side: one part's Python runs while another's query runs in
        # the database thread (a big branch's report is half each)
        (totals, wishes, (rates, session_ids, sessions), problems, counts, posts, activities,
         votes, tasks, matching, lectures, exemplars, previous) = await asyncio.gather(
            self.ledger.period_totals(branch_id, f"term:{term.id}"),
            self.repo.wish_figures(branch_id, since, until),
            self._attendance(branch_id, since, until, eligible_ids),
            self.problem_figures(branch_id, term, since, until),
            self.service_counts(branch_id, since, until),
            self.posts.of_term(branch_id, term) if self.posts is not None else _just([]),
            self.activities.figures(branch_id, since, until, None if held.frozen else members)
            if self.activities is not None else _just([]),
            self.vote_figures(branch_id, since, until),
            self.tasks.figures(branch_id, since, until)
            if self.tasks is not None else _just(None),
            self.match_figures(branch_id, term, since, until),
            self.lectures.figures(branch_id, since, until)
            if self.lectures is not None else _just(LectureFigures()),
            self.exemplars.figures(branch_id, term, since, until)
            if self.exemplars is not None else _just(ExemplarFigures()),
            self.trend(branch_id, term),
        )
        standard = self.settings.points_standard
        reaching = {uid for uid in eligible_ids if totals.get(uid, 0) >= standard}

        counted = {i: 0 for i in IDENTITIES}
        for m in members:
            counted[m.identity] = counted.get(m.identity, 0) + 1
        by_identity = {k: v for k, v in counted.items() if v}
        floors: dict[str | None, list[Member]] = {}
        for m in members:
            floors.setdefault(m.floor, []).append(m)

        top = [r for r in ranked_rows(self._board(totals, held)) if r[0] <= TOP]
        names = await self.branches.names(
            branch_id, [uid for _, uid, _ in top] + list(held.leaders.values()))
        floor_figures = [
            FloorFigures(name or "未填楼层", len(group),
                         sum(m.user_id in eligible_ids for m in group),
                         sum(m.user_id in reaching for m in group),
                         names.get(held.leaders[name]) if name in held.leaders else None)
            for name, group in sorted(floors.items(), key=lambda f: floor_key(f[0]))
        ]
        return Report(
            branch_id=branch_id, branch_name=branch.name, term=term, since=since, until=until,
            members=len(members), by_identity=by_identity, floors=floor_figures,
            group_members=group_members, eligible=len(eligible),
            reaching_standard=len(reaching), wishes_posted=wishes["posted"],
            wishes_claimed=wishes["claimed"], wishes_completed=wishes["completed"],
            wishes_rated=wishes["rated"], wishes_satisfied=wishes["satisfied"],
            sessions_held=len(sessions), attendance_rates=rates,
            notes=await self.repo.note_count(session_ids), top=top, names=names,
            previous=previous,
            eligible_word=eligible_word(self.settings),
            roster=sorted(members, key=lambda m: (floor_key(m.floor), m.dorm is None,
                                                  m.dorm or "", m.name, m.user_id)),
            leaders=held.leaders,
            problems=problems,
            activities=activities,
            votes=votes,
            service=self.service_figures(members, counts, posts),
            service_counts=counts, posts=posts,
            tasks=tasks,
            matching=matching,
            lectures=lectures,
            exemplars=exemplars,
        )

    # service (服务达标) ------------------------------------------------------------------------

    async def service_counts(self, branch_id: int, since: int,
                             until: int) -> dict[int, ServiceCount]:
        """Per person, service confirmed in [since, until) by source."""
        tasks = await self.tasks.repo.confirmed_by_person(branch_id, since, until) \
            if self.tasks is not None else {}
        wishes = await self.repo.wishes_helped(branch_id, since, until)
        problems = await self.repo.problems_handled(branch_id, since, until)
        return {uid: ServiceCount(tasks.get(uid, 0), wishes.get(uid, 0), problems.get(uid, 0))
                for uid in {*tasks, *wishes, *problems}}

    def reaches_service(self, count: ServiceCount | None) -> bool:
        """Whether a term's service reaches ``service_standard`` (达标)."""
        return (count or ServiceCount()).weighted(self.settings) >= self.settings.service_standard

    def service_figures(self, members: list[Member], counts: dict[int, ServiceCount],
                        posts: list) -> ServiceFigures:
        """党员服务达标率 overall and per floor, the sources, and the posts (module docstring)."""
        eligible = self.eligible(members)
        reaching = {m.user_id for m in eligible if self.reaches_service(counts.get(m.user_id))}
        floors: dict[str | None, list[Member]] = {}
        for m in eligible:
            floors.setdefault(m.floor, []).append(m)
        total = sum((counts.get(m.user_id, ServiceCount()) for m in members), ServiceCount())
        counted = {m.user_id for m in members}
        by_kind = []
        for kind in KINDS:
            holders = {p.user_id for p in posts if p.kind == kind and p.user_id in counted}
            if holders:
                by_kind.append((KIND_SHORT[kind], len(holders),
                                sum(self.reaches_service(counts.get(u)) for u in holders)))
        return ServiceFigures(
            standard=self.settings.service_standard, eligible=len(eligible),
            reaching=len(reaching),
            floors=tuple(ServiceFloor(name or "未填楼层", len(group),
                                      sum(m.user_id in reaching for m in group))
                         for name, group in sorted(floors.items(), key=lambda f: floor_key(f[0]))),
            total=total, weighted=total.weighted(self.settings), posts=tuple(by_kind))

    async def match_figures(self, branch_id: int, term: Term, since: int,
                            until: int) -> MatchFigures:
        """匹配认领占比 and 认领用时 of the wishes posted in the term, and the previous term's
        认领用时."""
        claims = await self.repo.first_claims(branch_id, since, until)
        earlier = [t for t in await self.branches.terms(branch_id) if t.id < term.id]
        previous = None
        if earlier:
            last = earlier[-1]
            end = last.ended_at if last.ended_at is not None else term.started_at
            previous = _sorted_hours(c["seconds"] for c in
                                     await self.repo.first_claims(branch_id, last.started_at, end))
        return MatchFigures(len(claims), sum(bool(c["notified"]) for c in claims),
                            _sorted_hours(c["seconds"] for c in claims), previous)

    async def membership(self, branch_id: int, term: Term) -> Membership:
        """An ended term's frozen membership (kept when the next term started); the current
        term's from today's profiles."""
        floors = self.branches.floors
        if term.ended_at is not None:
            frozen, leaders = await floors.frozen(branch_id, term.id)
            return Membership([m for m in frozen if m.active], leaders,
                              {m.user_id for m in frozen if not m.active}, True)
        profiles = await floors.all_profiles(branch_id)
        return Membership([m for m in profiles if m.active], await floors.leaders(branch_id),
                          {m.user_id for m in profiles if not m.active}, False)

    @staticmethod
    def _board(totals: dict[int, int], held: Membership) -> list[tuple[int, int]]:
        """(user, total) by total: removed people are off the board; an ended term's board
        holds only its frozen members."""
        counted = {m.user_id for m in held.members}
        rows = [(uid, pts) for uid, pts in totals.items()
                if uid not in held.removed and (not held.frozen or uid in counted)]
        return sorted(rows, key=lambda r: (-r[1], r[0]))

    async def _attendance(self, branch_id: int, since: int, until: int, eligible_ids: set[int]
                          ) -> tuple[list[float], list[int], list[dict]]:
        """Per held session, eligible members who checked in / eligible members."""
        held_until = min(until, self.clock.timestamp() + 1)
        sessions = await self.repo.held_sessions(branch_id, since, held_until)
        session_ids = [s["id"] for s in sessions]
        present = await self.repo.attendance_counts(session_ids, eligible_ids)
        rates = [present.get(sid, 0) / len(eligible_ids)
                 for sid in session_ids] if eligible_ids else []
        return rates, session_ids, sessions

    async def trend(self, branch_id: int, term: Term) -> TermTrend | None:
        """达标率, 出勤率 and 满意度 of the term before ``term`` (None for the first term)."""
        earlier = [t for t in await self.branches.terms(branch_id) if t.id < term.id]
        if not earlier:
            return None
        last = earlier[-1]  # ended, so its membership is frozen
        until = last.ended_at if last.ended_at is not None else term.started_at
        floors, identities = self.branches.floors, list(self.settings.wish_claim_identities)
        ids, reaching = await floors.frozen_standing(branch_id, last.id, identities,
                                                     self.settings.points_standard)
        held = await self.repo.held_sessions(branch_id, last.started_at,
                                             min(until, self.clock.timestamp() + 1))
        came = await floors.frozen_attendance(last.id, [s["id"] for s in held], identities)
        rates = [n / len(ids) for n in came] if ids else []  # as ``_attendance`` counts
        wishes = await self.repo.wish_figures(branch_id, last.started_at, until)
        frozen, _ = await floors.frozen(branch_id, last.id)
        members = [m for m in frozen if m.active]
        service = self.service_figures(
            members, await self.service_counts(branch_id, last.started_at, until), [])
        return TermTrend(last.name, ratio(reaching, len(ids)),
                         sum(rates) / len(rates) if rates else None,
                         ratio(wishes["satisfied"], wishes["rated"]), service.compliance,
                         {f.floor: f.compliance for f in service.floors})

    async def vote_figures(self, branch_id: int, since: int, until: int) -> VoteFigures:
        """The 投票与问卷 figures of polls and surveys created in [since, until)."""
        polls = PollRepository(self.db)
        members = await polls.active_members(branch_id)
        voters = await polls.turnout_rows(branch_id, since, until)
        rates = tuple(r for r in (turnout(v, members) for v in voters) if r is not None)
        surveys = SurveyRepository(self.db)
        created = await surveys.created_between(branch_id, since, until)
        answered = invited = 0
        for survey in created:
            yes, asked = await response_figures(surveys, survey)
            answered, invited = answered + yes, invited + asked
        scores = await surveys.satisfaction_scores(branch_id, since, until)
        return VoteFigures(len(voters), rates, len(created), answered, invited, tuple(scores))

    async def problem_figures(self, branch_id: int, term: Term, since: int,
                              until: int) -> ProblemFigures:
        """The 民情 figures of ``term``, with the previous term's first responses."""
        earlier = [t for t in await self.branches.terms(branch_id) if t.id < term.id]
        previous: dict[str, list[int]] = {}
        if earlier:
            last = earlier[-1]
            end = last.ended_at if last.ended_at is not None else term.started_at
            previous = await self.repo.problem_first_responses(branch_id, last.started_at, end)
        at = min(until, self.clock.timestamp())
        rows = await self.repo.problem_figures(branch_id, since, until,
                                               target_seconds(self.settings), at)
        return problem_figures(self.settings, rows, previous)
