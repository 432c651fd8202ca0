"""Poll deadlines survive a restart: re-armed once, closed at the deadline with the result
posted to the branch's groups, a deadline missed while down handled as reminders are."""

from datetime import datetime, timedelta

from domain.branches import Actor
from runtime.poll_jobs import PollScheduler, poll_job_id
from tests.conftest import TZ
from tests.runtime import processes

ADMIN = Actor(1, is_group_admin=True)
GROUP, FLOOR_GROUP = 5001, 5002


def running(path, settings, clock):
    """One "bot process": services and a scheduler on the database at ``path``."""
    return processes.running(path, settings, clock, PollScheduler)


async def start_poll(svc, jobs, when="明天 20:00"):
    branch = await svc.branches.branch_for_group(GROUP)
    await svc.branches.bind(FLOOR_GROUP, branch.id, Actor(1, is_superuser=True))
    for uid in range(201, 241):  # 40 registered members
        await svc.branches.register(branch.id, uid, f"同学{uid}", "3楼", None)
    poll = await svc.polls.create(branch.id, GROUP, ADMIN,
                                  f"微分享选题 | 党史 | 考研 | 就业 截止 {when}")
    jobs.arm(poll)
    return branch, poll


async def results(svc):
    return [(r[2], r[5]) for r in await svc.outbox.repo.all()
            if r[5].startswith("🗳️ 投票 #1 已结束")]


async def test_forty_votes_some_changed_then_a_restart_and_the_deadline(tmp_path, settings,
                                                                        clock):
    path = tmp_path / "poll.db"
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        branch, poll = await start_poll(svc, jobs)
        for uid in range(201, 241):
            await svc.polls.vote(poll.id, uid, ((uid % 3) + 1,), branch.id)
        for uid in range(201, 211):  # ten change their minds to 考研
            assert (await svc.polls.vote(poll.id, uid, (2,), branch.id)).outcome == "replaced"

    clock.advance(hours=1)
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        caught = await jobs.rearm_all()
        await jobs.rearm_all()  # re-arming twice must not duplicate anything
        assert caught.announced == [] and caught.quiet == []
        assert [j.id for j in scheduler.get_jobs()] == [poll_job_id(poll.id)]
        job = scheduler.get_job(poll_job_id(poll.id))
        assert job.next_run_time == datetime(2026, 11, 28, 20, 0, tzinfo=TZ)
        assert job.misfire_grace_time == settings.misfire_grace_minutes * 60

        clock.set(datetime(2026, 11, 28, 20, 0, tzinfo=TZ))
        await jobs.fire(poll.id)
        await jobs.fire(poll.id)  # a repeated firing posts nothing more
        posted = await results(svc)
        assert sorted(g for g, _ in posted) == [GROUP, FLOOR_GROUP]
        # 40 voters by uid % 3: 14 / 13 / 13; then 201..210 (4 of 党史, 3 of 就业) move to 考研
        text = posted[0][1]
        assert "1. 党史  ███░░░░░░░ 10 票 25.0%" in text
        assert "2. 考研  █████░░░░░ 20 票 50.0%" in text
        assert "3. 就业  ███░░░░░░░ 10 票 25.0%" in text
        assert "已投票 40 人；参与率 100.0%（登记成员 40/40 人）" in text
        assert (await svc.polls.get(branch.id, poll.id)).state == "closed"


async def test_deadline_passed_while_down_within_grace_closes_and_posts_once(tmp_path, settings,
                                                                             clock):
    path = tmp_path / "grace.db"
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        branch, poll = await start_poll(svc, jobs, "21:00")
        await svc.polls.vote(poll.id, 201, (1,), branch.id)
    clock.set(datetime(2026, 11, 27, 21, 0, tzinfo=TZ) + timedelta(minutes=3))
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        caught = await jobs.rearm_all()
        assert caught.announced == [poll.id] and scheduler.get_jobs() == []
        assert len(await results(svc)) == 2
    async with running(path, settings, clock) as (svc, scheduler, jobs):  # another restart
        assert (await jobs.rearm_all()).announced == []
        assert len(await results(svc)) == 2


async def test_deadline_missed_beyond_grace_closes_without_posting(tmp_path, settings, clock):
    path = tmp_path / "late.db"
    async with running(path, settings, clock) as (svc, _, jobs):
        branch, poll = await start_poll(svc, jobs, "21:00")
    clock.set(datetime(2026, 11, 28, 9, 0, tzinfo=TZ))  # down all night
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        caught = await jobs.rearm_all()
        assert caught.quiet == [poll.id] and caught.announced == []
        assert await results(svc) == [] and scheduler.get_jobs() == []
        assert (await svc.polls.get(branch.id, poll.id)).state == "closed"


async def test_closing_early_by_hand_disarms_nothing_left_to_post(tmp_path, settings, clock):
    path = tmp_path / "early.db"
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        branch, poll = await start_poll(svc, jobs)
        await svc.polls.close(poll.id, ADMIN, branch.id, GROUP)
        clock.set(datetime(2026, 11, 28, 20, 0, tzinfo=TZ))
        assert await svc.polls.close_due(poll.id) is None  # a stale job does nothing
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        caught = await jobs.rearm_all()
        assert caught.pending == [] and scheduler.get_jobs() == []
