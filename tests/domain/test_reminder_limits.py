"""Reminders are bounded: so many per branch, none repeating more often than the minimum."""

import asyncio

import pytest

from config import BranchConfig
from domain.branches import Actor
from domain.errors import DomainError
from domain.reminders import shortest_gap_minutes
from domain.services import open_services
from domain.timeparse import dump_schedule, parse_schedule

ADMIN = Actor(1, is_group_admin=True)


@pytest.fixture
async def branch_id(svc):
    return (await svc.branches.branch_for_group(5001)).id


@pytest.mark.parametrize(("text", "gap"), [
    ("cron * * * * *", 1),
    ("cron */30 * * * *", 30),
    ("cron 0,45 8 * * *", 45),
    ("cron 0,59 7,8 * * 1-5", 1),  # 7:59 → 8:00
    ("cron 0 * * * *", 60),
    ("cron 30 8-18/2 * * 1-5", 120),
    ("cron 0 8 * * *", 1440),
    ("cron 0 0,23 * * *", 60),  # 23:00 → 00:00 the next day
    ("每天 08:00", 1440),
    ("工作日 07:30", 1440),
    ("每周三 19:00", 7 * 1440),
    ("每月1日 09:00", 28 * 1440),
])
def test_shortest_gap(clock, text, gap):
    schedule, _ = parse_schedule(f"{text} 内容", clock.now())
    assert shortest_gap_minutes(schedule) == gap


def test_one_off_has_no_gap(clock):
    schedule, _ = parse_schedule("明天 08:00 内容", clock.now())
    assert shortest_gap_minutes(schedule) is None


@pytest.mark.parametrize("text", ["cron * * * * * 刷屏", "cron */10 8-20 * * * 打卡",
                                  "cron 0,30 8 * * 1-5 早读"])
async def test_too_frequent_repeating_reminder_is_refused(svc, branch_id, text):
    with pytest.raises(DomainError, match="最多每 60 分钟一次"):
        await svc.reminders.add(branch_id, ADMIN, text)
    assert await svc.reminders.list(branch_id, ADMIN) == []


async def test_hourly_and_daily_are_allowed(svc, branch_id):
    for text in ("cron 0 * * * * 整点", "cron 0 8 * * 1-5 早读", "每天 08:00 早读",
                 "明天 08:00 交材料"):
        await svc.reminders.add(branch_id, ADMIN, text)
    assert len(await svc.reminders.list(branch_id, ADMIN)) == 4


async def test_min_interval_is_configurable(tmp_path, clock):
    settings = BranchConfig(reminder_min_interval_minutes=120)
    svc = await open_services(settings, clock, str(tmp_path / "limits.db"))
    try:
        branch = await svc.branches.branch_for_group(5001)
        with pytest.raises(DomainError, match=r"最多每 120 分钟一次.*最短每 60 分钟"):
            await svc.reminders.add(branch.id, ADMIN, "cron 0 * * * * 整点")
        await svc.reminders.add(branch.id, ADMIN, "cron 0 */2 * * * 两小时")
    finally:
        await svc.db.close()


async def test_at_most_max_per_branch(svc, branch_id, settings):
    limit = settings.reminder_max_per_branch
    assert limit == 50
    added = [await svc.reminders.add(branch_id, ADMIN, f"每天 {i // 60:02d}:{i % 60:02d} 第{i}个")
             for i in range(limit)]
    await svc.reminders.pause(branch_id, ADMIN, added[0].id)  # paused ones still count
    with pytest.raises(DomainError, match=f"上限 {limit} 个"):
        await svc.reminders.add(branch_id, ADMIN, "每天 21:00 多一个")
    other = (await svc.branches.branch_for_group(5002)).id
    await svc.reminders.add(other, ADMIN, "每天 21:00 别的支部")  # per branch
    await svc.reminders.delete(branch_id, ADMIN, added[1].id)
    await svc.reminders.add(branch_id, ADMIN, "每天 21:00 删掉一个后可以再加")
    with pytest.raises(DomainError, match="上限"):
        await svc.reminders.add(branch_id, ADMIN, "明天 08:00 又多一个")


async def test_racing_adds_cannot_pass_the_limit_together(svc, branch_id, settings):
    limit = settings.reminder_max_per_branch
    for i in range(limit - 1):
        await svc.reminders.add(branch_id, ADMIN, f"每天 {i // 60:02d}:{i % 60:02d} 第{i}个")
    results = await asyncio.gather(
        *(svc.reminders.add(branch_id, ADMIN, f"每天 22:0{i} 并发{i}") for i in range(3)),
        return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert len(await svc.reminders.list(branch_id, ADMIN)) == limit


async def test_resuming_a_too_frequent_old_reminder_is_refused(svc, branch_id, clock):
    schedule, _ = parse_schedule("cron * * * * * 旧的", clock.now())
    async with svc.db.transaction():  # stored before the limit existed
        old = await svc.reminders.repo.add(branch_id, 1, dump_schedule(schedule), "旧的",
                                           clock.timestamp() + 60, clock.timestamp())
    await svc.reminders.pause(branch_id, ADMIN, old)
    with pytest.raises(DomainError, match="最多每 60 分钟一次"):
        await svc.reminders.resume(branch_id, ADMIN, old)
