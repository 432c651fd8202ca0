from datetime import datetime, timedelta

import pytest

from domain.branches import Actor
from domain.errors import DomainError, Forbidden, NotFound
from domain.timeparse import TimeParseError
from tests.conftest import TZ

ADMIN = Actor(1, is_group_admin=True)


@pytest.fixture
async def branch_id(svc):
    return (await svc.branches.branch_for_group(5001)).id


async def outbox_texts(svc):
    return [row[5] for row in await svc.outbox.repo.all()]


async def test_add_weekly_and_one_off_in_shanghai_time(svc, branch_id):
    # the fixed clock is Friday 2026-11-27 20:00 Asia/Shanghai
    weekly = await svc.reminders.add(branch_id, ADMIN, "每周三 19:00 支部大会")
    assert weekly.content == "支部大会" and weekly.repeating
    assert weekly.next_fire_at == datetime(2026, 12, 2, 19, 0, tzinfo=TZ)
    once = await svc.reminders.add(branch_id, ADMIN, "明天 8:30 交材料")
    assert once.next_fire_at == datetime(2026, 11, 28, 8, 30, tzinfo=TZ)
    assert once.next_fire_at.utcoffset() == timedelta(hours=8)
    listed = await svc.reminders.list(branch_id, ADMIN)
    assert [r.id for r in listed] == [weekly.id, once.id]


async def test_add_refuses_bad_input_and_non_admins(svc, branch_id):
    with pytest.raises(Forbidden):
        await svc.reminders.add(branch_id, Actor(2), "每天 08:00 早读")
    with pytest.raises(TimeParseError, match="可用"):
        await svc.reminders.add(branch_id, ADMIN, "下周某天 开会")
    with pytest.raises(DomainError, match="提醒内容不能为空"):
        await svc.reminders.add(branch_id, ADMIN, "每天 08:00")
    with pytest.raises(DomainError, match="已经过去"):
        await svc.reminders.add(branch_id, ADMIN, "2026-01-01 08:00 过去的事")
    assert await svc.reminders.list(branch_id, ADMIN) == []


async def test_firing_posts_once_per_planned_time_and_plans_the_next(svc, branch_id, clock):
    weekly = await svc.reminders.add(branch_id, ADMIN, "每周三 19:00 支部大会")
    clock.set(weekly.next_fire_at)
    assert await svc.reminders.fire(weekly.id)
    assert not await svc.reminders.fire(weekly.id)  # a second trigger for the same time…
    assert await outbox_texts(svc) == ["⏰ 提醒：支部大会"]  # …posts nothing new
    after = await svc.reminders.get(branch_id, weekly.id)
    assert after.next_fire_at == datetime(2026, 12, 9, 19, 0, tzinfo=TZ)


async def test_one_off_ends_after_firing(svc, branch_id, clock):
    once = await svc.reminders.add(branch_id, ADMIN, "明天 8:30 交材料")
    clock.set(once.next_fire_at)
    await svc.reminders.fire(once.id)
    assert (await svc.reminders.get(branch_id, once.id)).state == "done"
    assert await svc.reminders.list(branch_id, ADMIN) == []


async def test_catch_up_inside_grace_fires_once(svc, branch_id, clock, settings):
    weekly = await svc.reminders.add(branch_id, ADMIN, "每周三 19:00 支部大会")
    clock.set(weekly.next_fire_at + timedelta(minutes=settings.misfire_grace_minutes - 1))
    caught = await svc.reminders.catch_up()
    assert caught.fired == [weekly.id] and caught.skipped == []
    assert await outbox_texts(svc) == ["⏰ 提醒：支部大会"]
    assert (await svc.reminders.catch_up()).fired == []  # a second start-up: nothing again


async def test_catch_up_outside_grace_skips_and_logs(svc, branch_id, clock, settings, caplog):
    weekly = await svc.reminders.add(branch_id, ADMIN, "每周三 19:00 支部大会")
    once = await svc.reminders.add(branch_id, ADMIN, "12-02 18:00 交材料")
    clock.set(weekly.next_fire_at + timedelta(minutes=settings.misfire_grace_minutes + 1))
    with caplog.at_level("WARNING", logger="zhibu.reminders"):
        caught = await svc.reminders.catch_up()
    assert caught.fired == [] and {i for i, _ in caught.skipped} == {weekly.id, once.id}
    assert "skipped" in caplog.text
    assert await outbox_texts(svc) == []
    assert (await svc.reminders.get(branch_id, weekly.id)).next_fire_at == datetime(
        2026, 12, 9, 19, 0, tzinfo=TZ)
    assert (await svc.reminders.get(branch_id, once.id)).state == "done"


async def test_several_missed_occurrences_coalesce_into_one(svc, branch_id, clock):
    daily = await svc.reminders.add(branch_id, ADMIN, "每天 21:00 熄灯")
    clock.set(daily.next_fire_at + timedelta(days=3, minutes=1))
    caught = await svc.reminders.catch_up()
    assert caught.fired == [] and len(caught.skipped) == 1  # 3 days late: skipped, not ×4
    assert await outbox_texts(svc) == []


async def test_pause_resume_delete(svc, branch_id, clock):
    r = await svc.reminders.add(branch_id, ADMIN, "每天 21:00 熄灯")
    paused = await svc.reminders.pause(branch_id, ADMIN, r.id)
    assert paused.state == "paused" and paused.next_fire_at is None
    with pytest.raises(DomainError, match="不能暂停"):
        await svc.reminders.pause(branch_id, ADMIN, r.id)
    clock.advance(days=2)
    resumed = await svc.reminders.resume(branch_id, ADMIN, r.id)
    assert resumed.state == "active" and resumed.next_fire_at > clock.now()
    await svc.reminders.delete(branch_id, ADMIN, r.id)
    with pytest.raises(NotFound):
        await svc.reminders.get(branch_id, r.id)
    assert not await svc.reminders.fire(r.id)


async def test_reminder_of_another_branch_is_not_found(svc, branch_id):
    r = await svc.reminders.add(branch_id, ADMIN, "每天 21:00 熄灯")
    other = (await svc.branches.branch_for_group(5002)).id
    with pytest.raises(NotFound):
        await svc.reminders.delete(other, ADMIN, r.id)
