"""The branch report (/统计) and its figures, each defined once here.

Definitions (the README repeats them):
- 成员: active profiles in the branch; by identity and per floor.
- 覆盖率 = active profiles / group members, where group members is the sum of the member counts
  the QQ side reports for the branch's groups (a person in two groups counts twice); unknown
  when the QQ side does not say.
- 应服务成员 (eligible): active members whose identity is in ``wish_claim_identities``.
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
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from config import BranchConfig
from domain.branches import Actor, BranchService
from domain.clock import Clock
from domain.models import Member, Term
from domain.points import ranked_rows
from domain.problems import target_seconds
from storage.database import Database
from storage.ledger import LedgerRepository
from storage.report import ReportRepository

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
    first: dict[str, list[float]] = {}
    resolution: list[float] = []
    for row in rows:
        collected[row["category"]] = row["collected"]
        for key in totals:
            totals[key] += row[key]
        first[row["category"]] = [s / 3600 for s in row["first"]]
        resolution += [s / 3600 for s in row["resolution"]]
    before = {k: [s / 3600 for s in v] for k, v in (previous or {}).items()}
    categories = tuple(
        CategoryFigures(name, n, tuple(sorted(first.get(name, ()))),
                        tuple(sorted(before.get(name, ()))))
        for name, n in collected.items()
    )
    return ProblemFigures(
        **totals,
        first_response_hours=tuple(sorted(h for hs in first.values() for h in hs)),
        resolution_hours=tuple(sorted(resolution)),
        previous_first_response_hours=tuple(sorted(h for hs in before.values() for h in hs)),
        categories=categories,
    )


@dataclass(frozen=True)
class FloorFigures:
    floor: str
    members: int
    eligible: int
    reaching_standard: int

    @property
    def compliance(self) -> float | None:
        return ratio(self.reaching_standard, self.eligible)


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
    problems: ProblemFigures = field(default_factory=ProblemFigures)

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
                     f"{self.wishes_rated} 个评价 ≥4 分）"),
            ("导学举办", f"{self.sessions_held} 场"),
            ("平均出勤率", percent(self.average_attendance)),
            ("读书笔记", f"{self.notes} 篇"),
            ("积分达标率", f"{percent(self.compliance)}（{self.reaching_standard}/"
                       f"{self.eligible} 人达到标准）"),
        ]
        for floor in self.floors:
            rows.append((f"楼层 {floor.floor}", f"成员 {floor.members}，应服务 {floor.eligible}，"
                                              f"达标率 {percent(floor.compliance)}"))
        top = "；".join(f"第{rank}名 {self.names.get(uid, uid)} {pts} 分"
                       for rank, uid, pts in self.top)
        rows.append(("积分前三", top or "—"))
        rows += self.problems.rows()
        return rows


class ReportService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.repo = ReportRepository(db)
        self.ledger = LedgerRepository(db)

    def eligible(self, members: list[Member]) -> list[Member]:
        return [m for m in members if m.identity in self.settings.wish_claim_identities]

    async def build(self, branch_id: int, actor: Actor, term_word: str | None = None,
                    group_members: int | None = None) -> Report:
        await self.branches.require_admin(branch_id, actor)
        return await self.build_unchecked(branch_id, term_word, group_members)

    async def build_unchecked(self, branch_id: int, term_word: str | None = None,
                              group_members: int | None = None) -> Report:
        """The report without a permission check (for the command-line export)."""
        branch = await self.branches.get_branch(branch_id)
        term = await self.branches.find_term(branch_id, term_word)
        since = term.started_at
        until = term.ended_at if term.ended_at is not None else self.clock.timestamp() + 1
        members = await self.branches.members.list_active(branch_id)
        eligible = self.eligible(members)
        eligible_ids = {m.user_id for m in eligible}
        totals = await self.ledger.period_totals(branch_id, f"term:{term.id}")
        standard = self.settings.points_standard
        reaching = {uid for uid in eligible_ids if totals.get(uid, 0) >= standard}

        by_identity: dict[str, int] = {}
        for m in members:
            by_identity[m.identity] = by_identity.get(m.identity, 0) + 1
        floors: dict[str, list[Member]] = {}
        for m in members:
            floors.setdefault(m.floor or "未填楼层", []).append(m)
        floor_figures = [
            FloorFigures(name, len(group), sum(m.user_id in eligible_ids for m in group),
                         sum(m.user_id in reaching for m in group))
            for name, group in sorted(floors.items())
        ]

        wishes = await self.repo.wish_figures(branch_id, since, until)
        held_until = min(until, self.clock.timestamp() + 1)
        sessions = await self.repo.held_sessions(branch_id, since, held_until)
        session_ids = [s["id"] for s in sessions]
        present: dict[int, set[int]] = {sid: set() for sid in session_ids}
        for session_id, user_id in await self.repo.attendee_pairs(session_ids):
            present[session_id].add(user_id)
        rates = [len(present[sid] & eligible_ids) / len(eligible_ids)
                 for sid in session_ids] if eligible_ids else []

        top_rows = await self.ledger.board(branch_id, f"term:{term.id}", TOP + 10)
        top = [r for r in ranked_rows(top_rows) if r[0] <= TOP]
        names = await self.branches.names(branch_id, [uid for _, uid, _ in top])
        problems = await self.problem_figures(branch_id, term, since, until)
        return Report(
            branch_id=branch_id, branch_name=branch.name, term=term, since=since, until=until,
            members=len(members), by_identity=by_identity, floors=floor_figures,
            group_members=group_members, eligible=len(eligible),
            reaching_standard=len(reaching), wishes_posted=wishes["posted"],
            wishes_claimed=wishes["claimed"], wishes_completed=wishes["completed"],
            wishes_rated=wishes["rated"], wishes_satisfied=wishes["satisfied"],
            sessions_held=len(sessions), attendance_rates=rates,
            notes=await self.repo.note_count(session_ids), top=top, names=names,
            problems=problems,
        )

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
