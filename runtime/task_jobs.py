"""APScheduler jobs for task deadlines, re-armed from the database at start-up.

Each open task with a deadline has up to two date jobs: the reminder ``task_remind_hours``
before it (to assignees still 待完成) and the overdue notice at it. Both are stamped in the
database when sent, so each goes out once whatever restarts happen. At start-up a notice that
fell due while the bot was down is sent if it is still true (``TaskService.catch_up``: a reminder
only before the deadline); the rest are armed. Late jobs still run (``misfire_grace_time``
None): a late reminder before the deadline, or a late overdue notice, is still true.
"""

from __future__ import annotations

from apscheduler.triggers.date import DateTrigger

from runtime.scheduling import StoredJobs
from storage.tasks import TaskRow

TASK_PREFIX = "task:"


class TaskScheduler(StoredJobs):
    """The deadline jobs of the task list."""

    def arm(self, task: TaskRow) -> None:
        now = self.svc.clock.timestamp()
        if task.state != "open" or task.due_at is None:
            self.disarm(task.id)
            return
        planned = {"remind": task.remind_at if task.reminded_at is None else None,
                   "overdue": task.due_at if task.overdue_at is None else None}
        for kind, at in planned.items():
            if at is None or at <= now:
                continue
            self.scheduler.add_job(
                self.fire, DateTrigger(run_date=self.svc.clock.from_timestamp(at),
                                       timezone=self.svc.clock.tz),
                id=f"{TASK_PREFIX}{task.id}:{kind}", args=[task.id, kind],
                replace_existing=True, coalesce=True, misfire_grace_time=None)

    def disarm(self, task_id: int) -> None:
        for job in self.scheduler.get_jobs():
            if job.id.startswith(f"{TASK_PREFIX}{task_id}:"):
                job.remove()

    async def fire(self, task_id: int, kind: str) -> None:
        tasks = self.svc.tasks
        await (tasks.remind(task_id) if kind == "remind" else tasks.tell_overdue(task_id))

    async def rearm_all(self) -> int:
        """Send what fell due while down (still true), arm the rest; returns notices sent."""
        sent, ahead = await self.svc.tasks.catch_up()
        for task in ahead:
            self.arm(task)
        return sent
