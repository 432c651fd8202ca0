"""Task deadlines survive a restart: the jobs are re-armed from the database once each, a
notice that fell due while the bot was down is sent at start-up while still true, and each
notice goes out once."""


from domain.branches import Actor
from domain.tasks import PERSON, Target
from runtime.task_jobs import TaskScheduler
from tests.runtime import processes

GROUP = 5101
ADMIN = Actor(1, is_superuser=True)
C, D = 301, 302


def running(path, settings, clock):
    """One "bot process": services and a scheduler on the database at ``path``."""
    return processes.running(path, settings, clock, TaskScheduler)


async def notices(svc) -> list[tuple[int, str]]:
    return [(r[2], r[5].split("「")[0]) for r in await svc.outbox.repo.all()
            if r[5].startswith(("⏰ 任务提醒", "⚠️ 任务"))]


async def test_deadline_jobs_across_a_restart(tmp_path, settings, clock):
    path = tmp_path / "tasks.db"
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        b = (await svc.branches.branch_for_group(GROUP)).id
        for uid in (C, D):
            await svc.branches.register(b, uid, f"同学{uid}", "3楼", None)
        due = int(clock.now().timestamp()) + 30 * 3600
        task = await svc.tasks.publish(b, GROUP, ADMIN, "整理台账", due, Target(PERSON, (C,)),
                                       None)
        jobs.arm(task.row)
        armed = {j.id: j.next_run_time.timestamp() for j in scheduler.get_jobs()}
        assert armed == {f"task:{task.id}:remind": due - 24 * 3600,
                         f"task:{task.id}:overdue": due}

    clock.advance(hours=7)  # down while the reminder fell due (an hour ago)
    async with running(path, settings, clock) as (svc, scheduler, jobs):
        assert await jobs.rearm_all() == 1
        assert await jobs.rearm_all() == 0  # re-arming twice sends and arms nothing more
        assert [j.id for j in scheduler.get_jobs()] == [f"task:{task.id}:overdue"]
        assert await notices(svc) == [(C, f"⏰ 任务提醒：#{task.id}")]
        clock.advance(hours=23)
        await jobs.fire(task.id, "overdue")
        await jobs.fire(task.id, "overdue")  # a repeated firing is harmless
        assert await notices(svc) == [(C, f"⏰ 任务提醒：#{task.id}"),
                                      (C, f"⚠️ 任务 #{task.id}")]

    async with running(path, settings, clock) as (svc, scheduler, jobs):
        assert await jobs.rearm_all() == 0 and scheduler.get_jobs() == []
