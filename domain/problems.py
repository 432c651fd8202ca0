"""民情收集站: problems raised (in a group or privately), taken on, solved and confirmed, with
measured response times, overdue reminders, the weekly list and the handler's points.

States: 待受理 → 处理中 → 已解决 → 已办结; 已上报 (escalated outside the branch) waits for a
result recorded with 解决; 已关闭 ends any open problem and is counted apart.

Privacy: a problem raised in a private chat (``private``) shows its content and reporter only to
admins, its handler and the reporter; an anonymous one shows "匿名同学" to all but admins (and the
reporter). Group audiences see content only of group-raised, non-anonymous problems. Content is
never logged above DEBUG.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from config import BranchConfig
from domain.branches import Actor, BranchService
from domain.clock import Clock
from domain.errors import DomainError, Forbidden, NotFound
from domain.models import Branch, Category, Problem, ProblemEvent, ProblemState
from domain.outbox import OutboxService, at_segment, text_segment
from domain.points import PointsService, week_start
from domain.text import optional_text, require_text
from storage.database import Database
from storage.problems import ProblemRepository, Targets

log = logging.getLogger("zhibu.problems")

S = ProblemState
OPEN_STATES = (S.PENDING, S.IN_PROGRESS, S.ESCALATED, S.SOLVED)
UNSOLVED_STATES = (S.PENDING, S.IN_PROGRESS, S.ESCALATED)
ALL_STATES = tuple(S)
DEFAULT_TARGET = "默认"
FALLBACK_CATEGORY = "其他"
ANONYMOUS_NAME = "匿名同学"
HIDDEN_PRIVATE = "（私下反映，内容不公开）"
HIDDEN_ANONYMOUS = "（匿名反映，内容不公开）"
ALL_WORD = "全部"
WEEKLY_DAYS = 7
SNIPPET = 30  # characters of content in one-line listings
_BRANCH_WORD = re.compile(r"^支部\s*[#＃]?\s*(\d+)(?:\s+(.*))?$", re.DOTALL)


# targets and overdue rules (the SQL in storage.problems applies the same rules) ------------


def first_response_target_hours(settings: BranchConfig, category: str) -> float:
    """Hours from raising to the first response (taken on or escalated) for ``category``."""
    targets = settings.problem_first_response_hours
    return targets.get(category, targets[DEFAULT_TARGET])


def resolution_target_hours(settings: BranchConfig, category: str) -> float:
    """Hours from raising to 已解决 for ``category``."""
    targets = settings.problem_resolution_hours
    return targets.get(category, targets[DEFAULT_TARGET])


def overdue_now(problem: Problem, settings: BranchConfig, now: int) -> str | None:
    """Why an unsolved problem is overdue at ``now``: 受理超时, 解决超时, or None.

    Overdue means the deadline has passed (strictly later than raised + target). The
    repository selects with the same rule (``storage.problems.overdue_now_sql``).
    """
    if not problem.state.is_unsolved:
        return None
    age = now - problem.raised_at
    if problem.state is S.PENDING and age > first_response_target_hours(
            settings, problem.category) * 3600:
        return "受理超时"
    if age > resolution_target_hours(settings, problem.category) * 3600:
        return "解决超时"
    return None


def target_seconds(settings: BranchConfig) -> Targets:
    """The targets in seconds, for the repository's overdue conditions."""
    first = settings.problem_first_response_hours
    resolution = settings.problem_resolution_hours
    return Targets(
        first_default=first[DEFAULT_TARGET] * 3600,
        resolution_default=resolution[DEFAULT_TARGET] * 3600,
        first={k: v * 3600 for k, v in first.items() if k != DEFAULT_TARGET},
        resolution={k: v * 3600 for k, v in resolution.items() if k != DEFAULT_TARGET},
    )


# who sees what ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who reads a rendering: one person in a private chat, or (``user_id`` None) a group."""

    user_id: int | None = None
    is_admin: bool = False

    @property
    def is_group(self) -> bool:
        return self.user_id is None


GROUP = Viewer()


def can_see_content(problem: Problem, viewer: Viewer) -> bool:
    """Groups see the content of group-raised, non-anonymous problems only; a person sees a
    private problem's content when they are an admin, its reporter or its handler."""
    if viewer.is_group:
        return not problem.private and not problem.anonymous
    if not problem.private:
        return True
    return viewer.is_admin or viewer.user_id in (problem.reporter_id, problem.handler_id)


def content_for(problem: Problem, viewer: Viewer) -> str:
    if can_see_content(problem, viewer):
        return problem.content
    return HIDDEN_PRIVATE if problem.private else HIDDEN_ANONYMOUS


def reporter_for(problem: Problem, viewer: Viewer, names: dict[int, str]) -> str:
    """The reporter as ``viewer`` may see them: admins (privately) and the reporter see the
    name; everyone else sees 匿名同学 for anonymous problems, and for private ones unless they
    are the handler."""
    name = names.get(problem.reporter_id, str(problem.reporter_id))
    if not viewer.is_group and (viewer.is_admin or viewer.user_id == problem.reporter_id):
        return name + ("（匿名）" if problem.anonymous else "")
    if problem.anonymous:
        return ANONYMOUS_NAME
    if problem.private and (viewer.is_group or viewer.user_id != problem.handler_id):
        return ANONYMOUS_NAME
    return name


def hours_text(hours: float) -> str:
    return f"{hours:.1f} 小时" if hours < 48 else f"{hours / 24:.1f} 天"


def split_category(text: str, categories: Iterable[str]) -> tuple[str, str]:
    """(category, content): a known first word is the category, otherwise 其他."""
    cleaned = (text or "").strip()
    parts = cleaned.split(maxsplit=1)
    if parts and parts[0] in set(categories):
        return parts[0], parts[1] if len(parts) > 1 else ""
    return FALLBACK_CATEGORY, cleaned


def split_branch_word(text: str) -> tuple[int | None, str]:
    """A leading ``支部#2`` (for private submissions) and the rest of the text."""
    cleaned = (text or "").strip()
    match = _BRANCH_WORD.match(cleaned)
    if match:
        return int(match.group(1)), (match.group(2) or "").strip()
    return None, cleaned


# results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProblemPage:
    problems: list[Problem]
    page: int
    pages: int
    total: int
    label: str  # what the page lists, e.g. 未办结 or 已关闭 or 报修


@dataclass(frozen=True)
class DoneProblem:
    problem: Problem
    points: int  # points booked to the handler by this 办结


@dataclass(frozen=True)
class OverdueProblem:
    problem: Problem
    kind: str  # 受理超时 / 解决超时
    target_hours: float
    age_hours: float


@dataclass(frozen=True)
class ProblemList:
    """The 问题清单: unsolved ones oldest first, those solved this week, the overdue count."""

    branch_id: int
    open: list[Problem]
    open_total: int
    solved: list[Problem]
    solved_total: int
    overdue: int
    since: int  # start of the "solved" window
    names: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OverdueQueued:
    handlers: int  # private reminders queued to handlers
    admins: int  # daily lines queued to admins

    @property
    def total(self) -> int:
        return self.handlers + self.admins


def problem_mention(user_id: int, problem_id: int, what: str) -> list[dict]:
    """What the group sees when a 民情 notice cannot reach the person privately: an
    @-mention and the command to look it up, never the problem's text."""
    return [at_segment(user_id),
            text_segment(f" {what}，请加我为好友后私聊发送 /民情 详情 #{problem_id} 查看。")]


class ProblemService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService, points: PointsService,
                 outbox: OutboxService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.points = points
        self.outbox = outbox
        self.repo = ProblemRepository(db)
        # run inside the transaction that records a new problem (the responsibility area's
        # notice)
        self.on_raised: list[Callable[[Problem], Awaitable[None]]] = []

    # who is asking -----------------------------------------------------------------------

    async def viewer(self, branch_id: int, actor: Actor, *, in_group: bool) -> Viewer:
        """The audience of a reply: the whole group, or ``actor`` in a private chat."""
        if in_group:
            return GROUP
        return Viewer(actor.user_id, await self.branches.is_admin(branch_id, actor))

    async def branch_for_private(self, user_id: int, branch_no: int | None = None) -> Branch:
        """The branch of a private submission: the one the person is registered in, or the one
        named (``支部#N``) when there are several."""
        return await self.branches.own_branch(
            user_id, branch_no, example="/反映 支部#{n} <内容>",
            unregistered="你还没有在任何支部登记，无法私聊反映。请先在支部群里发送 "
                         "/登记 <姓名>，或直接在群里 /反映。")

    # reading -----------------------------------------------------------------------------

    async def get(self, branch_id: int, problem_id: int) -> Problem:
        problem = await self.repo.get(branch_id, problem_id)
        if problem is None:
            raise NotFound(f"没有找到民情 #{problem_id}。")
        return problem

    async def find_for(self, problem_id: int, actor: Actor) -> Problem:
        """A problem by number in a private chat (which names no branch): found for its
        reporter, its handler, an admin or an active member of its branch; for anyone else it
        is "not found", as a problem of another branch is."""
        problem = await self.repo.get_any(problem_id)
        if problem is not None and (
                actor.user_id in (problem.reporter_id, problem.handler_id)
                or await self.branches.member(problem.branch_id, actor.user_id) is not None
                or await self.branches.is_admin(problem.branch_id, actor)):
            return problem
        raise NotFound(f"没有找到民情 #{problem_id}。")

    async def history(self, problem: Problem) -> list[ProblemEvent]:
        return await self.repo.events(problem.id)

    async def names_for(self, branch_id: int, problems: Iterable[Problem],
                        events: Iterable[ProblemEvent] = ()) -> dict[int, str]:
        people: set[int] = set()
        for p in problems:
            people.add(p.reporter_id)
            if p.handler_id is not None:
                people.add(p.handler_id)
        for e in events:
            people |= {x for x in (e.actor_id, e.target_id) if x is not None}
        return await self.branches.names(branch_id, people)

    # transitions -------------------------------------------------------------------------

    async def raise_problem(self, branch_id: int, group_id: int | None, reporter_id: int,
                            text: str, anonymous: bool = False) -> Problem:
        """Record a problem; ``group_id`` None = raised privately. A known first word of
        ``text`` is the category, otherwise 其他."""
        category, content = split_category(text, self.settings.problem_categories)
        content = require_text(content, self.settings.problem_max_length, "反映内容")
        now = self.clock.timestamp()
        async with self.db.transaction():  # the problem and the notices it causes
            problem_id = await self.repo.create(branch_id, group_id, reporter_id, category,
                                                content, anonymous, now)
            await self.repo.add_event(problem_id, reporter_id, "反映",
                                      "匿名" if anonymous else None, now)
            problem = await self.get(branch_id, problem_id)
            # raised privately: the committee's notice is kept or lost with the problem
            await self.notify_new_private(problem)
            for hook in self.on_raised:
                await hook(problem)
        log.info("problem #%s raised in branch #%s (%s, private=%s, anonymous=%s)",
                 problem_id, branch_id, category, group_id is None, anonymous)
        return problem

    async def take_on(self, branch_id: int, problem_id: int, actor: Actor,
                      handler_id: int | None = None) -> Problem:
        """待受理 → 处理中. An admin may assign anyone eligible (``handler_id``); an eligible
        member may take a group-raised problem on themself. Racing take-ons: exactly one wins."""
        problem = await self.get(branch_id, problem_id)
        is_admin = await self.branches.is_admin(branch_id, actor)
        handler = actor.user_id if handler_id is None else handler_id
        if handler != actor.user_id:
            if not is_admin:
                raise Forbidden("只有支委、书记或群管理员可以指派处理人。")
            await self._require_handler(branch_id, handler, problem, self_taking=False)
        else:
            if problem.private and not is_admin:
                raise Forbidden(f"民情 #{problem_id} 是私下反映的，由支委指派处理人。")
            if not is_admin:
                await self._require_handler(branch_id, handler, problem, self_taking=True)
            elif handler == problem.reporter_id:
                raise DomainError("不能受理自己反映的民情。")
        if problem.state is not S.PENDING:
            raise DomainError(f"民情 #{problem_id} 当前{problem.state.label}，不能受理。")
        now = self.clock.timestamp()
        await self._move(problem, (S.PENDING,), S.IN_PROGRESS, actor.user_id, "受理", None,
                         target_id=handler, lost=f"民情 #{problem_id} 刚刚被别人受理了。",
                         handler_id=handler, taken_at=now)
        return await self.get(branch_id, problem_id)

    async def progress(self, branch_id: int, problem_id: int, actor: Actor,
                       note: str) -> Problem:
        """A follow-up note by the handler or an admin (处理中 or 已上报; the state stays)."""
        problem = await self.get(branch_id, problem_id)
        await self._require_handler_or_admin(problem, actor, "报告进展")
        if problem.state not in (S.IN_PROGRESS, S.ESCALATED):
            raise DomainError(f"民情 #{problem_id} 当前{problem.state.label}，不能报告进展。")
        note = require_text(note, self.settings.reason_max_length, "进展说明")
        await self._move(problem, (S.IN_PROGRESS, S.ESCALATED), None, actor.user_id, "进展",
                         note)
        return await self.get(branch_id, problem_id)

    async def solve(self, branch_id: int, problem_id: int, actor: Actor, note: str,
                    group_id: int | None = None) -> Problem:
        """处理中 or 已上报 → 已解决, by the handler or an admin. For an escalated problem this
        records the result; with no handler yet, the one who records it becomes the handler.
        Solved in a group (``group_id``) that may see the problem, the reporter is @-mentioned
        there; otherwise told privately."""
        problem = await self.get(branch_id, problem_id)
        await self._require_handler_or_admin(problem, actor, "标记解决")
        if problem.state not in (S.IN_PROGRESS, S.ESCALATED):
            raise DomainError(f"民情 #{problem_id} 当前{problem.state.label}，不能标记解决。")
        if actor.user_id == problem.reporter_id:
            raise DomainError("不能处理自己反映的民情。")
        note = require_text(note, self.settings.reason_max_length, "解决说明")
        fields = {"solution": note, "solved_at": self.clock.timestamp()}
        if problem.handler_id is None:
            fields["handler_id"] = actor.user_id
        await self._move(problem, (S.IN_PROGRESS, S.ESCALATED), S.SOLVED, actor.user_id, "解决",
                         note, in_group=group_id, **fields)
        return await self.get(branch_id, problem_id)

    async def confirm(self, branch_id: int, problem_id: int, user_id: int, score: int,
                      comment: str | None) -> DoneProblem:
        """已解决 → 已办结 with a 1–5 rating, by the reporter; books the handler's points when
        the rating is ≥ 3."""
        problem = await self.get(branch_id, problem_id)
        if problem.reporter_id != user_id:
            raise Forbidden(f"只有反映人可以确认民情 #{problem_id}。")
        if problem.state is not S.SOLVED:
            raise DomainError(f"民情 #{problem_id} 当前{problem.state.label}，不能确认。")
        if not 1 <= score <= 5:
            raise DomainError("评分是 1 到 5 的整数。")
        comment = optional_text(comment, self.settings.reason_max_length, "评语")
        now = self.clock.timestamp()
        async with self.db.transaction():
            await self._move(problem, (S.SOLVED,), S.DONE, user_id, "确认",
                             f"{score} 分" + (f"：{comment}" if comment else ""),
                             rating=score, rating_comment=comment, done_at=now)
            points = await self._book_done(problem, rating=score)
        return DoneProblem(await self.get(branch_id, problem_id), points)

    async def reopen(self, branch_id: int, problem_id: int, user_id: int,
                     reason: str) -> Problem:
        """已解决 → 处理中 (same handler), by the reporter within ``problem_confirm_days`` of
        the fix; counted in ``reopen_count``."""
        problem = await self.get(branch_id, problem_id)
        if problem.reporter_id != user_id:
            raise Forbidden(f"只有反映人可以重开民情 #{problem_id}。")
        if problem.state is not S.SOLVED:
            raise DomainError(f"民情 #{problem_id} 当前{problem.state.label}，不能重开。")
        days = self.settings.problem_confirm_days
        assert problem.solved_at is not None
        if self.clock.timestamp() >= problem.solved_at + days * 86400:
            raise DomainError(f"民情 #{problem_id} 解决已超过 {days} 天，不能重开；"
                              "如仍有问题，请重新 /反映。")
        reason = require_text(reason, self.settings.reason_max_length, "重开原因")
        await self._move(problem, (S.SOLVED,), S.IN_PROGRESS, user_id, "重开", reason,
                         target_id=problem.handler_id, bump_reopen=True, solved_at=None,
                         solution=None)
        return await self.get(branch_id, problem_id)

    async def reassign(self, branch_id: int, problem_id: int, actor: Actor,
                       handler_id: int) -> Problem:
        """转办: an admin hands a problem being worked on (处理中 or 已上报) to someone else."""
        await self.branches.require_admin(branch_id, actor)
        problem = await self.get(branch_id, problem_id)
        if problem.state is S.PENDING:
            raise DomainError(f"民情 #{problem_id} 还没有受理，请用 /民情 受理 #{problem_id} "
                              "@处理人 指派。")
        if problem.state not in (S.IN_PROGRESS, S.ESCALATED):
            raise DomainError(f"民情 #{problem_id} 当前{problem.state.label}，不能转办。")
        if problem.handler_id == handler_id:
            raise DomainError("TA 已经是这个民情的处理人了。")
        await self._require_handler(branch_id, handler_id, problem, self_taking=False)
        await self._move(problem, (S.IN_PROGRESS, S.ESCALATED), None, actor.user_id, "转办",
                         None, target_id=handler_id, handler_id=handler_id)
        return await self.get(branch_id, problem_id)

    async def escalate(self, branch_id: int, problem_id: int, actor: Actor,
                       destination: str) -> Problem:
        """上报: an admin passes a 待受理/处理中 problem outside the branch (where to is
        recorded). It counts as the first response and stays 已上报 until 解决 records the
        result (or it is closed)."""
        await self.branches.require_admin(branch_id, actor)
        problem = await self.get(branch_id, problem_id)
        if problem.state not in (S.PENDING, S.IN_PROGRESS):
            raise DomainError(f"民情 #{problem_id} 当前{problem.state.label}，不能上报。")
        destination = require_text(destination, self.settings.reason_max_length, "上报去向")
        now = self.clock.timestamp()
        await self._move(problem, (S.PENDING, S.IN_PROGRESS), S.ESCALATED, actor.user_id,
                         "上报", destination, first_taken_at=now, escalated_to=destination,
                         escalated_at=now)
        return await self.get(branch_id, problem_id)

    async def close(self, branch_id: int, problem_id: int, actor: Actor,
                    reason: str) -> Problem:
        """关闭 by an admin, with a reason (duplicate, not the branch's matter…): counted
        apart, neither solved nor unsolved."""
        await self.branches.require_admin(branch_id, actor)
        problem = await self.get(branch_id, problem_id)
        if not problem.state.is_open:
            raise DomainError(f"民情 #{problem_id} 已经{problem.state.label}。")
        reason = require_text(reason, self.settings.reason_max_length, "关闭原因")
        await self._move(problem, OPEN_STATES, S.CLOSED, actor.user_id, "关闭", reason,
                         close_reason=reason, closed_at=self.clock.timestamp())
        return await self.get(branch_id, problem_id)

    async def auto_confirm_due(self) -> list[DoneProblem]:
        """已解决 for ``problem_confirm_days`` with no confirmation or reopen → 已办结 unrated
        (every branch); books the handlers' points. Returns what was confirmed."""
        days = self.settings.problem_confirm_days
        deadline = self.clock.timestamp() - days * 86400
        done = []
        for problem in await self.repo.solved_before(deadline):
            try:
                async with self.db.transaction():
                    await self._move(problem, (S.SOLVED,), S.DONE, None, "自动办结",
                                     f"{days} 天内无异议", done_at=self.clock.timestamp(),
                                     auto_confirmed=1)
                    points = await self._book_done(problem, rating=None)
            except DomainError:
                continue  # confirmed, reopened or closed meanwhile
            done.append(DoneProblem(await self.get(problem.branch_id, problem.id), points))
        return done

    # lists -------------------------------------------------------------------------------

    async def list_page(self, branch_id: int, word: str | None = None,
                        page: int = 1) -> ProblemPage:
        """A page of problems: by default those not yet 已办结/已关闭, oldest first; ``word`` a
        state (待受理…已关闭, ended ones newest first), a category (its open ones) or 全部."""
        states, category, newest, label = self._filter(word)
        size = self.settings.page_size
        page = max(page, 1)
        problems, total = await self.repo.list_filtered(
            branch_id, states, category, limit=size, offset=(page - 1) * size,
            newest_first=newest,
        )
        pages = max(1, -(-total // size))
        if page > pages and total:
            raise DomainError(f"只有 {pages} 页。")
        return ProblemPage(problems, page, pages, total, label)

    def _filter(self, word: str | None
                ) -> tuple[tuple[ProblemState, ...], str | None, bool, str]:
        word = (word or "").strip()
        if not word or word in ("列表", "未办结"):
            return OPEN_STATES, None, False, "未办结"
        if word == ALL_WORD:
            return ALL_STATES, None, True, ALL_WORD
        for state in S:
            if word == state.label:
                return (state,), None, not state.is_open, word
        if word in self.settings.problem_categories:
            return OPEN_STATES, word, False, word
        choices = "、".join([s.label for s in S] + list(self.settings.problem_categories))
        raise DomainError(f"没有「{word[:20]}」这个状态或分类。可选：{choices}、{ALL_WORD}。")

    async def mine(self, branch_id: int, user_id: int) -> tuple[list[Problem], list[Problem]]:
        """(problems I raised, problems I handle), open ones first."""
        size = self.settings.page_size
        return (await self.repo.of_reporter(branch_id, user_id, size),
                await self.repo.of_handler(branch_id, user_id, size))

    async def problem_list(self, branch_id: int) -> ProblemList:
        """The 问题清单: unsolved ones oldest first (``page_size`` of them, with the total),
        those solved since Monday 00:00, and how many are overdue now."""
        size = self.settings.page_size
        unsolved, open_total = await self.repo.list_filtered(
            branch_id, UNSOLVED_STATES, None, limit=size)
        since = int(week_start(self.clock.now()).timestamp())
        solved, solved_total = await self.repo.solved_since(branch_id, since, limit=size)
        overdue = await self.count_overdue(branch_id)
        names = await self.names_for(branch_id, [*unsolved, *solved])
        return ProblemList(branch_id, unsolved, open_total, solved, solved_total, overdue,
                           since, names)

    def line(self, problem: Problem, viewer: Viewer, names: dict[int, str]) -> str:
        """One line of a list: number, category, state, age or rating, handler, content."""
        parts = [f"#{problem.id} [{problem.category}] {problem.state.label}"]
        if problem.state.is_unsolved:
            age = (self.clock.timestamp() - problem.raised_at) / 3600
            parts.append(f"已 {hours_text(age)}")
            if overdue_now(problem, self.settings, self.clock.timestamp()):
                parts[-1] += "（超时）"
        if problem.handler_id is not None:
            parts.append(f"处理人 {names.get(problem.handler_id, problem.handler_id)}")
        elif problem.state is S.PENDING:
            parts.append("待指派")
        text = content_for(problem, viewer)
        parts.append(text if len(text) <= SNIPPET else text[:SNIPPET] + "…")
        return " · ".join(parts)

    def render_list(self, plist: ProblemList, viewer: Viewer) -> str:
        """The 清单 as text for ``viewer`` (content hidden where ``viewer`` may not see it)."""
        lines = [f"📋 问题清单：未解决 {plist.open_total} 个，其中超时 {plist.overdue} 个"]
        lines += [self.line(p, viewer, plist.names) for p in plist.open]
        if plist.open_total > len(plist.open):
            lines.append(f"……共 {plist.open_total} 个，发送 /民情 列表 查看全部")
        lines.append(f"本周已解决 {plist.solved_total} 个"
                     + ("：" if plist.solved else "。"))
        lines += [self.line(p, viewer, plist.names) for p in plist.solved]
        return "\n".join(lines)

    def render_detail(self, problem: Problem, events: list[ProblemEvent], viewer: Viewer,
                      names: dict[int, str]) -> str:
        """详情: the problem and its timeline (times and who) as ``viewer`` may see it."""
        visible = can_see_content(problem, viewer)
        fmt = "%m-%d %H:%M"
        lines = [f"民情 #{problem.id} [{problem.category}] {problem.state.label}",
                 f"反映人：{reporter_for(problem, viewer, names)}"
                 + ("（私下反映）" if problem.private else ""),
                 f"内容：{content_for(problem, viewer)}"]
        if problem.handler_id is not None:
            lines.append(f"处理人：{names.get(problem.handler_id, problem.handler_id)}")
        if problem.escalated_to and visible:
            lines.append(f"上报去向：{problem.escalated_to}")
        if problem.rating is not None:
            lines.append(f"评分：{problem.rating} 分")
        lines.append("进程：")
        for e in events:
            if e.action == "反映" or (e.actor_id is not None
                                     and e.actor_id == problem.reporter_id):
                who = reporter_for(problem, viewer, names)  # 确认/重开 name the reporter too
            elif e.actor_id is None:
                who = "系统"
            else:
                who = names.get(e.actor_id, str(e.actor_id))
            line = f"{self.clock.format(e.at, fmt)} {who} {e.action}"
            if e.target_id is not None and e.action in ("受理", "转办"):
                line += f" → {names.get(e.target_id, e.target_id)}"
            if e.note and visible and e.action != "反映":
                line += f"：{e.note}"
            lines.append(line)
        return "\n".join(lines)

    # overdue and reminders ---------------------------------------------------------------

    async def overdue(self, branch_id: int | None = None) -> list[OverdueProblem]:
        """Unsolved problems past a target now (one branch, or every branch), oldest first."""
        now = self.clock.timestamp()
        found = []
        for p in await self.repo.overdue(target_seconds(self.settings), now, branch_id):
            kind = overdue_now(p, self.settings, now)
            if kind is None:  # cannot happen: the repository applies the same rule
                continue
            target = (first_response_target_hours if kind == "受理超时"
                      else resolution_target_hours)(self.settings, p.category)
            found.append(OverdueProblem(p, kind, target, (now - p.raised_at) / 3600))
        return found

    async def count_overdue(self, branch_id: int) -> int:
        return await self.repo.count_overdue(branch_id, target_seconds(self.settings),
                                             self.clock.timestamp())

    async def queue_overdue_reminders(self) -> OverdueQueued:
        """Queue, once a day, to each handler privately their overdue problems, and to each
        admin (支委/书记) one line listing the branch's overdue problems. Nothing overdue →
        nothing queued."""
        day = self.clock.now().strftime("%Y-%m-%d")
        by_branch: dict[int, list[OverdueProblem]] = {}
        for item in await self.overdue():
            by_branch.setdefault(item.problem.branch_id, []).append(item)
        handlers = admins = 0
        size = self.settings.page_size
        for branch_id, items in by_branch.items():
            via = await self._default_group(branch_id)
            mine: dict[int, list[OverdueProblem]] = {}
            for item in items:
                if item.problem.handler_id is not None:
                    mine.setdefault(item.problem.handler_id, []).append(item)
            for handler_id, own in mine.items():
                lines = [f"⏰ 你负责的 {len(own)} 个民情已超时，请尽快跟进："]
                for item in own[:size]:
                    p = item.problem
                    text = p.content[:SNIPPET] + ("…" if len(p.content) > SNIPPET else "")
                    lines.append(f"#{p.id} [{p.category}] {item.kind}（目标 "
                                 f"{hours_text(item.target_hours)}，已 "
                                 f"{hours_text(item.age_hours)}）：{text}")
                if len(own) > size:
                    lines.append(f"……共 {len(own)} 个")
                lines.append("有进展请发送 /民情 进展 #编号 <说明>，"
                             "解决后 /民情 解决 #编号 <说明>。")
                if await self.outbox.to_user(
                        handler_id, [text_segment("\n".join(lines))], "problem_overdue",
                        via_group_id=via, branch_id=branch_id,
                        dedupe_key=f"problem-overdue:{branch_id}:{handler_id}:{day}"):
                    handlers += 1
            listed = "；".join(f"#{i.problem.id} {i.problem.category} {i.kind} "
                              f"{hours_text(i.age_hours)}" for i in items[:size])
            more = f" 等 {len(items)} 个" if len(items) > size else ""
            line = f"⏰ 民情超时 {len(items)} 个：{listed}{more}。发送 /民情 清单 查看。"
            for member in await self.branches.members.list_active(branch_id):
                if not member.is_admin:
                    continue
                if await self.outbox.to_user(
                        member.user_id, [text_segment(line)], "problem_overdue_admin",
                        via_group_id=via, branch_id=branch_id,
                        dedupe_key=f"problem-overdue-admin:{branch_id}:{member.user_id}:{day}"):
                    admins += 1
        if handlers or admins:
            log.info("overdue problems: %s handler and %s admin reminders queued",
                     handlers, admins)
        return OverdueQueued(handlers, admins)

    # the weekly list ---------------------------------------------------------------------

    async def weekly_text(self, branch_id: int) -> str | None:
        """The weekly problem list for the branch's groups, or None when there is nothing to
        say (nothing unsolved, nothing solved in the last 7 days). Content only of group-raised,
        non-anonymous problems."""
        now = self.clock.timestamp()
        size = self.settings.page_size
        oldest, open_total = await self.repo.list_filtered(
            branch_id, UNSOLVED_STATES, None, limit=size)
        since = now - WEEKLY_DAYS * 86400
        _, solved_total = await self.repo.solved_since(branch_id, since, limit=0)
        if not open_total and not solved_total:
            return None
        overdue = await self.count_overdue(branch_id)
        names = await self.names_for(branch_id, oldest)
        lines = [f"📋 民情周报（{self.clock.format(now, '%m-%d')}）：未解决 {open_total} 个，"
                 f"近 {WEEKLY_DAYS} 天解决 {solved_total} 个，超时 {overdue} 个。"]
        if oldest:
            lines.append("最久未解决：")
            lines += [self.line(p, GROUP, names) for p in oldest]
        if open_total > len(oldest):
            lines.append(f"……共 {open_total} 个，发送 /民情 清单 查看。")
        lines.append("有问题请发送 /反映 <内容>（可私聊机器人，可加“匿名”）。")
        return "\n".join(lines)

    async def queue_weekly(self, branch_id: int | None = None) -> int:
        """Queue the weekly list to every group of the branch (or of every branch) once a
        week, when ``problem_weekly_enabled``; returns the messages queued."""
        if not self.settings.problem_weekly_enabled:
            return 0
        monday = week_start(self.clock.now())
        ids = [branch_id] if branch_id is not None else await self.branches.all_branch_ids()
        queued = 0
        for b in ids:
            text = await self.weekly_text(b)
            if text is None:
                continue
            queued += await self.outbox.to_branch(
                b, [text_segment(text)], "problem_weekly",
                dedupe_key=f"problem-weekly:{b}:{monday:%Y-%m-%d}")
        return queued

    # notices to the people involved ------------------------------------------------------

    async def notify_parties(self, problem: Problem, action: str, actor_id: int | None,
                             note: str | None = None, in_group: int | None = None) -> int:
        """Queue private notices about ``action`` (受理, 进展 with its ``note``, 转办, 解决, 上报,
        关闭, 确认, 重开, 自动办结) to the reporter and/or handler, never to the one who acted.
        Private messages only, so private content never reaches a group — except 解决 done in
        a group (``in_group``) that may see the problem: there the reporter is @-mentioned.
        Every transition calls it inside its own transaction. Returns how many queued."""
        p = problem
        reporter_msgs = {
            "受理": f"你反映的民情 #{p.id} 已受理，正在处理。",
            "进展": f"你反映的民情 #{p.id} 有新进展：{note or ''}",
            "解决": (f"你反映的民情 #{p.id} 已解决：{p.solution or ''}\n满意请发送 /民情 确认 "
                   f"#{p.id} <1-5> [评语]；如未解决，{self.settings.problem_confirm_days} 天内"
                   f"可发送 /民情 重开 #{p.id} <原因>。"),
            "上报": f"你反映的民情 #{p.id} 已上报至 {p.escalated_to}，有结果会告诉你。",
            "关闭": f"你反映的民情 #{p.id} 已关闭：{p.close_reason}",
        }
        handler_msgs = {
            "受理": "你被指派处理",
            "转办": "转办给你处理",
            "重开": "被反映人重开，请继续处理",
            "确认": f"已办结，反映人评分 {p.rating} 分",
            "自动办结": "已自动办结",
        }
        via = await self._group_of(p)
        # a privately raised problem's text is a secret: friends only, and the group gets an
        # @-mention that says nothing of it (domain/delivery.py)
        kind = "problem_notice_private" if p.private else "problem_notice"
        queued = 0
        if (action == "解决" and in_group is not None and can_see_content(p, GROUP)
                and p.reporter_id != actor_id):
            names = await self.names_for(p.branch_id, [p])
            text = (f" 你反映的民情 #{p.id} 已由 {names.get(p.handler_id, p.handler_id)} 解决："
                    f"{p.solution or ''}\n满意请发送 /民情 确认 #{p.id} <1-5> [评语]；如未解决，"
                    f"{self.settings.problem_confirm_days} 天内可发送 /民情 重开 #{p.id} <原因>。")
            if await self.outbox.to_group(in_group, [at_segment(p.reporter_id),
                                                     text_segment(text)],
                                          "problem_solved", branch_id=p.branch_id):
                queued += 1
        elif (action in reporter_msgs and p.reporter_id != actor_id
                and await self.outbox.to_user(p.reporter_id,
                                              [text_segment(reporter_msgs[action])],
                                              kind, via_group_id=via,
                                              branch_id=p.branch_id,
                                              fallback=problem_mention(p.reporter_id, p.id,
                                                                       "你反映的问题有新进展"))):
            queued += 1
        if action in handler_msgs and p.handler_id is not None and p.handler_id != actor_id:
            member = await self.branches.member(p.branch_id, p.handler_id)
            viewer = Viewer(p.handler_id, member is not None and member.is_admin)
            names = await self.names_for(p.branch_id, [p])
            text = (f"民情 #{p.id} [{p.category}] {handler_msgs[action]}：{p.content}\n"
                    f"反映人：{reporter_for(p, viewer, names)}")
            if action in ("受理", "转办", "重开"):
                text += f"\n处理后发送 /民情 解决 #{p.id} <说明>。"
            if await self.outbox.to_user(p.handler_id, [text_segment(text)], kind,
                                         via_group_id=via, branch_id=p.branch_id,
                                         fallback=problem_mention(p.handler_id, p.id,
                                                                  "你处理的问题有新消息")):
                queued += 1
        return queued

    async def notify_new_private(self, problem: Problem) -> int:
        """Queue to each 支委/书记 of the branch, privately, a problem just raised in a private
        chat (the group never hears of it, so this is how the branch learns of it). Returns
        how many were queued; nothing for a group-raised problem."""
        if not problem.private:
            return 0
        via = await self._group_of(problem)
        names = await self.names_for(problem.branch_id, [problem])
        queued = 0
        for member in await self.branches.members.list_active(problem.branch_id):
            if not member.is_admin or member.user_id == problem.reporter_id:
                continue
            viewer = Viewer(member.user_id, True)
            text = (f"📮 新的私下反映：民情 #{problem.id} [{problem.category}]\n"
                    f"{problem.content}\n反映人：{reporter_for(problem, viewer, names)}\n"
                    f"请发送 /民情 受理 #{problem.id} @处理人 指派（群里操作不会显示内容）。")
            if await self.outbox.to_user(member.user_id, [text_segment(text)],
                                         "problem_new_private", via_group_id=via,
                                         branch_id=problem.branch_id,
                                         dedupe_key=f"problem-new:{problem.id}:{member.user_id}",
                                         fallback=problem_mention(member.user_id, problem.id,
                                                                  "有一条新的私下反映")):
                queued += 1
        return queued

    # internals ---------------------------------------------------------------------------

    async def _default_group(self, branch_id: int) -> int | None:
        groups = await self.branches.groups(branch_id)
        return groups[0] if groups else None

    async def _group_of(self, problem: Problem) -> int | None:
        """The group to reach people through: where it was raised if still in the branch."""
        groups = await self.branches.groups(problem.branch_id)
        if problem.group_id in groups:
            return problem.group_id
        return groups[0] if groups else None

    async def _require_handler(self, branch_id: int, user_id: int, problem: Problem, *,
                               self_taking: bool) -> None:
        """``user_id`` may handle ``problem``: a registered member who is eligible or an admin,
        and not its reporter."""
        if user_id == problem.reporter_id:
            raise DomainError("不能受理自己反映的民情。" if self_taking
                              else "不能把民情指派给反映人自己。")
        member = await self.branches.member(branch_id, user_id)
        allowed = self.settings.wish_claim_identities
        if member is None:
            if self_taking:
                raise Forbidden("请先发送 /登记 <姓名> 建立档案，再由支委设置身份后受理。")
            raise NotFound(f"{user_id} 还没有在本支部登记，不能指派。")
        if member.identity not in allowed and not member.is_admin:
            who = "你" if self_taking else member.name
            raise Forbidden(f"处理民情需要身份为{'、'.join(allowed)}或支委，"
                            f"{who}目前是{member.identity}。")

    async def _require_handler_or_admin(self, problem: Problem, actor: Actor,
                                        what: str) -> None:
        if actor.user_id == problem.handler_id:
            return
        if not await self.branches.is_admin(problem.branch_id, actor):
            raise Forbidden(f"只有处理人或支委可以{what}民情 #{problem.id}。")

    async def _move(self, problem: Problem, expected: tuple[ProblemState, ...],
                    new: ProblemState | None, actor_id: int | None, action: str,
                    note: str | None, *, target_id: int | None = None, lost: str | None = None,
                    bump_reopen: bool = False, in_group: int | None = None, **fields) -> None:
        """One transition in one transaction: the conditional update, its event and the
        notices to the people involved (``notify_parties``), kept or lost together."""
        async with self.db.transaction():
            moved = await self.repo.transition(problem.branch_id, problem.id, expected, new,
                                               bump_reopen=bump_reopen, **fields)
            if not moved:
                if lost:
                    raise DomainError(lost)
                current = await self.repo.get(problem.branch_id, problem.id)
                label = current.state.label if current else "不存在"
                raise DomainError(f"民情 #{problem.id} 当前{label}，操作没有生效。")
            await self.repo.add_event(problem.id, actor_id, action, note,
                                      self.clock.timestamp(), target_id)
            moved_to = await self.get(problem.branch_id, problem.id)
            await self.notify_parties(moved_to, action, actor_id, note, in_group=in_group)
        log.debug("problem #%s: %s by %s", problem.id, action, actor_id)

    async def _book_done(self, problem: Problem, rating: int | None) -> int:
        """The handler's points for 已办结 with a rating ≥ 3 or unrated; once per problem."""
        delta = self.settings.points_problem_solved
        if problem.handler_id is None or not delta or (rating is not None and rating < 3):
            return 0
        booked = await self.points.book(problem.branch_id, problem.handler_id,
                                        Category.SERVICE, delta, f"办结民情 #{problem.id}",
                                        ref=f"problem:{problem.id}:done")
        return delta if booked else 0

