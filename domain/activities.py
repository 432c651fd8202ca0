"""活动: every kind of activity (导学, 微分享, 主题党日, 志愿服务, 三会一课) on one session model.

Scheduling, codes, check-in, 补签, reminders and the after-end summary are the session
service's; this adds what differs by kind: sign-up with capacity and waitlist, leave (请假) for
meetings, who is expected, the attendance sheet with 出席/请假/缺席/补签, and the 三会一课
frequency check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from operator import countOf

from config import ActivityKind, BranchConfig
from domain.branches import Actor, BranchService
from domain.clock import Clock
from domain.errors import DomainError, Forbidden, NotFound
from domain.models import Member
from domain.outbox import OutboxService, at_segment, text_segment
from domain.sessions import SessionService, percent, role_word
from domain.text import optional_text, require_text
from storage.activities import (
    ActivityRepository,
    SignupOutcome,
    SignupRow,
    cancel_sync,
    set_capacity_sync,
    sign_up_sync,
)
from storage.database import Database
from storage.sessions import CheckinRow, SessionRow

PARTY_MEMBERS = ("预备党员", "正式党员")
ATTENDED, ON_LEAVE, ABSENT, MADE_UP = "出席", "请假", "缺席", "补签"
PERIOD_WORDS = {"month": "本月", "quarter": "本季度"}


@dataclass(frozen=True)
class SignupResult:
    activity: SessionRow
    status: str  # confirmed | waitlist
    position: int | None
    new: bool


@dataclass(frozen=True)
class CancelResult:
    activity: SessionRow
    was: str
    late: bool
    promoted: list[int]


@dataclass
class Roster:
    """Who was expected, who came, and in what state, for one activity."""

    activity: SessionRow
    states: dict[int, str] = field(default_factory=dict)  # expected person -> 出席/请假/缺席/补签
    walk_ins: list[int] = field(default_factory=list)  # came without being expected/confirmed
    waitlisted_walk_ins: list[int] = field(default_factory=list)  # of those, on the waitlist
    signed_up: list[int] = field(default_factory=list)  # confirmed sign-ups
    waitlist: list[int] = field(default_factory=list)
    checkins: dict[int, CheckinRow] = field(default_factory=dict)
    leave_reasons: dict[int, str] = field(default_factory=dict)

    @property
    def organiser(self) -> int:
        """The leader (导学人/负责人): 出席 however their presence was booked, and marked as the
        organiser wherever people are listed."""
        return self.activity.leader_id

    def count(self, state: str) -> int:
        return countOf(self.states.values(), state)

    @property
    def expected(self) -> int:
        return len(self.states)

    @property
    def present(self) -> int:
        """Expected people who attended (on site or made up)."""
        return self.count(ATTENDED) + self.count(MADE_UP)

    @property
    def rate(self) -> float | None:
        return None if not self.states else self.present / len(self.states)

    @property
    def no_shows(self) -> list[int]:
        """Confirmed sign-ups who did not come (sign-up kinds)."""
        return [u for u in self.signed_up if u not in self.checkins]


@dataclass(frozen=True)
class Turnout:
    """What the report needs of one activity's ``Roster``, without a state per person (a big
    branch's report counts thousands of people for each of dozens of activities): ``rate`` as
    ``Roster.rate`` (expected people who checked in, on site or 补签, / expected)."""

    activity: SessionRow
    rate: float | None
    signed_up: list[int]  # confirmed sign-ups
    came: set[int]  # everyone who checked in


def period_of(moment: datetime, frequency: str) -> tuple[datetime, datetime]:
    """The calendar month or quarter holding ``moment``, as [start, end) in its timezone."""
    month = moment.month if frequency == "month" else (moment.month - 1) // 3 * 3 + 1
    start = moment.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)
    step = 1 if frequency == "month" else 3
    year, month = (start.year + 1, month + step - 12) if month + step > 12 else (
        start.year, month + step)
    return start, start.replace(year=year, month=month)


def periods_between(since: datetime, until: datetime, frequency: str) -> list[tuple[datetime,
                                                                                   datetime]]:
    """Every month or quarter that overlaps [since, until)."""
    found = []
    start, end = period_of(since, frequency)
    while start < until:
        found.append((start, end))
        start, end = period_of(end, frequency)
    return found


@dataclass(frozen=True)
class KindFigures:
    """One kind's figures in a term (each defined once here; the README repeats them).

    举办 = activities of the kind that started in the term and were not cancelled; 平均出勤率 =
    mean over those with anyone expected of (expected people present, on site or 补签) /
    expected; 报名 = sign-ups not cancelled (候补 = of them, still waiting); 报名未到率 =
    confirmed sign-ups who did not check in / confirmed sign-ups; 参与 = check-ins (人次) and
    distinct people who checked in (人); 按时召开 (三会一课) = months or quarters overlapping
    the term (up to now) with at least one held / those periods.
    """

    kind: str
    signup: bool
    held: int = 0
    rates: tuple[float, ...] = ()
    signups: int = 0
    waiting: int = 0
    confirmed: int = 0
    no_shows: int = 0
    checkins: int = 0
    participants: int = 0
    frequency: str | None = None
    periods: int = 0
    periods_met: int = 0

    @property
    def average_attendance(self) -> float | None:
        return sum(self.rates) / len(self.rates) if self.rates else None

    @property
    def no_show_rate(self) -> float | None:
        return self.no_shows / self.confirmed if self.confirmed else None

    def row(self) -> tuple[str, str]:
        parts = [f"举办 {self.held} 场"]
        if self.signup:
            parts.append(f"报名 {self.signups} 人次（候补 {self.waiting}）")
            parts.append(f"报名未到率 {percent1(self.no_show_rate)}")
        parts.append(f"参与 {self.checkins} 人次（{self.participants} 人）")
        parts.append(f"平均出勤率 {percent1(self.average_attendance)}")
        if self.frequency:
            unit = "个月" if self.frequency == "month" else "个季度"
            parts.append(f"按时召开 {self.periods_met}/{self.periods} {unit}")
        return f"活动·{self.kind}", "，".join(parts)


def percent1(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


class ActivityService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService, sessions: SessionService,
                 outbox: OutboxService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.sessions = sessions
        self.outbox = outbox
        self.repo = ActivityRepository(db)
        sessions.summary_hook = self.queue_summary

    # kinds -------------------------------------------------------------------------------

    def kind(self, name: str | None) -> ActivityKind:
        found = self.settings.activity_kinds.get(name or "")
        if found is None:
            raise DomainError("活动类型可以是：" + "、".join(self.settings.activity_kinds) + "。")
        return found

    def kind_of(self, activity: SessionRow) -> ActivityKind:
        return self.settings.activity_kinds.get(activity.kind) or ActivityKind()

    def expected_members(self, activity: SessionRow, members: list[Member],
                         signups: list[SignupRow]) -> list[int]:
        """Who is expected to attend, by the kind's rule."""
        rule = self.kind_of(activity).expected
        if rule == "signed_up":
            return [s.user_id for s in signups if s.status == "confirmed"]
        if rule == "all":
            return [m.user_id for m in members]
        if rule == "committee":
            return [m.user_id for m in members if m.is_admin]
        if rule == "eligible":
            return [m.user_id for m in members if m.identity in self.settings.wish_claim_identities]
        return [m.user_id for m in members if m.identity in PARTY_MEMBERS]

    # scheduling --------------------------------------------------------------------------

    async def create(self, branch_id: int, group_id: int | None, actor: Actor, kind: str,
                     topic: str, starts: datetime, minutes: int | None = None,
                     leader_id: int | None = None, with_code: bool = True,
                     capacity: int | None = None, deadline: datetime | None = None,
                     place: str | None = None) -> SessionRow:
        """Schedule an activity; capacity and deadline only for kinds with sign-up."""
        settings = self.kind(kind)
        if (capacity is not None or deadline is not None) and not settings.signup:
            raise DomainError(f"{kind}不用报名，不能设名额或截止时间。")
        limit = self.settings.activity_capacity_max
        if capacity is not None and not 1 <= capacity <= limit:
            raise DomainError(f"名额是 1 到 {limit} 人。")
        if deadline is not None:
            if deadline > starts:
                raise DomainError("报名截止时间不能晚于活动开始时间。")
            if deadline <= self.clock.now():
                raise DomainError("报名截止时间已经过去了。")
        place = optional_text(place, self.settings.reason_max_length, "地点")
        return await self.sessions.create(
            branch_id, group_id, actor, topic, starts, minutes, leader_id, with_code, kind=kind,
            capacity=capacity, place=place,
            signup_deadline=int(deadline.timestamp()) if deadline else None,
        )

    async def get(self, branch_id: int, activity_id: int) -> SessionRow:
        activity = await self.sessions.repo.get(activity_id, branch_id)
        if activity is None:
            raise NotFound(f"没有找到活动 #{activity_id}。")
        return activity

    async def listing(self, branch_id: int) -> tuple[list[SessionRow], dict[int, int],
                                                      dict[int, tuple[int, int]]]:
        """Recent and upcoming activities of every kind, with check-in and sign-up counts."""
        found, checked = await self.sessions.listing(branch_id, None)
        return found, checked, await self.repo.counts([a.id for a in found])

    async def counts(self, activity: SessionRow) -> tuple[int, int]:
        return (await self.repo.counts([activity.id])).get(activity.id, (0, 0))

    def deadline(self, activity: SessionRow) -> int:
        return activity.signup_deadline or activity.starts_at

    async def _require_organiser(self, activity: SessionRow, actor: Actor) -> None:
        if actor.user_id in (activity.leader_id, activity.creator_id):
            return
        if not await self.branches.is_admin(activity.branch_id, actor):
            raise Forbidden("只有支委、书记、群管理员或活动负责人可以这样做。")

    # sign-up -----------------------------------------------------------------------------

    async def sign_up(self, branch_id: int, user_id: int, activity_id: int,
                      note: str | None = None) -> SignupResult:
        """Confirmed up to capacity, then on the waitlist; signing up twice changes nothing."""
        note = optional_text(note, self.settings.reason_max_length, "备注")
        now = self.clock.timestamp()
        seen: list[SessionRow] = []

        def check(activity: SessionRow | None) -> None:  # runs in the database thread
            if activity is None:
                raise NotFound(f"没有找到活动 #{activity_id}。")
            if not self.kind_of(activity).signup:
                raise DomainError(f"{activity.label} 不需要报名，到时直接参加即可。")
            if activity.state != "scheduled":
                raise DomainError(f"{activity.label} 已取消。")
            if now >= self.deadline(activity):
                raise DomainError(f"{activity.label} 的报名已经截止。")
            seen.append(activity)

        # one trip to the database thread: the rules, the count of places and the write
        outcome: SignupOutcome = await self.db.run_atomic(partial(
            sign_up_sync, session_id=activity_id, user_id=user_id, note=note, now=now,
            branch_id=branch_id, check=check))
        return SignupResult(seen[0], outcome.status, outcome.position, outcome.new)

    async def cancel_signup(self, branch_id: int, user_id: int, activity_id: int
                            ) -> CancelResult:
        """Cancel; a freed place goes to the first on the waitlist at once, who is told."""
        activity = await self.get(branch_id, activity_id)
        now = self.clock.timestamp()
        if now >= activity.ends_at:
            raise DomainError(f"{activity.label} 已经结束了。")
        late = now >= self.deadline(activity)
        async with self.db.transaction():  # the promotions and their notices, or neither
            was, promoted = await self.db.run_atomic(partial(
                cancel_sync, session_id=activity.id, user_id=user_id, now=now, late=late,
                promote=now < activity.starts_at))
            if was is None:
                raise DomainError(f"你没有报名{activity.label}。")
            await self._tell_promoted(activity, promoted)
        return CancelResult(activity, was, late, promoted)

    async def set_capacity(self, branch_id: int, actor: Actor, activity_id: int,
                           capacity: int) -> tuple[SessionRow, list[int]]:
        """Raise or lower the places; never below the people already confirmed."""
        activity = await self.get(branch_id, activity_id)
        await self._require_organiser(activity, actor)
        if not self.kind_of(activity).signup:
            raise DomainError(f"{activity.label} 不用报名，没有名额。")
        limit = self.settings.activity_capacity_max
        if not 1 <= capacity <= limit:
            raise DomainError(f"名额是 1 到 {limit} 人。")
        async with self.db.transaction():  # the promotions and their notices, or neither
            confirmed, promoted = await self.db.run_atomic(partial(
                set_capacity_sync, session_id=activity.id, capacity=capacity,
                now=self.clock.timestamp()))
            if capacity < confirmed:
                raise DomainError(f"已有 {confirmed} 人报名成功，名额不能少于 {confirmed}。"
                                  "请先联系报名的同学取消。")
            await self._tell_promoted(activity, promoted)
        return await self.get(branch_id, activity_id), promoted

    async def _tell_promoted(self, activity: SessionRow, promoted: list[int]) -> None:
        """Queue each promoted person's notice; called inside the promotion's transaction."""
        start = self.clock.format(activity.starts_at)
        for user_id in promoted:
            message = (f"好消息：你已从候补转为{activity.label}「{activity.topic}」的正式报名，"
                       f"活动时间 {start}。不能参加请发送 /报名 取消 #{activity.id}。")
            await self.outbox.to_user(
                user_id, [text_segment(message)], "waitlist_promoted",
                via_group_id=activity.group_id, branch_id=activity.branch_id,
                dedupe_key=f"promoted:{activity.id}:{user_id}:{self.clock.timestamp()}",
                fallback=[text_segment(f"{activity.label} 候补转正："), at_segment(user_id),
                          text_segment(" 你已报名成功，发送 /报名 我的 查看。")],
            )

    async def my_signups(self, branch_id: int, user_id: int) -> list[tuple]:
        return await self.repo.of_user(branch_id, user_id, self.clock.timestamp())

    # leave -------------------------------------------------------------------------------

    async def ask_leave(self, branch_id: int, user_id: int, activity_id: int,
                        reason: str) -> SessionRow:
        """请假: before the start, by someone expected to attend; recorded, not approved."""
        activity = await self.get(branch_id, activity_id)
        reason = require_text(reason, self.settings.reason_max_length, "请假原因")
        if activity.state != "scheduled":
            raise DomainError(f"{activity.label} 已取消，不用请假。")
        if self.clock.timestamp() >= activity.starts_at:
            raise DomainError(f"{activity.label} 已经开始，不能再请假了。请联系支委说明情况。")
        members = await self.branches.members.list_active(branch_id)
        signups = await self.repo.signups(activity.id)
        if user_id not in self.expected_members(activity, members, signups):
            raise DomainError(f"你不在{activity.label} 的应到名单里，不用请假。")
        if not await self.repo.add_leave(activity.id, user_id, reason, self.clock.timestamp()):
            raise DomainError(f"你已经为{activity.label} 请过假了。")
        return activity

    # attendance --------------------------------------------------------------------------

    async def roster(self, activity: SessionRow) -> Roster:
        members = await self.branches.members.list_active(activity.branch_id)
        return await self._roster(activity, members)

    async def _roster(self, activity: SessionRow, members: list[Member],
                      signups: list[SignupRow] | None = None,
                      checkins: list[CheckinRow] | None = None,
                      leaves: dict[int, str] | None = None,
                      expected: list[int] | None = None) -> Roster:
        signups = await self.repo.signups(activity.id) if signups is None else signups
        checkins = await self.sessions.repo.checkins(activity.id) if checkins is None else checkins
        if leaves is None:
            leaves = (await self.repo.leaves([activity.id])).get(activity.id, {})
        came = {c.user_id: c for c in checkins}
        if expected is None:
            expected = self.expected_members(activity, members, signups)
        roster = Roster(activity, checkins=came, leave_reasons=leaves,
                        signed_up=[s.user_id for s in signups if s.status == "confirmed"],
                        waitlist=[s.user_id for s in signups if s.status == "waitlist"])
        # every expected person absent, then those on leave, then those who came (a check-in
        # outweighs a leave); dict order stays the expected order. Set operations, because a
        # big branch's report builds a roster of thousands for each of its activities.
        states = roster.states = dict.fromkeys(expected, ABSENT)
        for user_id in leaves.keys() & states.keys():
            states[user_id] = ON_LEAVE
        for user_id in came.keys() & states.keys():
            checkin = came[user_id]  # 补签 = booked by an admin; the leader's own is 出席
            made_up = checkin.method == "manual" and checkin.operator_id is not None
            states[user_id] = MADE_UP if made_up else ATTENDED
        roster.walk_ins = [u for u in came if u not in states]
        roster.waitlisted_walk_ins = [u for u in roster.walk_ins if u in roster.waitlist]
        return roster

    async def sheet(self, branch_id: int, actor: Actor, activity_id: int) -> Roster:
        activity = await self.get(branch_id, activity_id)
        await self._require_organiser(activity, actor)
        return await self.roster(activity)

    async def queue_summary(self, activity: SessionRow, key: str) -> bool:
        """After the end: a line to the groups (no names), and to each absent expected member
        of a 三会一课 meeting, once, a private note that they need to make it up."""
        roster = await self.roster(activity)
        parts = [f"{activity.label}「{activity.topic}」签到结束：应到 {roster.expected} 人，"
                 f"出席 {roster.present} 人"]
        if roster.count(ON_LEAVE):
            parts.append(f"请假 {roster.count(ON_LEAVE)} 人")
        parts.append(f"出勤率 {percent(roster.rate)}")
        if roster.walk_ins:
            parts.append(f"另有应到名单外 {len(roster.walk_ins)} 人到场签到")
        async with self.db.transaction():  # the summary and every make-up note, or none
            queued = bool(await self.outbox.to_branch(
                activity.branch_id, [text_segment("，".join(parts) + "。")], "activity_summary",
                dedupe_key=key))
            if self.kind_of(activity).frequency is not None:
                for user_id, state in roster.states.items():
                    if state != ABSENT:
                        continue
                    note = (f"你没有参加{activity.label}「{activity.topic}」，也没有请假。"
                            "按规定需要补课，请联系支委安排补学（补学后由支委补签）。")
                    await self.outbox.to_user(user_id, [text_segment(note)], "absence_notice",
                                              via_group_id=activity.group_id,
                                              branch_id=activity.branch_id,
                                              dedupe_key=f"absent:{activity.id}:{user_id}")
        return queued

    # 三会一课 frequency --------------------------------------------------------------------

    async def behind(self, branch_id: int, at: datetime | None = None) -> list[str]:
        """The 三会一课 kinds not yet held in the current month or quarter."""
        at = at or self.clock.now()
        behind = []
        for name, kind in self.settings.activity_kinds.items():
            if kind.frequency is None:
                continue
            start, end = period_of(at, kind.frequency)
            held = await self.repo.held_of_kind_between(
                branch_id, name, int(start.timestamp()), int(end.timestamp()))
            if not [t for t in held if t <= at.timestamp()]:
                behind.append(f"{PERIOD_WORDS[kind.frequency]}尚未召开{name}")
        return behind

    async def queue_behind_notices(self) -> int:
        """The monthly line to each branch's 书记/支委 when a 三会一课 kind is behind."""
        queued = 0
        month = self.clock.now().strftime("%Y-%m")
        for branch_id in await self.branches.all_branch_ids():
            behind = await self.behind(branch_id)
            if not behind:
                continue
            groups = await self.branches.groups(branch_id)
            admins = [m for m in await self.branches.members.list_active(branch_id)
                      if m.is_admin]
            text = "三会一课提醒：" + "；".join(behind) + "。可用 /活动 发起 安排。"
            async with self.db.transaction():  # a branch's admins are all told, or none
                for admin in admins:
                    queued += await self.outbox.to_user(
                        admin.user_id, [text_segment(text)], "meetings_behind",
                        via_group_id=groups[0] if groups else None, branch_id=branch_id,
                        dedupe_key=f"behind:{branch_id}:{month}:{admin.user_id}") is not None
        return queued


    # report ------------------------------------------------------------------------------

    async def figures(self, branch_id: int, since: int, until: int,
                      members: list[Member] | None = None) -> list[KindFigures]:
        """Per kind other than 导学 (whose figures are the report's own): the kinds held in
        [since, until), and every 三会一课 kind (its frequency is a duty even when unmet)."""
        held_until = min(until, self.clock.timestamp() + 1)
        ids = await self.repo.held_between(branch_id, since, held_until)
        activities = await self.sessions.repo.get_many(ids)
        if members is None:  # the branch's active members now (the caller may have them)
            members = await self.branches.members.list_active(branch_id)
        signups = await self.repo.all_signups(ids)
        attendees = await self.sessions.repo.attendees_of(ids)
        by_kind: dict[str, list[Turnout]] = {}
        rolls: dict[str, frozenset[int]] = {}  # the expected of the kinds that expect a roll
        for activity in activities:
            mine = signups.get(activity.id, [])
            rule = self.kind_of(activity).expected
            expected = rolls.get(rule) if rule != "signed_up" else None
            if expected is None:
                expected = frozenset(self.expected_members(activity, members, mine))
                if rule != "signed_up":
                    rolls[rule] = expected
            came = attendees[activity.id]
            by_kind.setdefault(activity.kind, []).append(Turnout(
                activity, len(expected & came) / len(expected) if expected else None,
                [s.user_id for s in mine if s.status == "confirmed"], came))
        figures = []
        for name, kind in self.settings.activity_kinds.items():
            if name == "导学" or (name not in by_kind and kind.frequency is None):
                continue
            rosters = by_kind.get(name, [])
            rows = [s for r in rosters for s in signups.get(r.activity.id, [])]
            periods_met = periods = 0
            if kind.frequency:
                spans = periods_between(self.clock.from_timestamp(since),
                                        self.clock.from_timestamp(held_until), kind.frequency)
                periods = len(spans)
                periods_met = sum(any(start.timestamp() <= r.activity.starts_at < end.timestamp()
                                      for r in rosters) for start, end in spans)
            figures.append(KindFigures(
                kind=name, signup=kind.signup, held=len(rosters),
                rates=tuple(r.rate for r in rosters if r.rate is not None),
                signups=sum(s.status != "cancelled" for s in rows),
                waiting=sum(s.status == "waitlist" for s in rows),
                confirmed=sum(len(r.signed_up) for r in rosters),
                no_shows=sum(u not in r.came for r in rosters for u in r.signed_up),
                checkins=sum(len(r.came) for r in rosters),
                participants=len(set().union(*(r.came for r in rosters))),
                frequency=kind.frequency, periods=periods, periods_met=periods_met,
            ))
        return figures

    async def sheets(self, branch_id: int, since: int, until: int
                     ) -> list[tuple[str, tuple[str, ...], list[tuple]]]:
        """The export's 活动 sheet (one row per activity of the term, every kind) and 出勤 sheet
        (one row per expected person or attendee per activity, with 出席/请假/缺席/补签)."""
        held_until = min(until, self.clock.timestamp() + 1)
        ids = await self.repo.held_between(branch_id, since, held_until)
        activities = [a for a in [await self.sessions.repo.get(i) for i in ids] if a]
        members = await self.branches.members.list_active(branch_id)
        rosters = [await self._roster(a, members) for a in activities]
        people = {u for r in rosters for u in (*r.states, *r.walk_ins, *r.waitlist)}
        names = await self.branches.names(branch_id, people)
        when = self.clock.format
        summary = []
        detail = []
        for r in rosters:
            a = r.activity
            summary.append((
                a.id, a.kind, a.topic, when(a.starts_at, "%Y-%m-%d %H:%M"),
                when(a.ends_at, "%H:%M"), a.place, a.capacity, len(r.signed_up),
                len(r.waitlist), len(r.no_shows) if self.kind_of(a).signup else None,
                r.expected, r.count(ATTENDED), r.count(MADE_UP), r.count(ON_LEAVE),
                r.count(ABSENT), len(r.walk_ins), r.rate))
            role = role_word(a)
            for user_id, state in r.states.items():
                checkin = r.checkins.get(user_id)
                detail.append((a.id, a.kind, a.topic, user_id, names.get(user_id, str(user_id)),
                               state, role if user_id == r.organiser else None,
                               r.leave_reasons.get(user_id),
                               when(checkin.at, "%Y-%m-%d %H:%M") if checkin else None))
            for user_id in r.walk_ins:
                checkin = r.checkins[user_id]
                state = "候补到场" if user_id in r.waitlisted_walk_ins else "现场参加"
                detail.append((a.id, a.kind, a.topic, user_id, names.get(user_id, str(user_id)),
                               state, role if user_id == r.organiser else None, None,
                               when(checkin.at, "%Y-%m-%d %H:%M")))
        return [
            ("活动", ("编号", "类型", "主题", "开始", "结束", "地点", "名额", "已报名", "候补",
                    "报名未到", "应到", "出席", "补签", "请假", "缺席", "现场参加", "出勤率"),
             summary),
            ("出勤", ("活动编号", "类型", "主题", "QQ", "姓名", "状态", "负责人", "请假原因",
                    "签到时间"),
             detail),
        ]
