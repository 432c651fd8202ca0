"""Reminders: stored schedules that post to every group of a branch, surviving restarts.

The database keeps each reminder's *planned* next firing. Start-up compares it with the clock:
a firing missed by less than ``misfire_grace_minutes`` is done once, an older one is skipped
and logged; then the next firing is planned from now. So downtime never floods a group.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from apscheduler.triggers.cron import CronTrigger

from config import BranchConfig
from domain.branches import Actor, BranchService
from domain.clock import Clock
from domain.errors import DomainError, NotFound
from domain.outbox import OutboxService, text_segment
from domain.text import require_text
from domain.timeparse import (
    OneShot,
    Repeating,
    Schedule,
    dump_schedule,
    load_schedule,
    parse_schedule,
)
from storage.database import Database
from storage.reminders import ReminderRepository, ReminderRow

log = logging.getLogger("zhibu.reminders")

# APScheduler may wake a little before the planned second; anything earlier is not this firing.
EARLY_TOLERANCE_SECONDS = 5
# Shortest gap between two firings of the non-cron repeating kinds, in minutes.
_KIND_GAP_MINUTES = {"daily": 1440, "workdays": 1440, "weekly": 7 * 1440, "monthly": 28 * 1440}
_DAY_START = datetime(2001, 1, 1, tzinfo=timezone.utc)  # any day without a clock change
STATE_LABELS = {"active": "进行中", "paused": "已暂停", "done": "已结束", "deleted": "已删除"}


@dataclass(frozen=True)
class Reminder:
    id: int
    branch_id: int
    creator_id: int
    schedule: Schedule
    content: str
    state: str
    next_fire_at: datetime | None
    fired_count: int

    @property
    def repeating(self) -> bool:
        return isinstance(self.schedule, Repeating)


def shortest_gap_minutes(schedule: Schedule, stop_below: float = 0) -> float | None:
    """The shortest time between two consecutive firings of ``schedule``, in minutes.

    None for a one-off. For ``cron`` the firing times of every firing day are the same set
    (minute field × hour field; the day fields only choose the days), so one day of that set
    gives the gaps inside a day; the gap from the day's last firing to the first of the next
    day is counted too, as if every day fired (conservative). Stops early, returning the gap
    found, as soon as one is shorter than ``stop_below`` (so ``* * * * *`` costs two steps).
    """
    if not isinstance(schedule, Repeating):
        return None
    if schedule.kind != "cron":
        return _KIND_GAP_MINUTES[schedule.kind]
    minute, hour = schedule.cron.split()[:2]
    daily = CronTrigger(minute=minute, hour=hour, second=0, timezone=timezone.utc)
    end = _DAY_START + timedelta(days=1)
    first = previous = daily.get_next_fire_time(None, _DAY_START)
    shortest = float("inf")
    while previous is not None and previous < end:
        upcoming = daily.get_next_fire_time(previous, previous + timedelta(seconds=1))
        if upcoming is None:
            break
        if upcoming >= end:  # across midnight: to the first firing of the next day
            upcoming = first + timedelta(days=1)
        shortest = min(shortest, (upcoming - previous).total_seconds() / 60)
        if shortest < stop_below or upcoming >= end:
            break
        previous = upcoming
    return shortest


@dataclass(frozen=True)
class CatchUp:
    fired: list[int]
    skipped: list[tuple[int, int]]  # (reminder id, seconds late)


class ReminderService:
    def __init__(self, db: Database, settings: BranchConfig, clock: Clock,
                 branches: BranchService, outbox: OutboxService) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.branches = branches
        self.outbox = outbox
        self.repo = ReminderRepository(db)

    def _reminder(self, row: ReminderRow) -> Reminder:
        return Reminder(
            id=row.id, branch_id=row.branch_id, creator_id=row.creator_id,
            schedule=load_schedule(row.schedule, self.clock.tz), content=row.content,
            state=row.state,
            next_fire_at=None if row.next_fire_at is None
            else self.clock.from_timestamp(row.next_fire_at),
            fired_count=row.fired_count,
        )

    def _next_after(self, schedule: Schedule, moment: datetime) -> datetime | None:
        if isinstance(schedule, OneShot):
            return schedule.at if schedule.at > moment else None
        return schedule.next_after(moment)

    def _check_frequency(self, schedule: Schedule) -> None:
        """Refuse a repeating schedule that fires more often than the configured minimum."""
        least = self.settings.reminder_min_interval_minutes
        gap = shortest_gap_minutes(schedule, stop_below=least)
        if gap is not None and gap < least:
            raise DomainError(
                f"重复提醒最多每 {least} 分钟一次，「{schedule.describe()}」"
                f"最短每 {gap:g} 分钟就会触发一次。请换一个更稀疏的时间。"
            )

    async def add(self, branch_id: int, actor: Actor, text: str) -> Reminder:
        """``text`` is ``<time> <content>``; the time in any form the parser accepts.

        Bounded: at most ``reminder_max_per_branch`` reminders (active or paused) per branch,
        and none repeating more often than ``reminder_min_interval_minutes``.
        """
        await self.branches.require_admin(branch_id, actor)
        schedule, content = parse_schedule(
            text, self.clock.now(), horizon_days=self.settings.time_horizon_days)
        content = require_text(content, self.settings.announce_max_length, "提醒内容")
        self._check_frequency(schedule)
        first = self._next_after(schedule, self.clock.now())
        if first is None:
            raise DomainError("这个时间以后不会再到来，请换一个时间。")
        limit = self.settings.reminder_max_per_branch
        async with self.db.transaction():  # counted inside: two racing adds cannot both pass
            if await self.repo.count_live(branch_id) >= limit:
                raise DomainError(
                    f"本支部的提醒已达上限 {limit} 个（含已暂停的），请先用 /提醒 删除 <编号> "
                    "删掉不再需要的提醒。"
                )
            reminder_id = await self.repo.add(branch_id, actor.user_id, dump_schedule(schedule),
                                              content, int(first.timestamp()),
                                              self.clock.timestamp())
        return await self.get(branch_id, reminder_id)

    async def get(self, branch_id: int, reminder_id: int) -> Reminder:
        row = await self.repo.get(reminder_id, branch_id)
        if row is None:
            raise NotFound(f"没有找到提醒 #{reminder_id}。")
        return self._reminder(row)

    async def by_id(self, reminder_id: int) -> Reminder | None:
        """Any branch's reminder (for the scheduler); deleted ones are None."""
        row = await self.repo.get(reminder_id)
        return None if row is None else self._reminder(row)

    async def list(self, branch_id: int, actor: Actor) -> list[Reminder]:
        await self.branches.require_admin(branch_id, actor)
        return [self._reminder(r) for r in await self.repo.of_branch(branch_id)]

    async def delete(self, branch_id: int, actor: Actor, reminder_id: int) -> Reminder:
        await self.branches.require_admin(branch_id, actor)
        reminder = await self.get(branch_id, reminder_id)
        async with self.db.transaction():
            await self.repo.set_state(reminder.id, "deleted", None)
        return reminder

    async def pause(self, branch_id: int, actor: Actor, reminder_id: int) -> Reminder:
        await self.branches.require_admin(branch_id, actor)
        reminder = await self.get(branch_id, reminder_id)
        if reminder.state != "active":
            raise DomainError(f"提醒 #{reminder_id} 当前{STATE_LABELS[reminder.state]}，不能暂停。")
        async with self.db.transaction():
            await self.repo.set_state(reminder.id, "paused", None)
        return await self.get(branch_id, reminder_id)

    async def resume(self, branch_id: int, actor: Actor, reminder_id: int) -> Reminder:
        """Resume from now on: firings that fell inside the pause are not made up."""
        await self.branches.require_admin(branch_id, actor)
        reminder = await self.get(branch_id, reminder_id)
        if reminder.state != "paused":
            label = STATE_LABELS[reminder.state]
            raise DomainError(f"提醒 #{reminder_id} 当前{label}，不需要恢复。")
        self._check_frequency(reminder.schedule)  # it may predate the limit
        upcoming = self._next_after(reminder.schedule, self.clock.now())
        if upcoming is None:
            raise DomainError(f"提醒 #{reminder_id} 的时间已经过去，请删除后重新添加。")
        async with self.db.transaction():
            await self.repo.set_state(reminder.id, "active", int(upcoming.timestamp()))
        return await self.get(branch_id, reminder_id)

    async def active(self) -> list[Reminder]:
        return [self._reminder(r) for r in await self.repo.active()]

    async def fire(self, reminder_id: int) -> bool:
        """Post the reminder for its planned time (once, whatever calls it) and plan the next."""
        row = await self.repo.get(reminder_id)
        if row is None or row.state != "active" or row.next_fire_at is None:
            return False
        planned = row.next_fire_at
        if planned > self.clock.timestamp() + EARLY_TOLERANCE_SECONDS:
            return False  # a stray or duplicate trigger: the next firing is not due yet
        reminder = self._reminder(row)
        now = self.clock.now()
        after = max(now, self.clock.from_timestamp(planned))
        upcoming = self._next_after(reminder.schedule, after)
        async with self.db.transaction():  # posted and the next time planned, or neither
            await self.outbox.to_branch(
                reminder.branch_id, [text_segment(f"⏰ 提醒：{reminder.content}")], "reminder",
                dedupe_key=f"reminder:{reminder.id}:{planned}",
            )
            await self.repo.record_fired(
                reminder.id, self.clock.timestamp(),
                None if upcoming is None else int(upcoming.timestamp()),
                "active" if upcoming is not None else "done",
            )
        return True

    async def skip_missed(self, reminder_id: int) -> None:
        """Plan the next firing after now without posting the missed one."""
        row = await self.repo.get(reminder_id)
        if row is None or row.state != "active":
            return
        reminder = self._reminder(row)
        upcoming = self._next_after(reminder.schedule, self.clock.now())
        async with self.db.transaction():
            await self.repo.reschedule(
                reminder.id, None if upcoming is None else int(upcoming.timestamp()),
                "active" if upcoming is not None else "done",
            )

    async def catch_up(self) -> CatchUp:
        """At start-up: fire once what was missed within the grace, skip (and log) the rest."""
        grace = self.settings.misfire_grace_minutes * 60
        now = self.clock.timestamp()
        fired, skipped = [], []
        for row in await self.repo.active():
            if row.next_fire_at is None or row.next_fire_at > now:
                continue
            late = now - row.next_fire_at
            if late <= grace:
                await self.fire(row.id)
                fired.append(row.id)
                log.info("reminder #%s fired %ss late after downtime", row.id, late)
            else:
                await self.skip_missed(row.id)
                skipped.append((row.id, late))
                log.warning("reminder #%s missed by %ss (grace %ss): skipped", row.id, late,
                            grace)
        return CatchUp(fired, skipped)
