"""导学 sessions: scheduling, on-site check-in with a code, rotation, attendance and notes."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from config import BranchConfig
from domain.branches import Actor, BranchService
from domain.checkin_code import (
    SCREEN_PATH,
    CheckinCodes,
    CodeNow,
    ScreenStatus,
    Verdict,
    new_secret,
    new_token,
    screen_status,
    token_shape_ok,
)
from domain.clock import Clock
from domain.errors import DomainError, Forbidden, NotFound
from domain.models import Category, Member
from domain.outbox import OutboxService, text_segment
from domain.points import PointsService
from domain.text import require_text
from domain.wording import attendance_words
from storage.database import Database
from storage.sessions import CheckinRow, SessionRepository, SessionRow

CODE_DIGITS = 4
JOB_KINDS = ("remind", "leader", "summary")


@dataclass(frozen=True)
class CheckinResult:
    session: SessionRow
    new: bool  # False: had already checked in
    at: int
    points: int


@dataclass(frozen=True)
class Sheet:
    session: SessionRow
    attendees: list[tuple[CheckinRow, str]]  # (check-in, display name)
    absent: list[Member]  # eligible members who did not check in
    eligible: int
    eligible_present: int

    @property
    def rate(self) -> float | None:
        return None if not self.eligible else self.eligible_present / self.eligible


@dataclass(frozen=True)
class NoteResult:
    session: SessionRow
    points: int


# check-in answers (issue 13)
REGISTER_FIRST = "你还没有在支部登记，请先在支部群里发送 /登记 <姓名> [楼层] [宿舍]，再签到。"
CODE_EXPIRED = "签到码已更新，请看现场屏幕上的最新签到码。"


@dataclass(frozen=True)
class ScreenState:
    """What the screen page (投屏页) shows now: OPEN carries the code and the count; WAITING
    only the session (its label and topic) and when check-in opens; the others nothing."""

    status: ScreenStatus
    session: SessionRow | None = None
    code: CodeNow | None = None  # None while open: a session without a code (无码)
    count: int = 0
    opens_at: int | None = None  # WAITING: when check-in opens


def new_code() -> str:
    """A 4-digit code from the OS's secure random source (not guessable from the chat)."""
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def role_of_kind(kind: str) -> str:
    """What the leader of an activity of ``kind`` is called: 导学人 for 导学, else 负责人."""
    return "导学人" if kind == "导学" else "负责人"


def role_word(session: SessionRow) -> str:
    return role_of_kind(session.kind)


def leader_reason(session: SessionRow) -> str:
    """The reason on the leader's automatic check-in (no operator): 导学人到场, 负责人到场."""
    return f"{role_word(session)}到场"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


class SessionService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService, points: PointsService, outbox: OutboxService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.points = points
        self.outbox = outbox
        self.repo = SessionRepository(db)
        self._open_cache: dict[int, tuple[int, list[SessionRow]]] = {}
        self.codes = CheckinCodes(settings.checkin_code_period_seconds,
                                  settings.checkin_code_digits)
        # how links to the screen page start; the plugin sets it from the driver if not given
        self.public_url = settings.bot_public_url.rstrip("/")
        self._leader_booked: set[int] = set()
        # the after-end summary of kinds other than 导学 (set by the activity service)
        self.summary_hook: Callable[[SessionRow, str], Awaitable[bool]] | None = None

    def attendance_points(self, session: SessionRow) -> int:
        """出勤 points for attending: ``points_checkin`` for 导学, the kind's own for others."""
        if session.kind == "导学":
            return self.settings.points_checkin
        kind = self.settings.activity_kinds.get(session.kind)
        return kind.points if kind else self.settings.points_checkin

    # who may do what ---------------------------------------------------------------------

    def is_eligible(self, member: Member | None) -> bool:
        return member is not None and (
            member.identity in self.settings.wish_claim_identities or member.is_admin
        )

    async def _require_admin_or_leader(self, session: SessionRow, actor: Actor) -> None:
        if actor.user_id == session.leader_id:
            return
        if not await self.branches.is_admin(session.branch_id, actor):
            raise Forbidden(f"只有支委、书记、群管理员或本场{role_word(session)}可以这样做。")

    # scheduling --------------------------------------------------------------------------

    async def create(self, branch_id: int, group_id: int | None, actor: Actor, topic: str,
                     starts: datetime, minutes: int | None = None, leader_id: int | None = None,
                     with_code: bool = True, *, kind: str = "导学", capacity: int | None = None,
                     signup_deadline: int | None = None, place: str | None = None
                     ) -> SessionRow:
        """Schedule an activity of ``kind`` (a 导学 session by default); a 导学 leader defaults
        to the next person in the rotation, any other kind's organiser to its creator."""
        settings = self.settings.activity_kinds[kind]
        creator = await self.branches.member(branch_id, actor.user_id)
        if not (await self.branches.is_admin(branch_id, actor)
                or (settings.creators == "eligible" and self.is_eligible(creator))):
            raise Forbidden(f"发起{kind}需要是支委、书记" + (
                "，或入党积极分子及以上身份。" if settings.creators == "eligible" else "。"))
        topic = require_text(topic, self.settings.reason_max_length, "主题")
        minutes = self.settings.session_default_minutes if minutes is None else minutes
        if not 10 <= minutes <= self.settings.session_max_minutes:
            raise DomainError(f"时长是 10 到 {self.settings.session_max_minutes} 分钟。")
        if starts <= self.clock.now():
            raise DomainError("开始时间已经过去，请换一个将来的时间。")
        advance = False
        if leader_id is None and kind != "导学":
            leader_id = actor.user_id
        if leader_id is None:
            rotation, next_index = await self.repo.rotation(branch_id)
            if rotation:
                leader_id, advance = rotation[next_index % len(rotation)], True
            else:
                leader_id = actor.user_id
        leader = await self.branches.member(branch_id, leader_id)
        if leader_id != actor.user_id and not self.is_eligible(leader):
            role = role_of_kind(kind)
            raise DomainError(f"{leader_id} 不能担任{role}：需要在本支部登记，且为入党积极分子"
                              "及以上身份或支委。")
        now = self.clock.timestamp()
        async with self.db.transaction():
            session_id = await self.repo.create(
                branch_id=branch_id, group_id=group_id, topic=topic,
                starts_at=int(starts.timestamp()),
                ends_at=int((starts + timedelta(minutes=minutes)).timestamp()),
                leader_id=leader_id, creator_id=actor.user_id,
                code=new_code() if with_code else None, now=now, kind=kind, capacity=capacity,
                signup_deadline=signup_deadline, place=place,
            )
            await self.repo.set_rotating_code(session_id, new_secret() if with_code else None,
                                              new_token())
            if advance:
                rotation, next_index = await self.repo.rotation(branch_id)
                await self.repo.set_rotation(branch_id, rotation, next_index + 1, now)
        self._open_cache.pop(branch_id, None)
        return await self.get(branch_id, session_id)

    async def get(self, branch_id: int, session_id: int) -> SessionRow:
        session = await self.repo.get(session_id, branch_id)
        if session is None:
            raise NotFound(f"没有找到导学 #{session_id}。")
        return session

    async def get_any(self, session_id: int) -> SessionRow:
        """A session of any branch (for private chats, where there is no group)."""
        session = await self.repo.get(session_id)
        if session is None:
            raise NotFound(f"没有找到导学 #{session_id}。")
        return session

    async def cancel(self, branch_id: int, actor: Actor, session_id: int) -> SessionRow:
        session = await self.get(branch_id, session_id)
        await self._require_admin_or_leader(session, actor)
        if session.state == "cancelled":
            raise DomainError(f"{session.label} 已经取消了。")
        if session.ends_at <= self.clock.timestamp():
            raise DomainError(f"{session.label} 已经结束，不能取消。")
        async with self.db.transaction():
            await self.repo.cancel(session.id, self.clock.timestamp())
        self._open_cache.pop(branch_id, None)
        return await self.get(branch_id, session_id)

    async def code_for(self, session_id: int, actor: Actor) -> SessionRow:
        """The session, if ``actor`` may see its code: the leader, the creator or an admin."""
        session = await self.get_any(session_id)
        if actor.user_id not in (session.leader_id, session.creator_id) and not (
            await self.branches.is_admin(session.branch_id, actor)
        ):
            await self._require_visible(session, actor)
            raise Forbidden(f"签到码只发给本场{role_word(session)}、发起人和管理员。")
        if actor.user_id == session.leader_id:
            await self.ensure_leader_present(session)
        return session

    async def _require_visible(self, session: SessionRow, actor: Actor) -> None:
        """Asked by session number from a private chat: to anyone outside the session's
        branch it does not exist (the answer must not confirm that the number is in use)."""
        if actor.is_superuser:
            return
        if await self.branches.member(session.branch_id, actor.user_id) is None:
            raise NotFound(f"没有找到导学 #{session.id}。")

    async def listing(self, branch_id: int, kind: str | None = "导学"
                      ) -> tuple[list[SessionRow], dict[int, int]]:
        """Recent (last ``note_window_days``) and upcoming activities of ``kind`` (None: every
        kind), with check-in counts."""
        now = self.clock.timestamp()
        since = now - self.settings.note_window_days * 86400
        sessions = await self.repo.between(branch_id, since, now + 366 * 86400,
                                           self.settings.page_size * 2, kind)
        counts = await self.repo.checkin_counts([s.id for s in sessions])
        return sessions, counts

    # check-in ----------------------------------------------------------------------------

    def window(self, session: SessionRow) -> tuple[int, int]:
        return (session.starts_at - self.settings.checkin_open_before * 60,
                session.ends_at + self.settings.checkin_close_after * 60)

    async def _open_now(self, branch_id: int) -> list[SessionRow]:
        """Sessions whose check-in window holds now, from a per-branch cache.

        The cache holds the branch's scheduled sessions whose check-in had not closed when it
        was read; it is dropped when a session is created or cancelled (this process is the
        only writer), so a burst of check-ins reads no session rows at all.
        """
        now = self.clock.timestamp()
        cached = self._open_cache.get(branch_id)
        if cached is None or now < cached[0]:
            rows = await self.repo.open_or_upcoming(branch_id, now,
                                                    self.settings.checkin_close_after * 60)
            cached = self._open_cache[branch_id] = (now, rows)
        return [s for s in cached[1] if self.window(s)[0] <= now <= self.window(s)[1]]

    async def check_in(self, branch_id: int, user_id: int, code: str | None) -> CheckinResult:
        """Check in to the session open now; wrong codes count, and lock out after the limit."""
        open_now = await self._open_now(branch_id)
        if not open_now:
            raise DomainError("现在没有正在签到的导学。签到在开始前 "
                              f"{self.settings.checkin_open_before} 分钟开放，结束后 "
                              f"{self.settings.checkin_close_after} 分钟关闭。")
        if await self.branches.member(branch_id, user_id) is None:
            raise DomainError(REGISTER_FIRST)
        return await self._check_in_among(open_now, user_id, code)

    async def check_in_private(self, user_id: int, code: str | None) -> CheckinResult:
        """/签到 in a private chat: among the open sessions of every branch where the person
        has a profile, the only one, or the one whose current code matches."""
        branch_ids = await self.repo.branches_of(user_id)
        if not branch_ids:
            raise DomainError(REGISTER_FIRST)
        open_now = [s for b in branch_ids for s in await self._open_now(b)]
        if not open_now:
            raise DomainError("现在没有正在签到的导学。签到在开始前 "
                              f"{self.settings.checkin_open_before} 分钟开放，结束后 "
                              f"{self.settings.checkin_close_after} 分钟关闭。")
        return await self._check_in_among(open_now, user_id, code)

    async def _check_in_among(self, open_now: list[SessionRow], user_id: int,
                              code: str | None) -> CheckinResult:
        """The session a code is for: the one it is valid for; else one without a code; else
        one it has expired for (not counted as wrong); else it is wrong for each of them."""
        if code is None:
            session = next((s for s in open_now if not s.has_code), open_now[0])
            return self._answer(session, *await self._settle(session, user_id, None))
        now = self.clock.timestamp()
        verdicts = [(s, self.judge(s, code, now)) for s in open_now]
        for wanted in (Verdict.VALID, None, Verdict.EXPIRED):
            session = next((s for s, v in verdicts if v is wanted), None)
            if session is not None:
                return self._answer(session, *await self._settle(session, user_id, wanted))
        tried = [(s, *await self._settle(s, user_id, Verdict.WRONG)) for s in open_now]
        wrong = [t for t in tried if t[1] == "wrong"]
        locked = [t for t in tried if t[1] == "locked"]
        return self._answer(*(max(wrong, key=lambda t: t[3]) if wrong  # fewest tries left
                              else locked[0] if locked else tried[0]))

    def judge(self, session: SessionRow, code: str, now: int) -> Verdict | None:
        """How ``code`` fares for ``session`` at ``now``; None for a session without a code."""
        if session.code_secret is not None:
            shown_since = max(self.window(session)[0], session.created_at)
            return self.codes.judge(session.code_secret, code, now, shown_since)
        if session.code is not None:  # a fixed code from before rotation: valid all along
            return Verdict.VALID if secrets.compare_digest(code, session.code) else Verdict.WRONG
        return None

    async def _settle(self, session: SessionRow, user_id: int,
                      verdict: Verdict | None) -> tuple[str, int | None, int]:
        """Book one attempt at ``session`` whose code was judged ``verdict`` (None: no code)."""
        limit = self.settings.checkin_max_wrong

        def decide(checked_at: int | None, wrong: int) -> str:
            if checked_at is not None:
                return "already"
            if not session.has_code:
                return "record"
            if wrong >= limit:
                return "locked"
            if verdict is None:
                return "need_code"
            return {Verdict.VALID: "record", Verdict.EXPIRED: "expired"}.get(verdict, "wrong")

        return await self._attempt(session, user_id, decide,
                                   "code" if session.has_code else "open")

    def _answer(self, session: SessionRow, decision: str, at: int | None,
                wrong: int) -> CheckinResult:
        limit = self.settings.checkin_max_wrong
        if decision == "record":
            return CheckinResult(session, True, at, self.attendance_points(session))
        if decision == "already":
            return CheckinResult(session, False, at, 0)
        if decision == "locked":
            raise Forbidden(f"签到码错误已达 {limit} 次，你在{session.label} 的签到已锁定，"
                            f"请联系{role_word(session)}或支委补签。")
        if decision == "need_code":
            raise DomainError(f"请发送 /签到 <{self.settings.checkin_code_digits}位签到码>，"
                              "签到码在活动现场的屏幕上；建议私聊我发送。")
        if decision == "expired":
            raise DomainError(CODE_EXPIRED)
        if wrong >= limit:
            raise Forbidden(f"签到码不对，已错 {limit} 次，签到已锁定，"
                            f"请联系{role_word(session)}或支委补签。")
        raise DomainError(f"签到码不对，还可以再试 {limit - wrong} 次。")

    # rotating codes, the screen page and the leader ---------------------------------------

    def code_now(self, session: SessionRow) -> CodeNow | None:
        """The code to show now (None: the session needs no code)."""
        if session.code_secret is not None:
            return self.codes.now(session.code_secret, self.clock.timestamp())
        return CodeNow(session.code, None, None) if session.code is not None else None

    def screen_link(self, session: SessionRow) -> str | None:
        if session.screen_token is None:
            return None
        return f"{self.public_url}{SCREEN_PATH}/{session.screen_token}"

    async def screen(self, token: str) -> ScreenState:
        """The screen page's state: the session's topic, code and count only while its
        check-in window is open; before, after or for an unknown token, nothing of it."""
        session = await self.repo.by_screen_token(token) if token_shape_ok(token) else None
        opens, closes = self.window(session) if session is not None else (0, 0)
        status = screen_status(session is not None,
                               session is not None and session.state != "scheduled",
                               self.clock.timestamp(), opens, closes)
        if status is ScreenStatus.WAITING:  # the link's holder may see what and when, no code
            return ScreenState(status, session, opens_at=opens)
        if status is not ScreenStatus.OPEN:
            return ScreenState(status)
        count = (await self.repo.checkin_counts([session.id])).get(session.id, 0)
        return ScreenState(status, session, self.code_now(session), count)

    async def ensure_leader_present(self, session: SessionRow) -> bool:
        """Count the leader present (they run the session), once the check-in window is open:
        when the leader asks for the code themselves, and when check-in closes (before the
        summary) unless an admin marked the leader absent. Showing the screen page books
        nothing: anyone with the link may open it. Once per session; a leader without a
        profile in the branch is skipped. (A leader's own ``/签到`` is an ordinary check-in.)
        """
        if (session.id in self._leader_booked or session.state != "scheduled"
                or session.leader_absent_by is not None
                or self.clock.timestamp() < self.window(session)[0]):
            return False
        self._leader_booked.add(session.id)
        if await self.branches.member(session.branch_id, session.leader_id) is None:
            return False
        decision, _, _ = await self._attempt(
            session, session.leader_id,
            lambda checked_at, _wrong: "already" if checked_at else "record",
            "manual", None, leader_reason(session),
        )
        return decision == "record"

    async def mark_leader_absent(self, branch_id: int, actor: Actor, session_id: int,
                                 user_id: int) -> SessionRow:
        """An admin says the leader was not there: they are not counted present when check-in
        closes. Only the leader can be marked (anyone else without a check-in is absent)."""
        await self.branches.require_admin(branch_id, actor)
        session = await self.get(branch_id, session_id)
        role = role_word(session)
        if user_id != session.leader_id:
            raise DomainError(f"只有{role}需要记缺席：{role}会被自动记为到场，"
                              "其他人没有签到就是缺席。")
        if session.state == "cancelled":
            raise DomainError(f"{session.label} 已取消。")
        if self.clock.timestamp() > self.window(session)[1]:
            raise DomainError(f"{session.label} 的签到已经结束，出勤已定。")
        async with self.db.transaction():
            marked = await self.repo.mark_leader_absent(session.id, actor.user_id,
                                                        self.clock.timestamp())
        if not marked:
            raise DomainError(f"{role}已经签到过{session.label}（查看签到码或自己签到），"
                              "不能再记缺席。")
        return await self.get(branch_id, session_id)

    async def _attempt(self, session: SessionRow, user_id: int, decide, method: str,
                       operator_id: int | None = None,
                       reason: str | None = None) -> tuple[str, int | None, int]:
        """One atomic check-in attempt; the check-in and its points are booked together."""
        now = self.clock.timestamp()
        term = await self.branches.current_term(session.branch_id)
        tag = reason if operator_id is None else f"补签：{reason}"  # no operator: automatic
        why = f"{session.label} 签到" + (f"（{tag}）" if reason else "")
        points = {
            "branch_id": session.branch_id, "term_id": term.id, "user_id": user_id,
            "category": Category.ATTENDANCE.value, "delta": self.attendance_points(session),
            "reason": why, "ref": f"checkin:{session.id}:{user_id}",
            "operator_id": operator_id, "now": now,
            "local_day": self.clock.from_timestamp(now).strftime("%Y-%m-%d"),
        }
        return await self.repo.attempt_checkin(session.id, user_id, now, method, decide, points,
                                               operator_id, reason)

    async def manual_check_in(self, branch_id: int, actor: Actor, session_id: int, user_id: int,
                              reason: str) -> CheckinResult:
        """补签: an admin records attendance by hand; the ledger names the admin and reason."""
        await self.branches.require_admin(branch_id, actor)
        session = await self.get(branch_id, session_id)
        reason = require_text(reason, self.settings.reason_max_length, "补签原因")
        if session.state == "cancelled":
            raise DomainError(f"{session.label} 已取消。")
        if self.clock.timestamp() < self.window(session)[0]:
            raise DomainError(f"{session.label} 还没开始签到。")
        decision, at, _ = await self._attempt(
            session, user_id, lambda checked_at, _wrong: "already" if checked_at else "record",
            "manual", actor.user_id, reason,
        )
        if decision != "record":
            names = await self.branches.names(branch_id, [user_id])
            raise DomainError(f"{names.get(user_id, user_id)} 已经签到过{session.label}。")
        return CheckinResult(session, True, at, self.attendance_points(session))

    # attendance --------------------------------------------------------------------------

    async def sheet(self, session_id: int, actor: Actor, branch_id: int | None = None) -> Sheet:
        if branch_id is not None:
            session = await self.get(branch_id, session_id)
        else:
            session = await self.get_any(session_id)
            await self._require_visible(session, actor)
        await self._require_admin_or_leader(session, actor)
        return await self._sheet(session)

    async def _sheet(self, session: SessionRow) -> Sheet:
        checkins = await self.repo.checkins(session.id)
        names = await self.branches.names(session.branch_id, [c.user_id for c in checkins])
        members = await self.branches.members.list_active(session.branch_id)
        eligible = [m for m in members if m.identity in self.settings.wish_claim_identities]
        present = {c.user_id for c in checkins}
        return Sheet(
            session=session,
            attendees=[(c, names.get(c.user_id, str(c.user_id))) for c in checkins],
            absent=[m for m in eligible if m.user_id not in present],
            eligible=len(eligible),
            eligible_present=sum(1 for m in eligible if m.user_id in present),
        )

    # rotation ----------------------------------------------------------------------------

    async def rotation(self, branch_id: int) -> tuple[list[int], int, dict[int, str]]:
        members, next_index = await self.repo.rotation(branch_id)
        names = await self.branches.names(branch_id, members)
        return members, (next_index % len(members)) if members else 0, names

    async def set_rotation(self, branch_id: int, actor: Actor, user_ids: list[int]) -> None:
        await self.branches.require_admin(branch_id, actor)
        ordered = list(dict.fromkeys(user_ids))
        for user_id in ordered:
            if not self.is_eligible(await self.branches.member(branch_id, user_id)):
                raise DomainError(f"{user_id} 不能加入轮值：需要在本支部登记，且为入党积极分子"
                                  "及以上身份或支委。")
        async with self.db.transaction():
            await self.repo.set_rotation(branch_id, ordered, 0, self.clock.timestamp())

    # notes -------------------------------------------------------------------------------

    async def add_note(self, branch_id: int, user_id: int, content: str) -> NoteResult:
        content = require_text(content, self.settings.note_max_length, "读书笔记",
                               min_length=self.settings.note_min_length)
        now = self.clock.timestamp()
        session = await self.repo.latest_attended(
            branch_id, user_id, now - self.settings.note_window_days * 86400
        )
        if session is None:
            raise DomainError(f"最近 {self.settings.note_window_days} 天内没有你签到过的导学，"
                              "读书笔记需在签到后提交。")
        async with self.db.transaction():
            note_id = await self.repo.add_note(session.id, branch_id, user_id, content, now)
            if note_id is None:
                raise DomainError(f"你已经提交过导学 #{session.id} 的读书笔记了。")
            points = await self.points.book_interaction(
                branch_id, user_id, self.settings.points_note,
                f"导学 #{session.id} 读书笔记", ref=f"note:{session.id}:{user_id}",
            )
        return NoteResult(session, points)

    # scheduled messages ------------------------------------------------------------------

    def job_times(self, session: SessionRow) -> dict[str, int]:
        """When each built-in message of the session is due (Unix seconds)."""
        start = self.clock.from_timestamp(session.starts_at)
        hour, minute = (int(x) for x in self.settings.session_leader_remind_time.split(":"))
        evening = (start - timedelta(days=1)).replace(hour=hour, minute=minute, second=0)
        kind = self.settings.activity_kinds.get(session.kind)
        before = (self.settings.session_remind_before if session.kind == "导学" or kind is None
                  else kind.remind_before)
        times = {
            "remind": session.starts_at - before * 60,
            "summary": self.window(session)[1],
        }
        if session.created_at <= evening.timestamp() < session.starts_at:
            times["leader"] = int(evening.timestamp())  # only if there is an evening before
        return times

    async def fire_job(self, session_id: int, kind: str) -> bool:
        """Queue one built-in message; each (session, kind) is queued at most once."""
        session = await self.repo.get(session_id)
        if session is None or session.state != "scheduled" or kind not in JOB_KINDS:
            return False
        key = f"session:{session.id}:{kind}"
        start = self.clock.from_timestamp(session.starts_at)
        names = await self.branches.names(session.branch_id, [session.leader_id])
        leader = names.get(session.leader_id, str(session.leader_id))
        if kind == "remind":
            how = ("/签到 <签到码>（签到码在现场屏幕上，建议私聊我发送，不要发到群里）"
                   if session.has_code else "/签到 即可")
            text = (f"📚 {session.label}「{session.topic}」将于 {start:%H:%M} 开始，"
                    f"{role_word(session)}：{leader}。到场后发送 {how}。")
            return bool(await self.outbox.to_branch(session.branch_id, [text_segment(text)],
                                                    "session_remind", dedupe_key=key))
        if kind == "leader":
            code = self._leader_code_text(session)
            text = (f"提醒：你将于 {start:%m-%d %H:%M} 担任{session.label}「{session.topic}」"
                    f"的{role_word(session)}。{code}")
            return await self.outbox.to_user(session.leader_id, [text_segment(text)],
                                             "session_leader", via_group_id=session.group_id,
                                             branch_id=session.branch_id,
                                             dedupe_key=key) is not None
        async with self.db.transaction():  # the leader's attendance and the summary, or neither
            await self.ensure_leader_present(session)  # every kind, unless marked absent
            if session.kind != "导学" and self.summary_hook is not None:
                return await self.summary_hook(session, key)
            sheet = await self._sheet(session)
            counts = attendance_words(self.settings, len(sheet.attendees), sheet.eligible,
                                      sheet.eligible_present, percent(sheet.rate))
            text = (f"导学 #{session.id}「{session.topic}」签到结束：{counts}。读书笔记请在 "
                    f"{self.settings.note_window_days} 天内用 /笔记 提交。")
            return bool(await self.outbox.to_branch(session.branch_id, [text_segment(text)],
                                                    "session_summary", dedupe_key=key))

    def _leader_code_text(self, session: SessionRow) -> str:
        """How the leader gets the code on the day (their reminder the evening before)."""
        if session.code_secret is None:
            return f"签到码 {session.code}，请在现场公布。" if session.code else "本场无需签到码。"
        return (f"签到码每 {self.codes.period} 秒更换一次：签到开放后请在现场打开投屏页 "
                f"{self.screen_link(session)} 投到屏幕上，或私聊我发送 /导学 签到码 "
                f"#{session.id} 查看当前签到码（你查看签到码时即记为到场）。")

    async def pending_sessions(self) -> list[SessionRow]:
        grace = self.settings.misfire_grace_minutes * 60
        since = self.clock.timestamp() - self.settings.checkin_close_after * 60 - grace
        return await self.repo.pending_jobs(since)
