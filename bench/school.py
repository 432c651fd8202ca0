"""A whole university on one bot: a seeded generator that lives a school year through the real
domain services, on a ``FrozenClock`` it moves forward (``bench/university_year.py`` builds the
full-size school with it and measures; ``tests/bench/test_university_generator.py`` builds a
tiny one and counts).

How the year is lived. The clock advances in slices of ``SLICE`` seconds; every action due in
a slice runs with the clock at the slice's start. An action is one thing a person or a job of
the bot does, through the same domain call the command or job makes: ``/登记``, ``/成员 设置``,
``/学期 开始``, ``/导学 发起``, ``/活动 发起``, ``/签到`` with the code the screen shows,
``/笔记``, ``/许愿`` … ``/心愿 评价``, ``/反映`` … ``/民情 确认``, ``/积分 调整``, ``/积分 撤销``,
``/任务`` …, ``/投票``, ``/问卷``, ``/请假``, ``/报名``, ``/提醒 添加``, ``/岗位 设置`` and the jobs
(session messages, reminders, auto-completion and auto-confirmation, digests, weekly lists,
commendations, 三会一课 checks, task deadlines, poll deadlines), plus a stand-in for the
dispatcher that marks queued messages sent and prunes them as the bot does. No SQL is written
here: every row comes from a domain service or a repository it calls.

The fastest honest path (measured, see ``bench/university_year.py``): a slice's check-ins and
votes are gathered concurrently outside any transaction, so ``Database.run_atomic`` commits
hundreds of them in one trip to the database thread, as it does for a burst of ``/签到`` in the
bot; every other action of the slice runs inside one outer ``db.transaction()`` (the services'
own transactions join it), each branch's actions in order and the branches concurrently, so
reads of different branches share trips to the database thread. Planning draws every random
number up front (one seeded generator, or one per flow seeded from the flow's name), so the
same shape gives the same year; row ids may differ between builds because branches run
concurrently.

``Journal`` records what was generated, as the generator did it and as the services answered
(a wish claimed, a check-in recorded, the points a call reported), so a test can count the
figures of ``/统计`` independently of the report code.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import logging
import math
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import aiosqlite

from config import BranchConfig
from domain.branches import Actor
from domain.clock import FrozenClock
from domain.errors import DomainError
from domain.models import Category
from domain.posts import VANGUARD
from domain.services import Services, open_services
from domain.tasks import FLOOR, PERSON, Target
from domain.text import term_name_for
from storage.ledger import append_sync
from storage.outbox import OutboxRepository

GENERATOR_VERSION = 2  # bump when a change makes a cached school stale
SLICE = 600  # seconds per step of the clock
TRANSACTION = 4 * 3600  # the actions of this long are committed together
BUILD_CACHE_KIB = 256 * 1024
BUILD_CHECKPOINT_PAGES = 50_000  # of 4 KiB: the WAL folded in every 200 MB, not 4 MB
WHOLE = 0.05  # of check-ins and awards, the share sent through the whole command
HOUR, DAY, WEEK = 3600, 86400, 7 * 86400
TZ = ZoneInfo("Asia/Shanghai")
FIRST_GROUP = 700_000_000
FIRST_USER = 1_000_000_000

IDENTITY_WEIGHTS = {"群众": 34, "入党积极分子": 26, "发展对象": 10, "预备党员": 10, "正式党员": 20}
PROMOTION = {"入党积极分子": "发展对象", "发展对象": "预备党员", "预备党员": "正式党员"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = ("伟芳娜敏静丽强磊洋艳勇军杰娟涛明超秀霞平刚桂英华玉萍红"
         "建文辉鹏宇浩然子轩梓涵欣怡思雨佳琪一诺")
TOPICS = ("学习党章党规", "读《习近平新时代中国特色社会主义思想学习纲要》", "党史学习：遵义会议",
          "二十大报告精读", "新时代青年的责任", "学习身边的榜样", "理想信念教育",
          "社区服务经验分享", "志愿服务精神", "学风建设讨论", "宿舍文明公约", "心理健康与互助")
WISHES = ("帮我看看入党申请书怎么写", "想找人陪我练口语", "求一份高数期末复习资料",
          "宿舍门锁坏了想找人帮忙报修", "想学做简历", "求借一把梯子换灯泡", "考研经验交流",
          "帮忙搬一下快递", "电脑重装系统",
          "想组队去做志愿服务", "帮我讲讲线性代数", "求带新生熟悉校园")
PROBLEMS = {"报修": ("宿舍热水器不出热水", "楼道灯坏了", "卫生间下水道堵了", "空调不制冷"),
            "学业": ("自习室座位不够", "图书馆开放时间太短", "课程资料找不到"),
            "生活": ("食堂排队太久", "快递点离宿舍太远", "洗衣机经常坏"),
            "心理": ("最近压力很大睡不着", "和室友相处有矛盾"),
            "其他": ("校园网晚上很慢", "希望多组织一些活动")}
PROBLEM_WEIGHTS = {"报修": 45, "学业": 15, "生活": 20, "心理": 5, "其他": 15}
AWARDS = (("理论学习打卡", (1, 1, 2)), ("宿舍卫生评比", (2, 3, 3, -2)),
          ("志愿服务时长认定", (2, 3, 5)), ("党员先锋岗值班", (2, 3)),
          ("未请假缺席组织生活", (-2, -3)))
SKILLS = ("高数 线代", "英语 口语", "电脑维修", "摄影", "写作 排版", "编程", "吉他", "心理倾听",
          "搬运")
PROBE_TOPIC = "周一晨会"  # the activity of ``School.probe``
NOTE = ("学习心得：认真学习了本期导学内容，收获很大，以后要把学到的理论用到服务同学的实际行动中去，"
        "在宿舍和楼层里带个好头。")


# the shape of the school -------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What to build. Volumes are for the whole school and year; a branch gets its share by
    size and by how active it is (a few busy branches, many quiet ones)."""

    branches: int = 300
    profiles: int = 60_000
    weeks: int = 52
    wishes: int = 104_000
    problems: int = 53_000
    sessions: float = 0.75  # 导学 sessions a week per 150 profiles of a busy branch
    awards_per_profile: float = 26.0  # a year's /积分 调整 per profile
    attendance: float = 2.0  # how readily the eligible come to 导学 (times their keenness)
    notes_share: float = 0.12  # of 导学 attendees, who write a reading note
    polls_per_branch: float = 8.0
    surveys_per_branch: float = 3.0
    tasks_per_branch: float = 8.0
    term_starts: tuple[int, ...] = (28,)  # weeks where the secretary sends /学期 开始
    quiet: tuple[int, int] = (20, 28)  # [from, to) weeks of the summer break
    joiners: float = 0.15  # share of profiles that register when the second term starts
    seed: int = 20260901

    def key(self) -> str:
        """The parameters as one line (the cache key of a built school)."""
        parts = [f"{k}={v}" for k, v in sorted(self.__dict__.items())]
        return f"v{GENERATOR_VERSION};" + ";".join(parts)


TINY = Shape(branches=3, profiles=150, weeks=5, wishes=60, problems=30, polls_per_branch=3.0,
             surveys_per_branch=2.0, tasks_per_branch=4.0, term_starts=(3,), quiet=(2, 3),
             joiners=0.1, seed=7)


def anchor_for(now: datetime) -> datetime:
    """The end of the simulated year: the first Monday of the month after ``now``, 08:55 in
    the bot's timezone, so a bot started then sees the weekly lists go out at 09:00 (it is
    always ahead of the wall clock, as a bot's clock offset must be)."""
    local = now.astimezone(TZ)
    first = (local.replace(day=1) + timedelta(days=32)).replace(day=1)
    monday = first + timedelta(days=(7 - first.weekday()) % 7)
    return monday.replace(hour=8, minute=55, second=0, microsecond=0)


# what was generated ------------------------------------------------------------------------


@dataclass
class Journal:
    """Counts of everything generated and, when ``keep``, every event as a tuple:

    ``("member", branch, user, identity, floor, at)`` (registered or changed; ``active`` False
    in a later event when removed: ``("removed", branch, user, at)``), ``("role", branch, user,
    identity, at)``, ``("term", branch, term_id, at)``, ``("session", branch, id, kind,
    starts_at)``, ``("cancelled", branch, id)``, ``("checkin", branch, session, user, at)``,
    ``("note", branch, session, user, at)``, ``("points", branch, term_id, user, delta)``,
    ``("wish", branch, id, at)``, ``("wish_claimed", branch, id)``, ``("wish_completed", branch,
    id, rating or None)``, ``("problem", branch, id, at)``, ``("problem_done", branch, id,
    rating or None)``, ``("problem_closed", branch, id)``, ``("poll", branch, id, at)``,
    ``("survey", branch, id, at)``, ``("refused", what, message)`` (a call the services
    refused)."""

    keep: bool = False
    counts: Counter = field(default_factory=Counter)
    events: list[tuple] = field(default_factory=list)

    def add(self, kind: str, *values) -> None:
        self.counts[kind] += 1
        if self.keep:
            self.events.append((kind, *values))

    def of(self, kind: str) -> list[tuple]:
        return [e[1:] for e in self.events if e[0] == kind]


# the people and branches -------------------------------------------------------------------


@dataclass
class Person:
    user_id: int
    name: str
    identity: str
    floor: str
    dorm: str
    keen: float  # how readily this person takes part (0..1)
    active: bool = False
    committee: bool = False
    keep: bool = False  # secretary, committee, floor leader or 导学 rotation: never removed
    noted: int = 0  # when their latest reading note was planned


@dataclass
class Branch:
    index: int
    size: int  # profiles at the start of the year
    activity: float  # how busy the branch is (0.3 quiet … 1.6 busy)
    groups: list[int]
    floors: list[str]
    people: list[Person]
    secretary: Person | None = None
    id: int = 0
    term_id: int = 0
    admin: Actor | None = None
    joiners: list[Person] = field(default_factory=list)
    open_claims: Counter = field(default_factory=Counter)

    def active(self) -> list[Person]:
        return [p for p in self.people if p.active]

    def eligible(self, settings: BranchConfig) -> list[Person]:
        return [p for p in self.people if p.active and p.identity in settings.wish_claim_identities]


def branch_sizes(shape: Shape, rng: random.Random) -> list[int]:
    """Profiles per branch: a long tail (Zipf-like), a few communities of thousands and many
    branches of a hundred or so, summing to ``shape.profiles``."""
    n = shape.branches
    least = 0.3 * shape.profiles / n  # every branch has at least this many
    weights = [(i + 1) ** -0.7 for i in range(n)]
    scale = (shape.profiles - least * n) / sum(weights)
    sizes = [round(least + scale * w) for w in weights]
    sizes[0] += shape.profiles - sum(sizes)
    rng.shuffle(sizes)
    return sizes


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


# the simulation ----------------------------------------------------------------------------


Action = Callable[[], Awaitable[None]]


@dataclass(order=True)
class Due:
    at: int
    seq: int
    run: Action = field(compare=False)
    # not inside a transaction (closing an anonymous poll or survey truncates the WAL, which
    # waits for every transaction to end): run when the current transaction has committed
    alone: bool = field(compare=False, default=False)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's API over a sqlite3 connection used in the event loop's own thread: the
    same statements, in the same order and transactions, without the hand-off to aiosqlite's
    worker thread (see the module docstring). For building only."""

    def __await__(self):
        return self._open().__await__()

    async def _open(self) -> InlineConnection:
        self._connection = self._connector()
        return self

    async def _execute(self, fn, *args, **kwargs):
        return fn(*args, **kwargs)

    def stop(self) -> None:
        self._running = False


@contextmanager
def inline_database() -> Iterator[None]:
    """Within this block ``Database.open`` connects through ``InlineConnection``."""
    real = aiosqlite.connect

    def connect(database, *, iter_chunk_size: int = 64, **kwargs) -> InlineConnection:
        return InlineConnection(lambda: sqlite3.connect(database, **kwargs), iter_chunk_size)

    aiosqlite.connect = connect
    try:
        yield
    finally:
        aiosqlite.connect = real


class School:
    """Builds the school year into a database through ``Services`` (see the module docstring)."""

    def __init__(self, shape: Shape, anchor: datetime, db_path: str,
                 journal: Journal | None = None, settings: BranchConfig | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self.shape = shape
        self.anchor = int(anchor.timestamp())
        self.start = self.anchor - shape.weeks * WEEK
        # the year starts at midnight of the Monday ``weeks`` weeks before the anchor
        day0 = datetime.fromtimestamp(self.start, TZ).replace(hour=0, minute=0, second=0)
        self.start = int(day0.timestamp())
        self.db_path = db_path
        self.journal = journal or Journal()
        self.settings = settings or BranchConfig()
        self.progress = progress or (lambda _: None)
        self.rng = random.Random(shape.seed)
        self.clock = FrozenClock(datetime.fromtimestamp(self.start, TZ))
        self.queue: list[Due] = []
        self.seq = itertools.count()
        self.branches: list[Branch] = []
        self.svc: Services | None = None
        self.now = self.start
        self.timings: Counter = Counter()  # seconds spent per kind of action
        self.calls: Counter = Counter()
        self.sent: Counter = Counter()  # messages the bot sent, by target type
        self.group_sent_per_hour: Counter = Counter()  # group messages, by hour of the year
        self.flows = itertools.count()

    # scheduling ----------------------------------------------------------

    def at(self, when: float, run: Action, alone: bool = False) -> None:
        """Run ``run`` in the slice holding ``when`` (never before the next slice)."""
        when = max(int(when), self.now + SLICE)
        heapq.heappush(self.queue, Due(when, next(self.seq), run, alone))

    def flow_rng(self, kind: str) -> random.Random:
        """A generator of its own for one flow (a wish, a problem…), seeded by its number."""
        return random.Random(f"{self.shape.seed}:{kind}:{next(self.flows)}")

    def week_factor(self, week: int) -> float:
        """How much happens in a week: the summer break is quiet, a term's first week slow."""
        if self.shape.quiet[0] <= week < self.shape.quiet[1]:
            return 0.08
        if week == 0 or week in self.shape.term_starts:
            return 0.5
        return 1.0

    def teaching_weeks(self) -> float:
        return sum(self.week_factor(w) for w in range(self.shape.weeks))

    async def attempt(self, what: str, call: Awaitable):
        """Await a domain call; a refusal (``DomainError``) is journaled and returns None."""
        try:
            return await call
        except DomainError as exc:
            self.journal.add("refused", what, str(exc))
            return None

    # the year ----------------------------------------------------------

    async def build(self) -> Services:
        """Live the year; returns the services (still open, clock at the anchor)."""
        self.svc = await open_services(self.settings, self.clock, self.db_path)
        # settings, not data: a bigger page cache than the bot's; no syncs, no zeroing of
        # freed pages and fewer checkpoints (a build killed halfway is simply built again)
        for pragma in (f"cache_size = -{BUILD_CACHE_KIB}", "synchronous = OFF",
                       "secure_delete = OFF", f"wal_autocheckpoint = {BUILD_CHECKPOINT_PAGES}"):
            await self.svc.db.execute(f"PRAGMA {pragma}")
        self.plan_people()
        self.at(self.start, self.plan_week_job(0))
        for job in self.jobs():
            job()
        started = last_report = time.perf_counter()
        db = self.svc.db
        tx = None
        try:
            while self.queue and self.queue[0].at < self.anchor:
                slice_start = self.queue[0].at // SLICE * SLICE
                self.now = slice_start
                self.clock.set(datetime.fromtimestamp(slice_start, TZ))
                alone = []
                if tx is None:
                    tx = db.transaction()
                    await tx.__aenter__()
                while self.queue and self.queue[0].at < slice_start + SLICE:
                    due = heapq.heappop(self.queue)
                    if due.alone:
                        alone.append(due)
                    else:
                        await self.timed(due.run)
                following = self.queue[0].at if self.queue else self.anchor
                if alone or following // TRANSACTION != slice_start // TRANSACTION:
                    tx, ending = None, tx
                    await ending.__aexit__(None, None, None)
                    for due in alone:
                        await self.timed(due.run)
                if time.perf_counter() - last_report > 30:
                    last_report = time.perf_counter()
                    done = (slice_start - self.start) / (self.anchor - self.start)
                    self.progress(f"{done:5.1%} of the year ({self.clock.now():%Y-%m-%d}) in "
                                  f"{last_report - started:.0f} s")
        except BaseException as exc:
            if tx is not None:
                await tx.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        if tx is not None:
            await tx.__aexit__(None, None, None)
        self.now = self.anchor
        self.clock.set(datetime.fromtimestamp(self.anchor, TZ))
        async with db.transaction():
            await self.deliver()
        return self.svc

    async def timed(self, run: Action) -> None:
        t = time.perf_counter()
        await run()
        name = getattr(run, "label", "?")
        self.timings[name] += time.perf_counter() - t
        self.calls[name] += 1

    # people ----------------------------------------------------------

    def plan_people(self) -> None:
        """Branches, their floors and groups, and everyone who will have a profile."""
        shape, rng = self.shape, self.rng
        sizes = branch_sizes(shape, rng)
        biggest = max(sizes)
        users = itertools.count(FIRST_USER)
        for index, size in enumerate(sizes):
            busy = 0.45 + 0.9 * (size / biggest) ** 0.35 + rng.uniform(-0.25, 0.35)
            floors = [f"{n}楼" for n in range(1, max(3, min(18, size // 45)) + 1)]
            groups = [FIRST_GROUP + index * 10 + k for k in range(1 + min(3, size // 400))]
            people = []
            for _ in range(size + round(size * shape.joiners)):
                identity = rng.choices(list(IDENTITY_WEIGHTS), list(IDENTITY_WEIGHTS.values()))[0]
                floor = rng.choice(floors)
                dorm = f"{floor[:-1]}{rng.randrange(1, 31):02d}"
                base = 0.55 if identity != "群众" else 0.22
                people.append(Person(next(users), person_name(rng), identity, floor, dorm,
                                     min(1.0, rng.betavariate(2, 2) * 2 * base)))
            branch = Branch(index, size, max(0.3, busy), groups, floors, people[:size])
            branch.joiners = people[size:]
            self.branches.append(branch)

    async def open_branch(self, b: Branch) -> None:
        """``/支部 创建`` in the first group, ``/支部 绑定`` of the others, everyone's
        ``/登记``, identities and 支委/书记 set by the secretary, floor leaders, the rotation of
        导学 leaders, skills, posts and the branch's repeating reminders."""
        svc, rng = self.svc, self.flow_rng("branch")
        owner = Actor(b.people[0].user_id, is_group_admin=True, group_id=b.groups[0])
        branch = await svc.branches.create_branch(b.groups[0], owner, f"第{b.index + 1}社区党支部")
        b.id = branch.id
        b.term_id = (await svc.branches.current_term(b.id)).id
        self.journal.add("term", b.id, b.term_id, self.now)
        b.admin = owner
        for p in b.people:
            await self.register(b, p)
        party = [p for p in b.people if p.identity in ("正式党员", "预备党员")] or b.people
        b.secretary = party[0]
        committee = party[: max(3, min(9, len(party) // 25))]
        await svc.branches.set_role(b.id, owner, b.secretary.user_id, "书记")
        for p in committee:
            p.committee = True
            await svc.branches.set_role(b.id, owner, p.user_id, "支委")
        b.admin = Actor(b.secretary.user_id, is_group_admin=True, group_id=b.groups[0])
        for group in b.groups[1:]:  # the floor groups, bound by the secretary (their owner)
            await svc.branches.bind(group, b.id, Actor(b.secretary.user_id, is_group_admin=True,
                                                       group_id=group))
        for floor in b.floors:
            on_floor = [p for p in party if p.floor == floor]
            if on_floor:
                on_floor[0].keep = True
                await svc.branches.set_role(b.id, b.admin, on_floor[0].user_id, "组长")
        leaders = b.eligible(self.settings)[:8] or [b.secretary]
        for p in [*leaders, *committee]:
            p.keep = True
        await svc.sessions.set_rotation(b.id, b.admin, [p.user_id for p in leaders])
        for p in rng.sample(b.people, len(b.people) // 4):
            await svc.branches.set_skills(b.id, b.admin, p.user_id, rng.choice(SKILLS))
        for p in rng.sample(committee, min(len(committee), 3)):
            if p.identity in self.settings.wish_claim_identities:
                await svc.posts.assign(b.id, b.admin, p.user_id, VANGUARD, "宿舍安全先锋岗")
        for text in ("每周三 19:00 本周导学请大家按时参加，签到码在现场屏幕上。",
                     "每月1日 09:00 请各位党员按时交纳党费。",
                     "每周五 18:00 周末离校请注意宿舍安全，关好门窗水电。")[: 1 + b.size // 150]:
            reminder = await svc.reminders.add(b.id, b.admin, text)
            self.arm_reminder(b, reminder.id, reminder.next_fire_at)

    async def register(self, b: Branch, p: Person) -> None:
        """``/登记`` and, for anyone not 群众, ``/成员 设置`` by the secretary."""
        svc = self.svc
        await svc.branches.register(b.id, p.user_id, p.name, p.floor, p.dorm)
        if p.identity != "群众":
            await svc.branches.set_role(b.id, b.admin, p.user_id, p.identity)
        p.active = True
        self.journal.add("member", b.id, p.user_id, p.identity, p.floor, self.now)

    # weekly planning ----------------------------------------------------------

    def plan_week_job(self, week: int) -> Action:
        async def plan() -> None:
            gc.collect()  # the collector is off while building (see ``build_school``)
            self.plan_week(week)
            if week + 1 < self.shape.weeks:
                self.at(self.start + (week + 1) * WEEK, self.plan_week_job(week + 1))
        return plan

    def plan_week(self, week: int) -> None:
        """Everything each branch starts this week; follow-ups schedule themselves."""
        monday = self.start + week * WEEK
        factor = self.week_factor(week)
        rng = self.rng
        for b in self.branches:
            if week == 0:
                self.at(monday + rng.randrange(9 * HOUR, 18 * HOUR, SLICE),
                        self.call(self.open_branch, b))
                continue
            if week in self.shape.term_starts:
                self.at(monday + 8 * HOUR + rng.randrange(0, 2 * HOUR, SLICE),
                        self.call(self.new_term, b, week))
            self.plan_sessions(b, week, monday, factor)
            self.plan_meetings(b, week, monday, factor)
            self.plan_wishes(b, monday, factor)
            self.plan_problems(b, monday, factor)
            self.plan_awards(b, monday, factor)
            self.plan_tasks(b, monday, factor)
            self.plan_polls(b, monday, factor)
            self.plan_surveys(b, monday, factor)
            if week % 4 == 2 and factor == 1.0:
                self.at(monday + 2 * DAY + 21 * HOUR, self.call(self.membership_changes, b))
        if week == self.shape.weeks - 1:  # Friday: next Monday's 09:00 activity (see probe)
            self.at(monday + 4 * DAY + 15 * HOUR, self.call(self.probe, self.median_branch()))

    def median_branch(self) -> Branch:
        by_size = sorted(self.branches, key=lambda b: (b.size, b.index))
        return by_size[len(by_size) // 2]

    async def probe(self, b: Branch) -> None:
        """``/活动 发起 主题党日 … [无码]`` at the Monday 09:00 just after the year ends, in the
        median branch: when the weekly lists of every branch go out at 09:00, its members'
        ``/签到`` (no code needed) shows how another branch's commands fare meanwhile."""
        starts = datetime.fromtimestamp(self.anchor, TZ).replace(hour=9, minute=0)
        session = await self.svc.activities.create(
            b.id, b.groups[0], b.admin, "主题党日", PROBE_TOPIC, starts, 60,
            leader_id=b.secretary.user_id, with_code=False)
        self.journal.add("session", b.id, session.id, "主题党日", session.starts_at)

    def call(self, fn, *args) -> Action:
        async def run() -> None:
            await fn(*args)
        run.label = fn.__name__
        return run

    def share(self, b: Branch) -> float:
        """This branch's share of the school's activity."""
        weights = getattr(self, "_weights", None)
        if weights is None:
            weights = self._weights = {x.index: x.size * x.activity for x in self.branches}
            self._total_weight = sum(weights.values())
        return weights[b.index] / self._total_weight

    def per_week(self, yearly: float, b: Branch, factor: float) -> int:
        """How many of a yearly school-wide volume this branch starts this week."""
        mean = yearly * self.share(b) * factor / self.teaching_weeks()
        return poisson(self.rng, mean)

    def daytime(self, monday: int, rng: random.Random, days: int = 7) -> int:
        return monday + rng.randrange(days) * DAY + rng.randrange(8 * HOUR, 23 * HOUR, SLICE)

    # terms and membership ----------------------------------------------------------

    async def new_term(self, b: Branch, week: int) -> None:
        """``/学期 开始``, then the new students register."""
        moment = self.clock.now()
        name = term_name_for(moment.year, moment.month)
        if name == (await self.svc.branches.current_term(b.id)).name:
            name += "（续）"
        term = await self.svc.branches.start_term(b.id, b.admin, name)
        b.term_id = term.id
        self.journal.add("term", b.id, term.id, self.now)
        rng = self.flow_rng("joiners")
        for p in b.joiners:
            self.at(self.now + rng.randrange(DAY, 10 * DAY, SLICE), self.call(self.join, b, p))
        b.joiners = []

    async def join(self, b: Branch, p: Person) -> None:
        b.people.append(p)
        await self.register(b, p)

    async def membership_changes(self, b: Branch) -> None:
        """Monthly: a few promotions (``/成员 设置``) and a few removals (``/成员 移除``)."""
        rng = self.flow_rng("membership")
        for p in b.active():
            if p.identity in PROMOTION and rng.random() < 0.03:
                p.identity = PROMOTION[p.identity]
                await self.svc.branches.set_role(b.id, b.admin, p.user_id, p.identity)
                self.journal.add("role", b.id, p.user_id, p.identity, self.now)
            elif not p.keep and rng.random() < 0.004:
                await self.svc.branches.remove(b.id, b.admin, p.user_id)
                p.active = False
                self.journal.add("removed", b.id, p.user_id, self.now)

    # sessions and activities ----------------------------------------------------------

    def plan_sessions(self, b: Branch, week: int, monday: int, factor: float) -> None:
        """导学 sessions: about one per 150 profiles a week in a busy branch."""
        rng = self.rng
        count = poisson(rng, factor * b.activity * max(0.6, b.size / 150) * self.shape.sessions)
        for _ in range(count):
            day = rng.choice((0, 1, 2, 3, 6))
            starts = monday + day * DAY + rng.choice((19 * HOUR, 19 * HOUR + 1800, 14 * HOUR))
            created = max(monday + 10 * HOUR, starts - rng.randrange(2 * DAY, 5 * DAY, SLICE))
            created = min(created, starts - 3 * HOUR)
            self.at(created, self.call(self.hold, b, "导学", starts, count))

    def plan_meetings(self, b: Branch, week: int, monday: int, factor: float) -> None:
        """三会一课 (monthly 党小组会 and 支委会, quarterly 支部党员大会 and 党课), a monthly
        主题党日 and 志愿服务, and a monthly 微分享 in bigger branches."""
        if factor < 1.0:
            return
        rng = self.rng
        month_week = week % 4
        plans = []
        if month_week == 1:
            plans += [("党小组会", 1 + b.size // 500), ("支委会", 1), ("主题党日", 1)]
            if week % 12 == 1:
                plans += [("支部党员大会", 1), ("党课", 1)]
        if month_week == 2:
            plans.append(("志愿服务", 1 + b.size // 800))
        if month_week == 3 and b.size >= 300:
            plans.append(("微分享", 1))
        for kind, count in plans:
            for _ in range(count):
                starts = monday + rng.randrange(5) * DAY + rng.choice((15 * HOUR, 19 * HOUR))
                created = max(monday + 9 * HOUR, starts - 3 * DAY)
                created = min(created, starts - 4 * HOUR)
                self.at(created, self.call(self.hold, b, kind, starts, count))

    async def hold(self, b: Branch, kind: str, starts: int, spread: int) -> None:
        """``/导学 发起`` or ``/活动 发起``, then everything around it: sign-ups, leave, the
        bot's messages, check-ins with the code on the screen, the summary, notes.
        ``spread``: sessions of this kind the branch holds this week (people go to one)."""
        svc, rng = self.svc, self.flow_rng("session")
        moment = datetime.fromtimestamp(starts, TZ)
        topic = rng.choice(TOPICS)
        settings = self.settings.activity_kinds[kind]
        if kind == "导学":
            session = await svc.sessions.create(b.id, b.groups[0], b.admin, topic, moment)
        else:
            capacity = rng.randrange(30, 80) if settings.signup else None
            session = await svc.activities.create(
                b.id, b.groups[0], b.admin, kind, topic, moment, capacity=capacity,
                leader_id=b.secretary.user_id)
        self.journal.add("session", b.id, session.id, kind, session.starts_at)
        if rng.random() < 0.03:
            self.at(starts - 2 * HOUR, self.call(self.cancel, b, session.id))
            return
        for kind_, at in svc.sessions.job_times(session).items():
            self.at(at, self.call(self.fire_session_job, session.id, kind_))
        people = self.expected(b, kind)
        signed: list[Person] = []
        if settings.signup:
            wanting = [p for p in b.active() if rng.random() < 0.24 * p.keen / spread]
            for p in wanting:
                self.at(self.now + rng.randrange(SLICE, max(2 * SLICE, starts - self.now - HOUR),
                                                 SLICE),
                        self.call(self.sign_up, b, session.id, p, signed))
            people = signed  # who comes: decided when the sign-ups are in
        elif settings.frequency is not None:
            for p in people:
                if rng.random() < 0.01:
                    self.at(starts - rng.randrange(HOUR, DAY, SLICE),
                            self.call(self.ask_leave, b, session.id, p))
        leader = session.leader_id
        self.at(starts - 30 * 60, self.call(self.check_in, b, session, leader, True))
        self.at(starts - 30 * 60, self.call(self.plan_attendance, b, session, people, kind,
                                               spread))

    def expected(self, b: Branch, kind: str) -> list[Person]:
        rule = self.settings.activity_kinds[kind].expected
        active = b.active()
        if rule == "eligible":
            return [p for p in active if p.identity in self.settings.wish_claim_identities]
        if rule == "members":
            return [p for p in active if p.identity in ("正式党员", "预备党员")]
        if rule == "committee":
            return [p for p in active if p.committee]
        return active

    async def plan_attendance(self, b: Branch, session, people: list[Person], kind: str,
                              spread: int) -> None:
        """Who checks in, and when: over the window around the start; walk-ins at 导学 and
        主题党日 from everyone; a few type a wrong code first."""
        rng = self.flow_rng("attendance")
        attend = (self.shape.attendance if kind == "导学" else ATTENDANCE.get(kind, 0.7)) / spread
        pool = list(people)
        expected = {p.user_id for p in pool}
        if kind in ("导学", "主题党日", "微党课"):
            pool += [p for p in b.active() if p.user_id not in expected and rng.random() < 0.5]
        starts = session.starts_at
        for p in pool:
            if not p.active or p.user_id == session.leader_id:
                continue
            chance = min(0.95, attend * p.keen * (1.0 if p.user_id in expected else 0.35))
            if rng.random() < chance:
                at = starts - 30 * 60 + rng.randrange(0, 55 * 60, SLICE)
                whole = rng.random() < WHOLE
                self.at(at, self.call(self.check_in, b, session, p.user_id, whole,
                                      whole and rng.random() < 0.2))
                if (kind == "导学" and rng.random() < self.shape.notes_share
                        and at - p.noted > 2 * DAY):  # a note is for the latest session
                    p.noted = at
                    self.at(at + rng.randrange(2 * HOUR, 20 * HOUR, SLICE),
                            self.call(self.note, b, p))

    async def check_in(self, b: Branch, session, user_id: int, whole: bool,
                       wrong: bool = False) -> None:
        """``/签到``. With ``whole``, the whole command with the code the screen shows now (a
        wrong code first if ``wrong``); otherwise its atomic step alone
        (``SessionService._attempt``: the same check-in row and 出勤 entry, without judging the
        code again — see the module docstring). The leader's own check-in is an ordinary one."""
        svc = self.svc
        if whole:
            code = svc.sessions.code_now(session)
            if wrong and code is not None:
                await self.attempt("checkin", svc.sessions.check_in(b.id, user_id, "0000"))
            result = await self.attempt(
                "checkin", svc.sessions.check_in(b.id, user_id, code.code if code else None))
            new, at, points = (result.new, result.at, result.points) if result else (0, 0, 0)
        else:
            decision, at, _ = await svc.sessions._attempt(
                session, user_id, _record_once, "code" if session.has_code else "open")
            new, points = decision == "record", svc.sessions.attendance_points(session)
        if new:
            self.journal.add("checkin", b.id, session.id, user_id, at)
            self.points(b, user_id, points)

    async def sign_up(self, b: Branch, session_id: int, p: Person, signed: list) -> None:
        result = await self.attempt("signup", self.svc.activities.sign_up(b.id, p.user_id,
                                                                          session_id))
        if result is not None and result.status == "confirmed":
            signed.append(p)

    async def ask_leave(self, b: Branch, session_id: int, p: Person) -> None:
        await self.attempt("leave", self.svc.activities.ask_leave(b.id, p.user_id, session_id,
                                                                  "课程冲突"))

    async def cancel(self, b: Branch, session_id: int) -> None:
        await self.svc.sessions.cancel(b.id, b.admin, session_id)
        self.journal.add("cancelled", b.id, session_id)

    async def fire_session_job(self, session_id: int, kind: str) -> None:
        await self.svc.sessions.fire_job(session_id, kind)

    async def note(self, b: Branch, p: Person) -> None:
        """``/笔记`` within the window after a session the person attended."""
        if not p.active:
            return
        result = await self.attempt("note", self.svc.sessions.add_note(b.id, p.user_id, NOTE))
        if result is not None:
            self.journal.add("note", b.id, result.session.id, p.user_id, self.now)
            self.points(b, p.user_id, result.points)

    def points(self, b: Branch, user_id: int, delta: int, term_id: int | None = None) -> None:
        if delta:
            self.journal.add("points", b.id, term_id or b.term_id, user_id, delta)

    # wishes ----------------------------------------------------------

    def plan_wishes(self, b: Branch, monday: int, factor: float) -> None:
        for _ in range(self.per_week(self.shape.wishes, b, factor)):
            self.at(self.daytime(monday, self.rng), self.call(self.wish, b))

    async def wish(self, b: Branch) -> None:
        """``/许愿``, then (drawn now) withdrawn, closed, or claimed, served and rated — or left
        for the bot to complete unrated after ``wish_rating_days``."""
        rng = self.flow_rng("wish")
        active = b.active()
        wisher = rng.choice(active)
        wish = await self.svc.wishes.post(b.id, rng.choice(b.groups), wisher.user_id,
                                          rng.choice(WISHES))
        self.journal.add("wish", b.id, wish.id, self.now)
        fate = rng.random()
        if fate < 0.05:
            self.at(self.now + rng.randrange(HOUR, 2 * DAY, SLICE),
                    self.call(self.wish_end, b, wish.id, wisher, "withdraw"))
            return
        if fate < 0.08:
            self.at(self.now + rng.randrange(HOUR, 3 * DAY, SLICE),
                    self.call(self.wish_end, b, wish.id, wisher, "close"))
            return
        delay = int(rng.expovariate(1 / (14 * HOUR))) + SLICE
        self.at(self.now + delay, self.call(self.wish_claim, b, wish.id, wisher, rng))

    async def wish_end(self, b: Branch, wish_id: int, wisher: Person, how: str) -> None:
        if how == "withdraw":
            await self.attempt("wish", self.svc.wishes.withdraw(b.id, wish_id, wisher.user_id))
        else:
            await self.attempt("wish", self.svc.wishes.close(b.id, wish_id, b.admin, "重复"))

    async def wish_claim(self, b: Branch, wish_id: int, wisher: Person,
                         rng: random.Random) -> None:
        limit = self.settings.wish_max_claims
        helpers = [p for p in b.eligible(self.settings)
                   if p.user_id != wisher.user_id and b.open_claims[p.user_id] < limit]
        if not helpers:
            return
        helper = max(rng.sample(helpers, min(3, len(helpers))), key=lambda p: p.keen)
        wish = await self.attempt("wish", self.svc.wishes.claim(b.id, wish_id, helper.user_id))
        if wish is None:
            return
        b.open_claims[helper.user_id] += 1
        self.journal.add("wish_claimed", b.id, wish_id)
        delay = int(rng.expovariate(1 / (40 * HOUR))) + HOUR
        self.at(self.now + delay, self.call(self.wish_done, b, wish_id, wisher, helper, rng))

    async def wish_done(self, b: Branch, wish_id: int, wisher: Person, helper: Person,
                        rng: random.Random) -> None:
        b.open_claims[helper.user_id] -= 1
        done = await self.attempt("wish", self.svc.wishes.mark_done(
            b.id, wish_id, helper.user_id, "已完成，欢迎评价"))
        if done is None or rng.random() < 0.25:
            return  # left unrated: completed by the bot after wish_rating_days
        delay = int(rng.expovariate(1 / (30 * HOUR))) + SLICE
        delay = min(delay, (self.settings.wish_rating_days - 1) * DAY)
        score = rng.choices((5, 4, 3, 2, 1), (55, 25, 10, 6, 4))[0]
        self.at(self.now + delay, self.call(self.wish_rate, b, wish_id, wisher, score))

    async def wish_rate(self, b: Branch, wish_id: int, wisher: Person, score: int) -> None:
        done = await self.attempt("wish", self.svc.wishes.rate(b.id, wish_id, wisher.user_id,
                                                              score, "谢谢！"))
        if done is not None:
            self.journal.add("wish_completed", b.id, wish_id, score)
            self.points(b, done.wish.claimer_id, done.points)

    # problems (民情) ----------------------------------------------------------

    def plan_problems(self, b: Branch, monday: int, factor: float) -> None:
        for _ in range(self.per_week(self.shape.problems, b, factor)):
            self.at(self.daytime(monday, self.rng), self.call(self.problem, b))

    async def problem(self, b: Branch) -> None:
        """``/反映`` (in a group or privately, sometimes anonymously), then taken on, followed
        up, solved and confirmed — or escalated, reopened, closed, or left to auto-confirm."""
        rng = self.flow_rng("problem")
        reporter = rng.choice(b.active())
        category = rng.choices(list(PROBLEM_WEIGHTS), list(PROBLEM_WEIGHTS.values()))[0]
        private = rng.random() < 0.15
        text = f"{category} {rng.choice(PROBLEMS[category])}，{reporter.floor}{reporter.dorm}"
        problem = await self.svc.problems.raise_problem(
            b.id, None if private else rng.choice(b.groups), reporter.user_id, text,
            anonymous=rng.random() < 0.1)
        self.journal.add("problem", b.id, problem.id, self.now)
        if rng.random() < 0.05:
            self.at(self.now + rng.randrange(HOUR, DAY, SLICE),
                    self.call(self.problem_step, b, problem.id, reporter, "close", rng))
            return
        mean = 3 * HOUR if category == "报修" else 8 * HOUR
        self.at(self.now + int(rng.expovariate(1 / mean)) + SLICE,
                self.call(self.problem_step, b, problem.id, reporter, "take", rng))

    async def problem_step(self, b: Branch, problem_id: int, reporter: Person, step: str,
                           rng: random.Random, solver: Actor | None = None) -> None:
        """One step of a problem's life; ``solver``: who follows it up (its handler, or for
        an escalated one a 支委 who is not its reporter)."""
        svc, admin = self.svc.problems, b.admin
        if step == "close":
            if await self.attempt("problem", svc.close(b.id, problem_id, admin, "重复反映")):
                self.journal.add("problem_closed", b.id, problem_id)
            return
        if step == "take":
            others = [p for p in b.active() if p.user_id != reporter.user_id]
            if rng.random() < 0.04:
                await self.attempt("problem", svc.escalate(b.id, problem_id, admin, "社区办公室"))
                solver = Actor(rng.choice([p for p in others if p.committee]).user_id)
            else:
                handler = rng.choice([p for p in others if p.identity
                                      in self.settings.wish_claim_identities][:40])
                if await self.attempt("problem", svc.take_on(b.id, problem_id, admin,
                                                             handler.user_id)) is None:
                    return
                solver = Actor(handler.user_id)
            solve = int(rng.expovariate(1 / (16 * HOUR))) + HOUR
            if rng.random() < 0.3 and solve > 3 * HOUR:
                self.at(self.now + rng.randrange(HOUR, solve - HOUR, SLICE), self.call(
                    self.problem_step, b, problem_id, reporter, "progress", rng, solver))
            self.at(self.now + solve,
                    self.call(self.problem_step, b, problem_id, reporter, "solve", rng, solver))
        elif step == "progress":
            await self.attempt("problem",
                               svc.progress(b.id, problem_id, solver, "已联系后勤，正在处理"))
        elif step == "solve":
            solved = await self.attempt("problem", svc.solve(b.id, problem_id, solver, "已处理"))
            if solved is None:
                return
            fate = rng.random()
            if fate < 0.03:
                self.at(self.now + rng.randrange(HOUR, DAY, SLICE), self.call(
                    self.problem_step, b, problem_id, reporter, "reopen", rng, solver))
            elif fate < 0.68:
                self.at(self.now + rng.randrange(HOUR, 2 * DAY, SLICE),
                        self.call(self.problem_step, b, problem_id, reporter, "confirm", rng))
        elif step == "reopen":
            if await self.attempt("problem", svc.reopen(b.id, problem_id, reporter.user_id,
                                                        "还是没修好")):
                self.at(self.now + rng.randrange(3 * HOUR, 2 * DAY, SLICE), self.call(
                    self.problem_step, b, problem_id, reporter, "solve", rng, solver))
        elif step == "confirm":
            score = rng.choices((5, 4, 3, 2, 1), (60, 25, 8, 4, 3))[0]
            done = await self.attempt("problem", svc.confirm(b.id, problem_id,
                                                             reporter.user_id, score, None))
            if done is not None:
                self.journal.add("problem_done", b.id, problem_id, score)
                self.points(b, done.problem.handler_id, done.points)

    # points ----------------------------------------------------------

    def plan_awards(self, b: Branch, monday: int, factor: float) -> None:
        """The secretary's ``/积分 调整`` for what happens offline (theory study check-ins,
        dorm inspections, volunteer hours, duty shifts, a missed meeting), once or twice a
        week, a batch of people each time; now and then one is reversed (``/积分 撤销``)."""
        rng = self.rng
        yearly = self.shape.awards_per_profile * b.size
        count = poisson(rng, yearly * factor / self.teaching_weeks())
        rounds = 1 + (count > 40)
        for _round in range(rounds):
            reason, deltas = rng.choice(AWARDS)
            at = monday + rng.randrange(7) * DAY + rng.randrange(9 * HOUR, 22 * HOUR, SLICE)
            self.at(at, self.call(self.awards, b, count // rounds, reason, deltas))

    async def awards(self, b: Branch, count: int, reason: str, deltas: tuple[int, ...]) -> None:
        rng = self.flow_rng("awards")
        active = b.active()
        weights = [p.keen + 0.05 for p in active]
        chosen = {p.user_id: p for p in rng.choices(active, weights, k=count)}
        svc = self.svc
        term = await svc.branches.current_term(b.id)
        whole, rows = [], []
        for p in chosen.values():
            delta = rng.choice(deltas)
            if rng.random() < WHOLE:  # the whole command, checks and reply included
                whole.append((p.user_id, delta))
            else:  # what PointsService.book appends for it: the same entry
                rows.append({"branch_id": b.id, "term_id": term.id, "user_id": p.user_id,
                             "category": Category.AWARD.value, "delta": delta,
                             "reason": reason, "ref": None, "operator_id": b.admin.user_id,
                             "now": self.now, "local_day": svc.points.local_day(self.now)})
        ids = await svc.db.run_atomic(partial(_append_all, rows=rows))
        for user_id, delta in whole:
            ids.append((await svc.points.adjust(b.id, b.admin, user_id, delta, reason)).id)
        for row in rows:
            self.points(b, row["user_id"], row["delta"])
        for user_id, delta in whole:
            self.points(b, user_id, delta)
        for entry_id in ids:
            if rng.random() < 0.01:  # /积分 撤销 of an entry typed wrong
                reversal = await svc.points.reverse(b.id, b.admin, entry_id, "录入有误")
                self.points(b, reversal.user_id, reversal.delta, reversal.term_id)

    # tasks ----------------------------------------------------------

    def plan_tasks(self, b: Branch, monday: int, factor: float) -> None:
        for _ in range(poisson(self.rng, self.shape.tasks_per_branch * factor
                               / self.teaching_weeks())):
            self.at(monday + self.rng.randrange(5) * DAY + 10 * HOUR, self.call(self.task, b))

    async def task(self, b: Branch) -> None:
        """``/任务 发布`` to a few members (指派) or to a small floor, each ``/任务 完成``;
        the secretary confirms."""
        rng = self.flow_rng("task")
        eligible = b.eligible(self.settings)
        floor = rng.choice(b.floors)
        on_floor = [p for p in eligible if p.floor == floor]
        if 0 < len(on_floor) <= 30 and rng.random() < 0.5:
            target = Target(FLOOR, word=floor)
        elif eligible:
            people = rng.sample(eligible, min(len(eligible), rng.randrange(3, 12)))
            target = Target(PERSON, people=tuple(p.user_id for p in people))
        else:
            return
        due = self.now + 7 * DAY
        task = await self.svc.tasks.publish(b.id, b.groups[0], b.admin, "楼层安全检查",
                                            due, target, rng.randrange(2, 6))
        for kind, at in (("remind", task.row.remind_at), ("overdue", due)):
            if at:
                self.at(at, self.call(self.task_job, task.id, kind))
        for held in task.assignments:
            if rng.random() < 0.8:
                self.at(self.now + rng.randrange(HOUR, 6 * DAY, SLICE),
                        self.call(self.task_done, b, task.id, held.user_id))
        self.at(self.now + 6 * DAY + 20 * HOUR, self.call(self.task_confirm, b, task.id))

    async def task_done(self, b: Branch, task_id: int, user_id: int) -> None:
        await self.attempt("task", self.svc.tasks.complete(b.id, task_id, user_id, "已检查完毕"))

    async def task_confirm(self, b: Branch, task_id: int) -> None:
        confirmed = await self.attempt("task", self.svc.tasks.confirm(b.id, task_id, b.admin))
        for c in confirmed or ():
            self.points(b, c.user_id, c.points)

    async def task_job(self, task_id: int, kind: str) -> None:
        tasks = self.svc.tasks
        await (tasks.remind(task_id) if kind == "remind" else tasks.tell_overdue(task_id))

    # polls and surveys ----------------------------------------------------------

    def plan_polls(self, b: Branch, monday: int, factor: float) -> None:
        for _ in range(poisson(self.rng, self.shape.polls_per_branch * factor
                               / self.teaching_weeks())):
            self.at(monday + self.rng.randrange(5) * DAY + 12 * HOUR, self.call(self.poll, b))

    async def poll(self, b: Branch) -> None:
        """``/投票 发起`` (a fifth anonymous), votes over three days, closed at its deadline."""
        rng = self.flow_rng("poll")
        anonymous = " 匿名" if rng.random() < 0.2 else ""
        deadline = datetime.fromtimestamp(self.now + 3 * DAY, TZ)
        poll = await self.svc.polls.create(
            b.id, b.groups[0], b.admin,
            f"本月主题党日去哪里？ | 红色教育基地 | 社区志愿服务 | 党史展览{anonymous} "
            f"截止 {deadline:%Y-%m-%d %H:%M}")
        self.journal.add("poll", b.id, poll.id, self.now)
        for p in b.active():
            if rng.random() < 0.45 * p.keen:
                self.at(self.now + rng.randrange(SLICE, 3 * DAY - HOUR, SLICE),
                        self.call(self.vote, b, poll.id, p, rng.randrange(1, 4)))
        self.at(poll.closes_at, self.call(self.close_poll, poll.id), alone=True)

    async def vote(self, b: Branch, poll_id: int, p: Person, choice: int) -> None:
        if p.active:
            await self.attempt("vote", self.svc.polls.vote(poll_id, p.user_id, (choice,), b.id))

    async def close_poll(self, poll_id: int) -> None:
        await self.svc.polls.close_due(poll_id)

    def plan_surveys(self, b: Branch, monday: int, factor: float) -> None:
        for _ in range(poisson(self.rng, self.shape.surveys_per_branch * factor
                               / self.teaching_weeks())):
            self.at(monday + self.rng.randrange(5) * DAY + 16 * HOUR,
                    self.call(self.survey, b))

    async def survey(self, b: Branch) -> None:
        """``/问卷 发起`` (the 满意度 template or a short one of the branch's own), answered
        privately step by step by about a third, closed after a week."""
        rng = self.flow_rng("survey")
        text = ("满意度" if rng.random() < 0.5 else "宿舍生活调查\n评分 宿舍环境\n"
                "选择 最需要改进的 | 卫生 | 安静 | 网络\n填空 其他建议 选填")
        if rng.random() < 0.3:
            text = text.replace("\n", " 匿名\n", 1) if "\n" in text else text + " 匿名"
        survey, _ = await self.svc.surveys.create(b.id, b.groups[0], b.admin, text)
        self.journal.add("survey", b.id, survey.id, self.now)
        for p in b.active():
            if rng.random() < 0.4 * p.keen:
                self.at(self.now + rng.randrange(HOUR, 5 * DAY, SLICE),
                        self.call(self.answer, b, survey.id, p, rng.random()))
        self.at(self.now + 7 * DAY, self.call(self.close_survey, b, survey.id), alone=True)

    async def answer(self, b: Branch, survey_id: int, p: Person, draw: float) -> None:
        surveys = self.svc.surveys
        actor = Actor(p.user_id)
        sheet = await self.attempt("survey", surveys.start(survey_id, actor))
        if sheet is None:
            return
        for question in sheet.survey.questions:
            if question.kind == "scale":
                answer = str(5 if draw < 0.5 else 4 if draw < 0.8 else 3)
            elif question.kind == "choice":
                answer = "1"
            else:
                answer = "无"
            sheet.feed(answer, self.now)
        await self.attempt("survey", surveys.submit(sheet))

    async def close_survey(self, b: Branch, survey_id: int) -> None:
        await self.attempt("survey", self.svc.surveys.close(survey_id, b.admin, b.id))

    # reminders ----------------------------------------------------------

    def arm_reminder(self, b: Branch, reminder_id: int, at: datetime | None) -> None:
        if at is not None:
            self.at(at.timestamp(), self.call(self.fire_reminder, b, reminder_id))

    async def fire_reminder(self, b: Branch, reminder_id: int) -> None:
        await self.svc.reminders.fire(reminder_id)
        reminder = await self.svc.reminders.by_id(reminder_id)
        if reminder is not None and reminder.state == "active":
            self.arm_reminder(b, reminder_id, reminder.next_fire_at)

    # the bot's jobs ----------------------------------------------------------

    def jobs(self) -> list[Callable[[], None]]:
        """The bot's built-in jobs (the same calls its plugins schedule), each re-arming itself
        at its next time; plus delivery and pruning of the queue."""
        def every(first: int, period: int, work: Callable[[], Awaitable],
                  label: str) -> Callable[[], None]:
            def arm(at: int = first) -> None:
                async def run() -> None:
                    await work()
                    if at + period < self.anchor:
                        arm(at + period)
                run.label = label
                self.at(at, run)
            return arm

        svc, day = self.svc, self.start  # the year starts on a Monday
        return [
            every(day + SLICE, HOUR, self.deliver, "deliver"),
            every(day + 2 * SLICE, HOUR, self.auto_complete, "auto_complete"),
            every(day + 12 * HOUR, DAY, lambda: svc.wishes.queue_digests(), "wish_digests"),
            every(day + 12 * HOUR + SLICE, DAY, lambda: svc.wishes.queue_rating_nudges(),
                  "rating_nudges"),
            every(day + 9 * HOUR + 1800, DAY, lambda: svc.problems.queue_overdue_reminders(),
                  "overdue_problems"),
            every(day + 9 * HOUR, WEEK, self.weekly_lists, "weekly_lists"),
            every(day + 6 * DAY + 20 * HOUR, WEEK, lambda: svc.points.queue_commendations(),
                  "commendations"),
            every(day + 3 * HOUR + 1800, DAY, self.prune, "prune"),
            every(day + 19 * DAY + 9 * HOUR, 4 * WEEK,
                  lambda: svc.activities.queue_behind_notices(), "meetings_behind"),
        ]

    async def weekly_lists(self) -> None:
        await self.svc.problems.queue_weekly()
        await self.svc.tasks.queue_weekly()

    async def auto_complete(self) -> None:
        for done in await self.svc.wishes.auto_complete_overdue():
            b = self.branch_by_id(done.wish.branch_id)
            self.journal.add("wish_completed", b.id, done.wish.id, None)
            self.points(b, done.wish.claimer_id, done.points)
        for done in await self.svc.problems.auto_confirm_due():
            b = self.branch_by_id(done.problem.branch_id)
            self.journal.add("problem_done", b.id, done.problem.id, None)
            self.points(b, done.problem.handler_id, done.points)

    def branch_by_id(self, branch_id: int) -> Branch:
        found = getattr(self, "_by_id", None)
        if found is None or branch_id not in found:
            found = self._by_id = {b.id: b for b in self.branches}
        return found[branch_id]

    async def deliver(self) -> None:
        """What the dispatcher does, minus QQ: every due message marked sent, and a branch's
        backlog warning forgotten once its queue has drained."""
        repo = OutboxRepository(self.svc.db)
        branches = set()
        while True:
            rows = await repo.due(self.now, 2000)
            if not rows:
                break
            for row in rows:
                await repo.mark_sent(row.id, self.now)
                branches.add(row.branch_id)
                self.sent[row.target_type] += 1
                if row.target_type == "group":
                    self.group_sent_per_hour[self.now // HOUR] += 1
        for branch_id in branches:
            await self.svc.outbox.settle_backlog(branch_id)

    async def prune(self) -> None:
        await self.svc.outbox.prune_sent(self.now)


def _append_all(conn: sqlite3.Connection, rows: list[dict]) -> list[int]:
    """In the database thread: ``append_sync`` of every row (one award round, one unit)."""
    return [append_sync(conn, **row) for row in rows]


def _record_once(checked_at: int | None, _wrong: int) -> str:
    """The check-in rule of a right code: record it unless already checked in."""
    return "already" if checked_at else "record"


ATTENDANCE = {"党小组会": 0.95, "支委会": 1.0, "主题党日": 0.8, "支部党员大会": 0.95,
              "党课": 0.85, "志愿服务": 0.95, "微分享": 0.9}


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth for small means, a rounded normal for large ones)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


async def build_school(shape: Shape, anchor: datetime, db_path: str,
                       journal: Journal | None = None,
                       progress: Callable[[str], None] | None = None) -> School:
    """Build ``shape`` ending at ``anchor`` into ``db_path``; the database is closed after."""
    school = School(shape, anchor, db_path, journal, progress=progress)
    quiet = logging.getLogger("zhibu")  # the backlog warnings of a busy year, not news here
    level, quiet.level = quiet.level, logging.ERROR
    gc.disable()  # millions of short-lived objects, collected once a simulated week
    try:
        with inline_database():
            await school.build()
    finally:
        gc.enable()
        quiet.setLevel(level)
        if school.svc is not None:
            await school.svc.db.close()
    return school
