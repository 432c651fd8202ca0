from tests.domain.conftest import HELPER, WISHER


async def test_digest_lists_only_long_unclaimed_wishes_once_a_day(world, clock, settings):
    svc, b = world.svc, world.branch_id
    old = await svc.wishes.post(b, 5001, WISHER, "很久没人认领")
    clock.advance(hours=settings.wish_digest_hours)
    await svc.wishes.post(b, 5001, WISHER, "刚发布的")
    assert await svc.wishes.queue_digests() == 1
    assert await svc.wishes.queue_digests() == 0  # same day: not again
    [row] = await svc.outbox.repo.all()
    assert f"#{old.id} 很久没人认领" in row[5] and "刚发布的" not in row[5]


async def test_no_digest_when_nothing_waits(world):
    await world.svc.wishes.post(world.branch_id, 5001, WISHER, "刚发布的")
    assert await world.svc.wishes.queue_digests() == 0
    assert await world.svc.outbox.repo.all() == []


async def test_rating_nudge_mentions_the_wisher_after_a_day(world, clock):
    svc, b = world.svc, world.branch_id
    wish = await svc.wishes.post(b, 5001, WISHER, "帮忙")
    await svc.wishes.claim(b, wish.id, HELPER)
    await svc.wishes.mark_done(b, wish.id, HELPER, None)
    [done] = await svc.outbox.repo.due(clock.now().timestamp())  # queued with the change
    assert done.kind == "wish_done" and done.target_id == 5001
    assert done.segments[0] == {"type": "at", "data": {"qq": str(WISHER)}}
    assert "已由 助人者 完成服务" in done.text and f"/心愿 评价 #{wish.id}" in done.text
    assert await svc.wishes.queue_rating_nudges() == 0
    clock.advance(days=1)
    assert await svc.wishes.queue_rating_nudges() == 1
    assert await svc.wishes.queue_rating_nudges() == 0
    [_, message] = await svc.outbox.repo.due(clock.now().timestamp())
    assert message.segments[0] == {"type": "at", "data": {"qq": str(WISHER)}}
    assert f"/心愿 评价 #{wish.id}" in message.text and "6 天后" in message.text


async def test_auto_completion_is_announced_in_the_group(world, clock, settings):
    svc, b = world.svc, world.branch_id
    wish = await svc.wishes.post(b, 5001, WISHER, "帮忙")
    await svc.wishes.claim(b, wish.id, HELPER)
    await svc.wishes.mark_done(b, wish.id, HELPER, None)
    clock.advance(days=settings.wish_rating_days)
    await svc.wishes.auto_complete_overdue()
    [_done, row] = await svc.outbox.repo.all()
    assert row[2] == 5001 and "已自动完成" in row[5] and "助人者 获得 5 积分" in row[5]
