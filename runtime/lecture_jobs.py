"""APScheduler jobs that close 微党课 scoring rounds, re-armed from the database at start-up.

A round closes ``score_close_hours`` after its activity ends: the ranking is posted and the
speakers' points booked (``LectureService.close_due``, once). A close missed while the bot was
down happens at start-up, late but complete (the ranking is still worth posting); a job that
runs late for any other reason still closes the round.
"""

from __future__ import annotations

from apscheduler.triggers.date import DateTrigger
from nonebot import logger

from runtime.scheduling import StoredJobs
from storage.lectures import RoundRow

LECTURE_PREFIX = "lecture:"


def lecture_job_id(session_id: int) -> str:
    return f"{LECTURE_PREFIX}{session_id}"


class LectureScheduler(StoredJobs):
    """One date job per open scoring round, at its close."""

    def arm(self, found: RoundRow) -> None:
        if found.closed_at is not None:
            self.disarm(found.session_id)
            return
        self.scheduler.add_job(
            self.fire, DateTrigger(run_date=self.svc.clock.from_timestamp(found.closes_at),
                                   timezone=self.svc.clock.tz),
            id=lecture_job_id(found.session_id), args=[found.session_id],
            replace_existing=True, coalesce=True, misfire_grace_time=None,
        )

    def disarm(self, session_id: int) -> None:
        if self.scheduler.get_job(lecture_job_id(session_id)):
            self.scheduler.remove_job(lecture_job_id(session_id))

    async def fire(self, session_id: int) -> None:
        if await self.svc.lectures.close_due(session_id) is not None:
            logger.info(f"lecture round #{session_id} closed; ranking queued")

    async def rearm_all(self) -> tuple[list[int], list[RoundRow]]:
        """Close what passed while down, arm the rest."""
        closed, pending = await self.svc.lectures.catch_up()
        for found in pending:
            self.arm(found)
        return closed, pending
