"""Reminders survive a restart: same jobs, right zone, nothing doubled, misfires handled."""

from datetime import datetime, timedelta

from domain.branches import Actor
from runtime.scheduling import ReminderScheduler, job_id
from tests.conftest import TZ
from tests.runtime import processes

ADMIN = Actor(1, is_group_admin=True)


def running(path, settings, clock):
    """One "bot process": services and a scheduler on the database at ``path``."""
    return processes.running(path, settings, clock, ReminderScheduler)


async def test_restart_rearms_the_same_jobs_once_in_shanghai_time(tmp_path, settings, clock):
    path = tmp_path / "restart.db"
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        branch = await svc.branches.branch_for_group(5001)
        weekly = await svc.reminders.add(branch.id, ADMIN, "每周三 19:00 支部大会")
        once = await svc.reminders.add(branch.id, ADMIN, "明天 08:30 交材料")
        for r in (weekly, once):
            jobs.arm(r)

    clock.advance(hours=1)
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        await check_rearmed(svc, scheduler, jobs, weekly, once, settings, clock)


async def check_rearmed(svc, scheduler, jobs, weekly, once, settings, clock):
    caught = await jobs.rearm_all()
    await jobs.rearm_all()  # re-arming twice must not duplicate anything
    assert caught.fired == [] and caught.skipped == []
    armed = {job.id: job for job in scheduler.get_jobs()}
    assert set(armed) == {job_id(weekly.id), job_id(once.id)}
    assert armed[job_id(weekly.id)].next_run_time == datetime(2026, 12, 2, 19, 0, tzinfo=TZ)
    assert armed[job_id(once.id)].next_run_time == datetime(2026, 11, 28, 8, 30, tzinfo=TZ)
    assert armed[job_id(once.id)].next_run_time.utcoffset() == timedelta(hours=8)
    assert armed[job_id(weekly.id)].misfire_grace_time == settings.misfire_grace_minutes * 60

    # the weekly job runs at its minute: posted once, next week armed
    clock.set(datetime(2026, 12, 2, 19, 0, tzinfo=TZ))
    await jobs.fire(weekly.id)
    rows = await svc.outbox.repo.all()
    assert [r[5] for r in rows] == ["⏰ 提醒：支部大会"]
    assert scheduler.get_job(job_id(weekly.id)).next_run_time == datetime(
        2026, 12, 9, 19, 0, tzinfo=TZ)


async def test_restart_after_missing_a_reminder_within_grace_fires_it_once(tmp_path, settings,
                                                                             clock):
    path = tmp_path / "grace.db"
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        branch = await svc.branches.branch_for_group(5001)
        once = await svc.reminders.add(branch.id, ADMIN, "21:00 熄灯检查")
        jobs.arm(once)

    clock.set(once.next_fire_at + timedelta(minutes=3))  # the bot was down at 21:00
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        caught = await jobs.rearm_all()
        assert caught.fired == [once.id]
        assert scheduler.get_job(job_id(once.id)) is None  # a one-off is done after firing

    async with running(path, settings, clock) as (svc, scheduler, jobs):  # another restart
        assert (await jobs.rearm_all()).fired == []
        assert [r[5] for r in await svc.outbox.repo.all()] == ["⏰ 提醒：熄灯检查"]


async def test_deleted_and_paused_reminders_are_not_rearmed(tmp_path, settings, clock):
    path = tmp_path / "states.db"
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        branch = await svc.branches.branch_for_group(5001)
        kept = await svc.reminders.add(branch.id, ADMIN, "每天 07:00 早读")
        paused = await svc.reminders.add(branch.id, ADMIN, "每天 07:10 早操")
        deleted = await svc.reminders.add(branch.id, ADMIN, "每天 07:20 早饭")
        await svc.reminders.pause(branch.id, ADMIN, paused.id)
        await svc.reminders.delete(branch.id, ADMIN, deleted.id)
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        await jobs.rearm_all()
        assert [j.id for j in scheduler.get_jobs()] == [job_id(kept.id)]
