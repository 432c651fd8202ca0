"""The outgoing queue with an injected clock: pacing, retries, persistence, no silent drops."""

from itertools import pairwise

import pytest
from nonebot.adapters.onebot.v11 import ActionFailed

from domain.outbox import at_segment, text_segment
from runtime.outbox import OutboxDispatcher


class FakeBot:
    """Records each API call with the (fake) time it was made; can fail on demand."""

    def __init__(self, clock, fail_first: int = 0, fail_groups: frozenset = frozenset()):
        self.clock = clock
        self.calls: list[tuple[float, str, dict]] = []
        self.fail_first = fail_first
        self.fail_groups = fail_groups

    async def call_api(self, api: str, **data):
        self.calls.append((self.clock.now().timestamp(), api, data))
        if self.fail_first > 0 or data.get("group_id") in self.fail_groups:
            self.fail_first -= 1
            raise ActionFailed(status="failed", retcode=1200, message="风控")
        return {"message_id": len(self.calls)}


def dispatcher_for(svc, clock, bot):
    async def fake_sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    return OutboxDispatcher(svc, lambda: bot, sleep=fake_sleep)


async def make_branch_with_groups(svc, count: int):
    first = await svc.branches.branch_for_group(900000)
    for group in range(900001, 900000 + count):
        await svc.branches.branches.bind_group(group, first.id, 1, 0)
    return first


async def test_broadcast_to_30_groups_keeps_the_pace(svc, clock, settings):
    branch = await make_branch_with_groups(svc, 30)
    assert await svc.outbox.to_branch(branch.id, [text_segment("支部大会")], "announcement") == 30
    for i in range(3):  # three more to one group: per-group interval matters too
        await svc.outbox.to_group(900000, [text_segment(f"补充{i}")], "announcement")
    bot = FakeBot(clock)
    start = clock.now().timestamp()
    await dispatcher_for(svc, clock, bot).drain()

    times = [t for t, _, _ in bot.calls]
    assert len(bot.calls) == 33 and {c[1] for c in bot.calls} == {"send_group_msg"}
    assert {c[2]["group_id"] for c in bot.calls} == set(range(900000, 900030))
    for i, t in enumerate(times):  # never more than the rate in any minute
        assert sum(1 for u in times[i:] if u < t + 60) <= settings.send_rate_per_minute
    one_group = [t for t, _, d in bot.calls if d["group_id"] == 900000]
    assert all(b - a >= settings.send_interval_seconds for a, b in pairwise(one_group))
    assert times[-1] - start >= 60  # 33 messages at 20/min cannot all go in the first minute
    assert (await svc.outbox.repo.counts()) == {"sent": 33}


async def test_failed_send_is_retried_with_backoff(svc, clock, settings):
    await svc.outbox.to_group(123456, [text_segment("提醒")], "reminder")
    bot = FakeBot(clock, fail_first=2)
    await dispatcher_for(svc, clock, bot).drain()
    assert len(bot.calls) == 3
    gaps = [b[0] - a[0] for a, b in pairwise(bot.calls)]
    base = settings.send_retry_base_seconds
    assert gaps[0] >= base and gaps[1] >= 2 * base
    assert (await svc.outbox.repo.counts()) == {"sent": 1}


async def test_final_failure_is_kept_and_logged_not_dropped(svc, clock, settings, caplog):
    from nonebot.log import logger

    messages = []
    handler = logger.add(lambda m: messages.append(str(m)), level="ERROR")
    try:
        await svc.outbox.to_group(654321, [text_segment("会议改期")], "announcement")
        bot = FakeBot(clock, fail_groups=frozenset({654321}))
        await dispatcher_for(svc, clock, bot).drain()
    finally:
        logger.remove(handler)
    assert len(bot.calls) == settings.send_max_retries + 1
    [(_, _, target, state, attempts, text)] = await svc.outbox.repo.all()
    assert (target, state, attempts, text) == (654321, "failed", settings.send_max_retries + 1,
                                              "会议改期")
    # the line names the record, never its text (a private one may be a problem's content)
    assert any("outbox #1 (announcement) to group 654321 failed for good" in m for m in messages)
    assert not any("会议改期" in m for m in messages)


async def test_messages_wait_for_a_bot_and_go_when_one_connects(svc, clock):
    await svc.outbox.to_group(111111, [at_segment(22222), text_segment(" 请评价")], "nudge")
    connected = {"bot": None}
    dispatcher = OutboxDispatcher(svc, lambda: connected["bot"])
    assert await dispatcher.step() is not None  # nothing to talk to: waits
    assert (await svc.outbox.repo.counts()) == {"pending": 1}
    connected["bot"] = FakeBot(clock)
    assert await dispatcher.step() is None
    [(_, api, data)] = connected["bot"].calls
    assert api == "send_group_msg" and data["group_id"] == 111111
    assert [seg.type for seg in data["message"]] == ["at", "text"]


async def test_private_message_to_a_non_friend_goes_through_the_group(svc, clock):
    await svc.outbox.to_user(33333, [text_segment("签到码 1234")], "checkin_code",
                             via_group_id=44444)
    bot = FakeBot(clock)
    await dispatcher_for(svc, clock, bot).drain()
    [(_, api, data)] = bot.calls
    assert api == "send_private_msg" and data["user_id"] == 33333 and data["group_id"] == 44444


@pytest.mark.parametrize("hostile", ["[CQ:at,qq=all]", "&#91;CQ:at,qq=all&#93;"])
async def test_queued_text_is_never_parsed_as_cq_code(svc, clock, hostile):
    await svc.outbox.to_group(111111, [text_segment(hostile)], "announcement")
    bot = FakeBot(clock)
    await dispatcher_for(svc, clock, bot).drain()
    message = bot.calls[0][2]["message"]
    assert [seg.type for seg in message] == ["text"] and message[0].data["text"] == hostile


async def test_a_row_of_a_transaction_that_rolls_back_is_never_sent(svc, clock):
    """The dispatcher shares the connection, so it can read a row another task has queued in a
    transaction still open; if that transaction rolls back, the row must not go out."""
    import asyncio

    bot = FakeBot(clock)
    dispatcher = dispatcher_for(svc, clock, bot)
    await dispatcher.step()  # start-up work (pacing window, pruning) done: next step just sends
    queued, release = asyncio.Event(), asyncio.Event()

    async def change_that_fails():
        async with svc.db.transaction():
            await svc.outbox.to_group(777001, [text_segment("从未发生的变化")], "announcement")
            queued.set()
            await release.wait()
            raise RuntimeError("the change is refused after its notice was queued")

    failing = asyncio.create_task(change_that_fails())
    await queued.wait()
    stepping = asyncio.create_task(dispatcher.step())  # reads the uncommitted row, then waits
    await asyncio.sleep(0.05)
    release.set()
    with pytest.raises(RuntimeError):
        await failing
    await stepping
    await svc.outbox.to_group(777002, [text_segment("真的变化")], "announcement")
    await dispatcher.drain()
    assert [c[2]["group_id"] for c in bot.calls] == [777002]
