"""APScheduler jobs for stored reminders, re-armed from the database at start-up."""

from __future__ import annotations

import asyncio
import datetime as _dt
import importlib
from collections.abc import Callable

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.date import DateTrigger
from nonebot import logger

from domain.clock import OffsetClock
from domain.reminders import CatchUp, Reminder
from domain.services import Services

JOB_PREFIX = "reminder:"
# The APScheduler modules that read "now" (due jobs, misfires, next fire times).
_SCHEDULER_TIME_MODULES = ("apscheduler.schedulers.base", "apscheduler.executors.base",
                           "apscheduler.triggers.interval", "apscheduler.triggers.date")


class _AnyDatetime(type):
    """``isinstance(x, ShiftedDatetime)`` stays true for every datetime."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, _dt.datetime)

    def __subclasscheck__(cls, sub) -> bool:
        return issubclass(sub, _dt.datetime)


def shift_scheduler_time(clock: OffsetClock) -> None:
    """Make APScheduler read "now" from an offset clock (the playground's, or a bot started
    ahead of the wall clock), so jobs armed for the bot's time run at the bot's time.
    Idempotent."""

    class ShiftedDatetime(_dt.datetime, metaclass=_AnyDatetime):
        @classmethod
        def now(cls, tz=None):
            return _dt.datetime.now(tz) + clock.offset

    for name in _SCHEDULER_TIME_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "datetime", None) is _dt.datetime:
            module.datetime = ShiftedDatetime


def job_id(reminder_id: int) -> str:
    return f"{JOB_PREFIX}{reminder_id}"


class StoredJobs:
    """APScheduler jobs for records kept in the database (the base of each feature's
    scheduler service): the services, and what to do when a job with ``missed_prefix`` in its
    id ran later than its grace (``missed(record_id)``, run as a task the service keeps)."""

    missed_prefix: str | None = None

    def __init__(self, scheduler: BaseScheduler, get_services: Callable[[], Services]) -> None:
        self.scheduler = scheduler
        self._get_services = get_services
        self._tasks: set[asyncio.Task] = set()
        if self.missed_prefix is not None:
            scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)

    @property
    def svc(self) -> Services:
        return self._get_services()

    async def missed(self, record_id: int) -> None:
        """A job for ``record_id`` ran later than the grace."""

    def _on_missed(self, event: JobExecutionEvent) -> None:
        job = str(event.job_id)
        if self.missed_prefix is None or not job.startswith(self.missed_prefix):
            return
        task = asyncio.get_running_loop().create_task(
            self.missed(int(job.removeprefix(self.missed_prefix))))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class ReminderScheduler(StoredJobs):
    """One date job per active reminder, at its planned next firing (always timezone-aware).

    After each firing the next one is read back from the database and armed, so the database
    stays the only record of what is planned and a restart re-arms exactly the same jobs.
    """

    missed_prefix = JOB_PREFIX

    def arm(self, reminder: Reminder) -> None:
        if reminder.state != "active" or reminder.next_fire_at is None:
            self.disarm(reminder.id)
            return
        self.scheduler.add_job(
            self.fire, DateTrigger(run_date=reminder.next_fire_at, timezone=self.svc.clock.tz),
            id=job_id(reminder.id), args=[reminder.id], replace_existing=True, coalesce=True,
            misfire_grace_time=self.svc.settings.misfire_grace_minutes * 60,
        )

    def disarm(self, reminder_id: int) -> None:
        if self.scheduler.get_job(job_id(reminder_id)):
            self.scheduler.remove_job(job_id(reminder_id))

    def armed_count(self) -> int:
        return sum(1 for job in self.scheduler.get_jobs() if job.id.startswith(JOB_PREFIX))

    async def rearm_all(self) -> CatchUp:
        """Catch up on what was missed while down, then arm every active reminder."""
        caught = await self.svc.reminders.catch_up()
        for reminder in await self.svc.reminders.active():
            self.arm(reminder)
        return caught

    async def fire(self, reminder_id: int) -> None:
        await self.svc.reminders.fire(reminder_id)
        await self._rearm(reminder_id)

    async def _rearm(self, reminder_id: int) -> None:
        reminder = await self.svc.reminders.by_id(reminder_id)
        if reminder is None:
            self.disarm(reminder_id)
        else:
            self.arm(reminder)

    async def missed(self, reminder_id: int) -> None:
        """The loop was too late (longer than the grace): skip this one, plan the next."""
        logger.warning(f"reminder #{reminder_id} missed its time: skipped")
        await self.svc.reminders.skip_missed(reminder_id)
        await self._rearm(reminder_id)


SESSION_PREFIX = "session:"


class SessionScheduler(StoredJobs):
    """Date jobs for each session's built-in messages (group reminder, leader, summary).

    Re-armed from the database at start-up; a message missed while down is sent if at most
    ``misfire_grace_minutes`` late, else skipped and logged. The outbox's dedupe key makes a
    repeated firing harmless.
    """

    def arm(self, session) -> None:
        now = self.svc.clock.timestamp()
        for kind, at in self.svc.sessions.job_times(session).items():
            if at > now and session.state == "scheduled":
                self.scheduler.add_job(
                    self.fire, DateTrigger(run_date=self.svc.clock.from_timestamp(at),
                                           timezone=self.svc.clock.tz),
                    id=f"{SESSION_PREFIX}{session.id}:{kind}", args=[session.id, kind],
                    replace_existing=True,
                    misfire_grace_time=self.svc.settings.misfire_grace_minutes * 60,
                )

    def disarm(self, session_id: int) -> None:
        for job in self.scheduler.get_jobs():
            if job.id.startswith(f"{SESSION_PREFIX}{session_id}:"):
                job.remove()

    async def fire(self, session_id: int, kind: str) -> None:
        await self.svc.sessions.fire_job(session_id, kind)

    async def rearm_all(self) -> tuple[int, int]:
        """Arm future messages; send those missed within the grace. Returns (sent, skipped)."""
        svc = self.svc
        now, grace = svc.clock.timestamp(), svc.settings.misfire_grace_minutes * 60
        sent = skipped = 0
        for session in await svc.sessions.pending_sessions():
            for kind, at in svc.sessions.job_times(session).items():
                if at > now:
                    continue
                if now - at <= grace:
                    sent += bool(await svc.sessions.fire_job(session.id, kind))
                else:
                    skipped += 1
                    logger.info(f"session #{session.id} {kind} message missed by "
                                f"{now - at}s: skipped")
            self.arm(session)
        return sent, skipped
