"""APScheduler jobs for poll deadlines and survey invitations, re-armed from the database.

A poll's deadline is a date job; at start-up a deadline passed while the bot was down closes the
poll, and its result is posted if at most ``misfire_grace_minutes`` late, else only logged (the
reminders' rule). A late job (the loop was busy longer than the grace) closes without posting.
A survey tied to a session invites its participants when the session's check-in closes; an
invitation missed while down is sent at start-up (the survey is still open, so it is useful).
"""

from __future__ import annotations

from apscheduler.triggers.date import DateTrigger
from nonebot import logger

from domain.polls import CatchUp
from runtime.scheduling import StoredJobs
from storage.polls import PollRow
from storage.surveys import SurveyRow

POLL_PREFIX = "poll:"
INVITE_PREFIX = "survey_invite:"


def poll_job_id(poll_id: int) -> str:
    return f"{POLL_PREFIX}{poll_id}"


class PollScheduler(StoredJobs):
    """One date job per open poll with a deadline, and one per pending survey invitation."""

    missed_prefix = POLL_PREFIX

    # polls -------------------------------------------------------------------------------

    def arm(self, poll: PollRow) -> None:
        if poll.state != "open" or poll.closes_at is None:
            self.disarm(poll.id)
            return
        self.scheduler.add_job(
            self.fire, DateTrigger(run_date=self.svc.clock.from_timestamp(poll.closes_at),
                                   timezone=self.svc.clock.tz),
            id=poll_job_id(poll.id), args=[poll.id], replace_existing=True, coalesce=True,
            misfire_grace_time=self.svc.settings.misfire_grace_minutes * 60,
        )

    def disarm(self, poll_id: int) -> None:
        if self.scheduler.get_job(poll_job_id(poll_id)):
            self.scheduler.remove_job(poll_job_id(poll_id))

    async def fire(self, poll_id: int) -> None:
        tally = await self.svc.polls.close_due(poll_id, announce=True)
        if tally is not None:
            logger.info(f"poll #{poll_id} closed at its deadline; result queued")

    async def rearm_all(self) -> CatchUp:
        """Close what passed while down (posting it within the grace), arm the rest."""
        caught = await self.svc.polls.catch_up()
        for poll in caught.pending:
            self.arm(poll)
        return caught

    # survey invitations ------------------------------------------------------------------

    def arm_invitation(self, survey: SurveyRow) -> None:
        if survey.invited_at is not None or survey.invite_at is None:
            return
        self.scheduler.add_job(
            self.invite, DateTrigger(run_date=self.svc.clock.from_timestamp(survey.invite_at),
                                     timezone=self.svc.clock.tz),
            id=f"{INVITE_PREFIX}{survey.id}", args=[survey.id], replace_existing=True,
            coalesce=True, misfire_grace_time=None,  # late is still useful: always run
        )

    async def invite(self, survey_id: int) -> None:
        await self.svc.surveys.invite(survey_id)

    async def rearm_invitations(self) -> dict[int, int]:
        sent = await self.svc.surveys.invite_due()
        for survey in await self.svc.surveys.future_invitations():
            self.arm_invitation(survey)
        return sent

    async def missed(self, poll_id: int) -> None:
        """A deadline job ran later than the grace: close the poll without posting."""
        logger.warning(f"poll #{poll_id} deadline job missed its time: closed without posting")
        await self.svc.polls.close_due(poll_id, announce=False)
