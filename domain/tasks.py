"""The branch's task list (社区党建任务清单): publish, claim, report done, confirm or return.

A task is for one or more people (@), a post's holders (岗位:先锋岗), a floor's eligible members
(楼层:3楼), every eligible member (全体), or open to claim by one eligible member. Who it is for
is fixed when it is published: one assignment per person. An assignment is 待完成 → (完成, with
a note) 待确认 → (确认) 已确认; 退回 (with a reason) sends it back to 待完成. Confirming is for
an admin or the 党小组组长 of the assignee's floor, never the assignee; it books the task's points
(服务) once per person (the ledger's unique reference ``task:<id>:<QQ>``). A task whose every
assignment is confirmed is done; an admin may cancel an open task.

Deadlines: ``task_remind_hours`` before it, assignees still 待完成 are reminded privately; at it,
they are told it is overdue. Both are APScheduler jobs re-armed from the database at start-up
(``runtime/task_jobs.py``); a notice due while the bot was down is sent at start-up while it is
still true (a reminder only before the deadline). The weekly list shows open and overdue tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from config import BranchConfig
from domain.branches import Actor, BranchService
from domain.clock import Clock
from domain.errors import DomainError, Forbidden, NotFound
from domain.floors import normalize_floor
from domain.models import Category
from domain.outbox import OutboxService, at_segment, text_segment
from domain.points import PointsService, week_start
from domain.posts import KIND_SHORT, PostService
from domain.report import percent, ratio
from domain.text import require_text
from storage.database import Database
from storage.tasks import AssignmentRow, TaskEvent, TaskRepository, TaskRow

PERSON, POST, FLOOR, ALL, OPEN = "person", "post", "floor", "all", "open"
STATE_LABELS = {"todo": "待完成", "done": "待确认", "confirmed": "已确认"}
TASK_STATE_LABELS = {"open": "进行中", "done": "已完成", "cancelled": "已取消"}
ALL_WORD = "全体"
TIME_FORMAT = "%m-%d %H:%M"


def target_text(kind: str, word: str | None) -> str:
    """Who a task is for, as written: ``岗位:先锋岗``, ``楼层:3楼``, ``全体``, 认领, 指定."""
    if kind == POST:
        return f"岗位:{KIND_SHORT.get(word or '', word)}"
    if kind == FLOOR:
        return f"楼层:{word}"
    if kind == ALL:
        return ALL_WORD
    if kind == OPEN:
        return "认领"
    return "指定"


@dataclass(frozen=True)
class Target:
    """Who a task is for: ``kind`` person/post/floor/all/open, with the people or the word."""

    kind: str
    people: tuple[int, ...] = ()  # for person
    word: str | None = None  # the post kind or the floor


@dataclass(frozen=True)
class Task:
    row: TaskRow
    assignments: list[AssignmentRow] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.row.id

    def of(self, user_id: int) -> AssignmentRow | None:
        return next((a for a in self.assignments if a.user_id == user_id), None)

    def count(self, state: str) -> int:
        return sum(a.state == state for a in self.assignments)

    def overdue_at(self, now: int) -> bool:
        """Overdue now: open, past its deadline, and someone has not reported it done (or,
        open to claim, nobody took it)."""
        row = self.row
        if row.state != "open" or row.due_at is None or row.due_at >= now:
            return False
        return not self.assignments or any(a.state == "todo" for a in self.assignments)

    def target_text(self) -> str:
        return target_text(self.row.target_kind, self.row.target)


@dataclass(frozen=True)
class Confirmed:
    user_id: int
    points: int  # booked now (0 when the task has none)


@dataclass(frozen=True)
class MyTasks:
    mine: list[Task]  # my assignments not yet confirmed
    floor: list[Task]  # open tasks for my floor that are not mine
    claimable: list[Task]  # open-to-claim tasks nobody holds


@dataclass(frozen=True)
class TaskFigures:
    """The task list of a term (tasks published in it, not cancelled):

    - 任务发布: tasks published, and their assignments (人次);
    - 任务完成率: confirmed assignments / assignments;
    - 任务逾期: tasks whose deadline passed (by the term's end, now for the current term) that
      nobody held by then or with an assignment not reported done by then
      (``storage.tasks.OVERDUE_SQL``).
    """

    published: int = 0
    assignments: int = 0
    confirmed: int = 0
    overdue: int = 0

    @property
    def completion(self) -> float | None:
        return ratio(self.confirmed, self.assignments)

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("任务发布", f"{self.published} 个（指派 {self.assignments} 人次）"),
            ("任务完成率", f"{percent(self.completion)}（{self.confirmed}/{self.assignments} "
                       "人次已确认）"),
            ("任务逾期", f"{self.overdue} 个"),
        ]


class TaskService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService, points: PointsService, outbox: OutboxService,
                 posts: PostService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.points = points
        self.outbox = outbox
        self.posts = posts
        self.repo = TaskRepository(db)

    # reading ---------------------------------------------------------------------------------

    async def get(self, branch_id: int, task_id: int) -> Task:
        row = await self.repo.get(branch_id, task_id)
        if row is None:
            raise NotFound(f"没有找到任务 #{task_id}。")
        return Task(row, (await self.repo.assignments([row.id]))[row.id])

    async def history(self, task_id: int) -> list[TaskEvent]:
        return await self.repo.events(task_id)

    async def open_tasks(self, branch_id: int) -> list[Task]:
        rows = await self.repo.open_tasks(branch_id)
        found = await self.repo.assignments(r.id for r in rows)
        return [Task(r, found[r.id]) for r in rows]

    async def mine(self, branch_id: int, user_id: int) -> MyTasks:
        """``/任务``: my open assignments, my floor's open tasks, and tasks open to claim."""
        member = await self.branches.member(branch_id, user_id)
        floor = member.floor if member else None
        mine, ours, claimable = [], [], []
        for task in await self.open_tasks(branch_id):
            held = task.of(user_id)
            if held is not None:
                if held.state != "confirmed":
                    mine.append(task)
            elif task.row.target_kind == OPEN and not task.assignments:
                claimable.append(task)
            elif task.row.target_kind == FLOOR and floor is not None and task.row.target == floor:
                ours.append(task)
        return MyTasks(mine, ours, claimable)

    # publishing ------------------------------------------------------------------------------

    async def publish(self, branch_id: int, group_id: int | None, actor: Actor, title: str,
                      due_at: int | None, target: Target, points: int | None) -> Task:
        """An admin publishes a task; its assignees (fixed now) are told privately when it is
        for named people or a post (a floor's or everyone's task is announced in the group)."""
        await self.branches.require_admin(branch_id, actor)
        title = require_text(title, self.settings.reason_max_length, "任务标题")
        now = self.clock.timestamp()
        if due_at is not None and due_at <= now:
            raise DomainError("截止时间已经过去了，请写一个将来的时间。")
        if points is None:
            points = self.settings.points_task
        limit = self.settings.points_adjust_max
        if not 0 <= points <= limit:
            raise DomainError(f"任务积分是 0 到 {limit} 的整数。")
        people, word = await self._assignees(branch_id, target)
        remind_at = None
        if due_at is not None:
            remind_at = due_at - self.settings.task_remind_hours * 3600
            remind_at = remind_at if remind_at > now else None
        async with self.db.transaction():
            task_id = await self.repo.create(branch_id, group_id, title, target.kind, word,
                                             points, due_at, remind_at, actor.user_id, now)
            await self.repo.assign(task_id, people, now)
            await self.repo.add_event(task_id, None, actor.user_id, "发布", None, now)
            task = await self.get(branch_id, task_id)
            if target.kind in (PERSON, POST):
                for uid in people:
                    await self._tell(task, uid, "task_assigned",
                                     f"📌 你有一个新任务：#{task.id}「{title}」"
                                     f"{self._due_words(task)}，积分 {points}。完成后发送 "
                                     f"/任务 完成 #{task.id} <说明>。")
        return task

    async def _assignees(self, branch_id: int, target: Target) -> tuple[list[int], str | None]:
        """The people a task is for now, and the word stored with it (post kind, floor)."""
        eligible = self.settings.wish_claim_identities
        if target.kind == OPEN:
            return [], None
        if target.kind == PERSON:
            people = []
            for uid in dict.fromkeys(target.people):
                if await self.branches.member(branch_id, uid) is None:
                    raise NotFound(f"{uid} 还没有在本支部登记，不能指派任务。")
                people.append(uid)
            if not people:
                raise DomainError("请 @ 要指派的人。")
            return people, None
        if target.kind == POST:
            people = await self.posts.holders(branch_id, target.word or "")
            if not people:
                raise DomainError(f"现在没有人担任{KIND_SHORT.get(target.word, target.word)}，"
                                  "请先用 /岗位 设置。")
            return people, target.word
        members = await self.branches.members.list_active(branch_id)
        floor = None
        if target.kind == FLOOR:
            floor = normalize_floor(target.word)
            members = [m for m in members if floor is not None and m.floor == floor]
        people = [m.user_id for m in members if m.identity in eligible]
        if not people:
            where = floor if target.kind == FLOOR else "本支部"
            raise DomainError(f"{where}还没有{'、'.join(eligible)}，没有人可以指派。")
        return people, floor

    # the assignee ------------------------------------------------------------------------

    async def claim(self, branch_id: int, task_id: int, user_id: int) -> Task:
        """An eligible member takes a task open to claim; of racing claims exactly one wins."""
        task = await self.get(branch_id, task_id)
        if task.row.target_kind != OPEN:
            raise DomainError(f"任务 #{task_id} 是指派任务，不需要认领。")
        self._require_open(task)
        member = await self.branches.member(branch_id, user_id)
        allowed = self.settings.wish_claim_identities
        if member is None:
            raise Forbidden("请先发送 /登记 <姓名> 建立档案，再由支委设置身份后认领。")
        if member.identity not in allowed:
            raise Forbidden(f"认领任务需要身份为{'、'.join(allowed)}，你目前是{member.identity}。")
        now = self.clock.timestamp()
        async with self.db.transaction():
            won = await self.repo.claim(branch_id, task_id, user_id, now)
            if won:
                await self.repo.add_event(task_id, user_id, user_id, "认领", None, now)
        if not won:
            again = await self.get(branch_id, task_id)
            holder = again.assignments[0].user_id if again.assignments else None
            if holder == user_id:
                raise DomainError(f"你已经认领了任务 #{task_id}。")
            raise DomainError(f"任务 #{task_id} 已经被别人认领了。")
        return await self.get(branch_id, task_id)

    async def complete(self, branch_id: int, task_id: int, user_id: int, note: str) -> Task:
        """The assignee reports it done, with a note; those who may confirm are told."""
        task = await self.get(branch_id, task_id)
        held = task.of(user_id)
        if held is None:
            raise Forbidden(f"任务 #{task_id} 不是你的任务。")
        self._require_open(task)
        if held.state == "done":
            raise DomainError(f"你已报告完成任务 #{task_id}，正在等待确认。")
        if held.state == "confirmed":
            raise DomainError(f"你的任务 #{task_id} 已经确认了。")
        note = require_text(note, self.settings.reason_max_length, "完成说明")
        now = self.clock.timestamp()
        async with self.db.transaction():
            if not await self.repo.move(task_id, user_id, "todo", "done", note=note, done_at=now):
                raise DomainError(f"任务 #{task_id} 的状态刚刚变了，请重试。")
            await self.repo.add_event(task_id, user_id, user_id, "完成", note, now)
            names = await self.branches.names(branch_id, [user_id])
            who = names.get(user_id, str(user_id))
            for uid in await self._confirmers(branch_id, task, user_id):
                await self._tell(task, uid, "task_done",
                                 f"✅ 任务 #{task.id}「{task.row.title}」：{who} 报告已完成"
                                 f"（{note}）。"
                                 f"请发送 /任务 确认 #{task.id} 确认，或 /任务 退回 #{task.id} "
                                 "<原因>。")
        return await self.get(branch_id, task_id)

    # confirming and returning --------------------------------------------------------------

    async def confirm(self, branch_id: int, task_id: int, actor: Actor,
                      user_id: int | None = None) -> list[Confirmed]:
        """Confirm the reported assignments this actor may confirm (one person's when
        ``user_id`` is given); each books the task's points once."""
        task = await self.get(branch_id, task_id)
        self._require_open(task)
        chosen = await self._awaiting(branch_id, task, actor, user_id, "确认")
        now = self.clock.timestamp()
        done = []
        async with self.db.transaction():
            for held in chosen:
                if not await self.repo.move(task_id, held.user_id, "done", "confirmed",
                                            confirmed_at=now, confirmed_by=actor.user_id):
                    continue  # confirmed or returned meanwhile
                await self.repo.add_event(task_id, held.user_id, actor.user_id, "确认", None, now)
                points = 0
                if task.row.points and await self.points.book(
                        branch_id, held.user_id, Category.SERVICE, task.row.points,
                        f"完成任务 #{task_id}", ref=f"task:{task_id}:{held.user_id}",
                        operator_id=actor.user_id):
                    points = task.row.points
                await self._tell(task, held.user_id, "task_confirmed",
                                 f"🎉 你的任务 #{task.id}「{task.row.title}」已确认"
                                 + (f"，获得 {points} 积分。" if points else "。"))
                done.append(Confirmed(held.user_id, points))
            await self.repo.finish_if_all_confirmed(task_id, now)
        if not done:
            raise DomainError(f"任务 #{task_id} 没有待确认的完成报告了。")
        return done

    async def send_back(self, branch_id: int, task_id: int, actor: Actor, user_id: int | None,
                        reason: str) -> AssignmentRow:
        """退回: a reported assignment goes back to 待完成 with a reason; the assignee is told."""
        task = await self.get(branch_id, task_id)
        self._require_open(task)
        chosen = await self._awaiting(branch_id, task, actor, user_id, "退回")
        if len(chosen) > 1:
            raise DomainError(f"任务 #{task_id} 有 {len(chosen)} 人待确认，请 @ 要退回的人。")
        held = chosen[0]
        reason = require_text(reason, self.settings.reason_max_length, "退回原因")
        now = self.clock.timestamp()
        async with self.db.transaction():
            if not await self.repo.move(task_id, held.user_id, "done", "todo",
                                        return_reason=reason, done_at=None):
                raise DomainError(f"任务 #{task_id} 的状态刚刚变了，请重试。")
            await self.repo.add_event(task_id, held.user_id, actor.user_id, "退回", reason, now)
            await self._tell(task, held.user_id, "task_returned",
                             f"↩️ 你的任务 #{task.id}「{task.row.title}」被退回：{reason}\n"
                             f"完善后再发送 /任务 完成 #{task.id} <说明>。")
        return held

    async def cancel(self, branch_id: int, task_id: int, actor: Actor) -> Task:
        await self.branches.require_admin(branch_id, actor)
        task = await self.get(branch_id, task_id)
        self._require_open(task)
        now = self.clock.timestamp()
        async with self.db.transaction():
            if not await self.repo.cancel(task_id, now):
                raise DomainError(f"任务 #{task_id} 的状态刚刚变了，请重试。")
            await self.repo.add_event(task_id, None, actor.user_id, "取消", None, now)
        return await self.get(branch_id, task_id)

    async def may_confirm(self, branch_id: int, actor: Actor, assignee: int) -> bool:
        """An admin or the 党小组组长 of the assignee's floor; never the assignee."""
        if actor.user_id == assignee:
            return False
        if await self.branches.is_admin(branch_id, actor):
            return True
        member = await self.branches.member(branch_id, assignee)
        if member is None or member.floor is None:
            return False
        return (await self.branches.floor_leaders(branch_id)).get(member.floor) == actor.user_id

    async def _awaiting(self, branch_id: int, task: Task, actor: Actor, user_id: int | None,
                        verb: str) -> list[AssignmentRow]:
        """The reported assignments ``actor`` acts on (``user_id``'s, or all they may)."""
        waiting = [a for a in task.assignments if a.state == "done"
                   and (user_id is None or a.user_id == user_id)]
        if user_id is not None and not waiting:
            held = task.of(user_id)
            if held is None:
                raise NotFound(f"{user_id} 不是任务 #{task.id} 的执行人。")
            raise DomainError(f"{user_id} 的任务 #{task.id} 当前{STATE_LABELS[held.state]}，"
                              f"不能{verb}。")
        if not waiting:
            raise DomainError(f"任务 #{task.id} 还没有人报告完成。")
        allowed = [a for a in waiting if await self.may_confirm(branch_id, actor, a.user_id)]
        if not allowed:
            raise Forbidden(f"只有支委、书记、群管理员或执行人所在楼层的党小组组长可以{verb}"
                            "任务（不能确认自己的任务）。")
        return allowed

    async def _confirmers(self, branch_id: int, task: Task, assignee: int) -> list[int]:
        """Told when an assignee reports done: the publisher and the assignee's floor's
        党小组组长 (not the assignee)."""
        people = [task.row.created_by]
        member = await self.branches.member(branch_id, assignee)
        if member is not None and member.floor is not None:
            leader = (await self.branches.floor_leaders(branch_id)).get(member.floor)
            if leader is not None:
                people.append(leader)
        return [uid for uid in dict.fromkeys(people) if uid != assignee]

    @staticmethod
    def _require_open(task: Task) -> None:
        if task.row.state != "open":
            raise DomainError(f"任务 #{task.id} {TASK_STATE_LABELS[task.row.state]}。")

    # deadlines -----------------------------------------------------------------------------

    async def remind(self, task_id: int) -> int:
        """The reminder before the deadline to assignees still 待完成 (once). Returns how many
        were told."""
        return await self._deadline_notice(task_id, "reminded_at", "task_reminder")

    async def tell_overdue(self, task_id: int) -> int:
        """At the deadline: assignees still 待完成 are told the task is overdue (once)."""
        return await self._deadline_notice(task_id, "overdue_at", "task_overdue")

    async def _deadline_notice(self, task_id: int, column: str, kind: str) -> int:
        row = await self.repo.get_any(task_id)
        if row is None or row.state != "open" or row.due_at is None:
            return 0
        now = self.clock.timestamp()
        if column == "reminded_at" and now >= row.due_at:
            return 0  # a reminder after the deadline says nothing true
        task = await self.get(row.branch_id, task_id)
        told = 0
        async with self.db.transaction():
            if not await self.repo.mark_sent(task_id, column, now):
                return 0
            due = self.clock.format(row.due_at, TIME_FORMAT)
            if column == "reminded_at":
                text = (f"⏰ 任务提醒：#{task.id}「{row.title}」将于 {due} 截止，你还没有报告完成。"
                        f"完成后发送 /任务 完成 #{task.id} <说明>。")
            else:
                text = (f"⚠️ 任务 #{task.id}「{row.title}」已于 {due} 截止，你还没有完成，"
                        f"已逾期。请尽快完成并发送 /任务 完成 #{task.id} <说明>。")
            for held in task.assignments:
                if held.state == "todo":
                    await self._tell(task, held.user_id, kind, text)
                    told += 1
        return told

    async def catch_up(self) -> tuple[int, list[TaskRow]]:
        """At start-up: send the deadline notices that fell due while the bot was down and are
        still true; returns (notices sent, tasks with notices still ahead, to arm)."""
        now = self.clock.timestamp()
        sent, ahead = 0, []
        for row in await self.repo.with_pending_notices():
            if row.remind_at is not None and row.reminded_at is None and \
                    row.remind_at <= now < row.due_at:
                sent += await self.remind(row.id)
            if row.overdue_at is None and row.due_at <= now:
                sent += await self.tell_overdue(row.id)
            else:
                ahead.append(row)
        return sent, ahead

    # the weekly list -------------------------------------------------------------------------

    async def weekly_text(self, branch_id: int) -> str | None:
        """Open tasks with their progress, overdue ones first; None when none is open. Counts
        only: the group never sees who has not finished."""
        tasks = await self.open_tasks(branch_id)
        if not tasks:
            return None
        now = self.clock.timestamp()
        late = [t for t in tasks if t.overdue_at(now)]
        lines = [f"📋 任务周报（{self.clock.format(now, '%m-%d')}）：进行中 {len(tasks)} 个，"
                 f"其中逾期 {len(late)} 个。"]
        size = self.settings.page_size
        ordered = late + [t for t in tasks if t not in late]
        lines += [self.line(t, now) for t in ordered[:size]]
        if len(ordered) > size:
            lines.append(f"……共 {len(ordered)} 个。")
        lines.append("发送 /任务 查看我的任务，完成后 /任务 完成 #编号 <说明>。")
        return "\n".join(lines)

    async def queue_weekly(self) -> int:
        """Queue the weekly list to every group of every branch with open tasks (once a
        week, when ``task_weekly_enabled``); returns the messages queued."""
        if not self.settings.task_weekly_enabled:
            return 0
        monday = week_start(self.clock.now())
        queued = 0
        for branch_id in await self.branches.all_branch_ids():
            text = await self.weekly_text(branch_id)
            if text is not None:
                queued += await self.outbox.to_branch(
                    branch_id, [text_segment(text)], "task_weekly",
                    dedupe_key=f"task-weekly:{branch_id}:{monday:%Y-%m-%d}")
        return queued

    def line(self, task: Task, now: int) -> str:
        """``#3 宿舍文化建设 · 楼层:3楼 · 截止 12-01 18:00（逾期）· 确认 1/4，待确认 1``."""
        row = task.row
        parts = [f"#{row.id} {row.title}", task.target_text()]
        if row.due_at is not None:
            parts.append(f"截止 {self.clock.format(row.due_at, TIME_FORMAT)}"
                         + ("（逾期）" if task.overdue_at(now) else ""))
        if row.target_kind == OPEN and not task.assignments:
            parts.append("待认领")
        else:
            parts.append(f"确认 {task.count('confirmed')}/{len(task.assignments)}"
                         + (f"，待确认 {task.count('done')}" if task.count("done") else ""))
        parts.append(f"{row.points} 分")
        return " · ".join(parts)

    # figures ---------------------------------------------------------------------------------

    async def figures(self, branch_id: int, since: int, until: int) -> TaskFigures:
        at = min(until, self.clock.timestamp())
        return TaskFigures(**await self.repo.figures(branch_id, since, until, at))

    # internals -------------------------------------------------------------------------------

    def _due_words(self, task: Task) -> str:
        due = task.row.due_at
        return "" if due is None else f"，{self.clock.format(due, TIME_FORMAT)} 截止"

    async def _tell(self, task: Task, user_id: int, kind: str, text: str) -> None:
        groups = await self.branches.groups(task.row.branch_id)
        via = task.row.group_id if task.row.group_id in groups else (groups[0] if groups
                                                                         else None)
        await self.outbox.to_user(
            user_id, [text_segment(text)], kind, via_group_id=via, branch_id=task.row.branch_id,
            fallback=[at_segment(user_id), text_segment(
                f" 任务 #{task.id} 有新消息，请加我为好友；发送 /任务 详情 #{task.id} 查看。")])
