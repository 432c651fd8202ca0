"""The outgoing queue with an injected clock: pacing, routing over accounts, failures classified
as the QQ sides report them, the history check after a timeout, no silent drops."""

from itertools import pairwise

import pytest
from nonebot.adapters.onebot.v11 import ActionFailed

from domain.outbox import at_segment, text_segment
from runtime.outbox import OutboxDispatcher

NAPCAT_TIMEOUT = ("Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg "
                  "ListenerName:NodeIKernelMsgListener/onMsgInfoListUpdate EventRet:\n{}\n")
NAPCAT_MUTED = ('EventChecker Failed: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg '
                'EventRet:\n{\n    "result": 120,\n    "errMsg": ""\n}\n')
LLONEBOT_NOT_FRIEND = ("invoke failed, wrapperSession.getMsgService().sendMsg, [], "
                       "{ result: 16, errMsg: '发送失败，请先添加对方为好友' }")


class FakeBot:
    """Records each API call with the (fake) time it was made; answers as told.

    ``fail``: api or (api, target) -> error message to raise; ``history``: what
    get_group_msg_history returns; ``delivered``: messages that reached QQ (even when the
    answer was a timeout)."""

    def __init__(self, clock, self_id: int = 1, fail_first: int = 0,
                 fail_groups: frozenset = frozenset()):
        self.clock = clock
        self.self_id = str(self_id)
        self.calls: list[tuple[float, str, dict]] = []
        self.fail_first = fail_first
        self.fail_groups = fail_groups
        self.timeouts_delivered = 0  # next sends time out, but the message went out
        self.errors: dict[str, str] = {}  # api -> error message (every call)
        self.strangers: set[int] = set()  # refused privately (no temp session: LLOneBot)
        self.delivered: list[tuple[int, str]] = []

    async def call_api(self, api: str, **data):
        self.calls.append((self.clock.now().timestamp(), api, data))
        if api == "get_group_msg_history":
            return {"messages": [
                {"post_type": "message_sent", "user_id": int(self.self_id), "time": t,
                 "message": [{"type": "text", "data": {"text": text}}]}
                for t, text in self.delivered_at if True]}
        if api == "get_group_member_info":
            return {"group_id": data["group_id"], "user_id": data["user_id"], "role": "member"}
        if api in self.errors:
            raise ActionFailed(status="failed", retcode=1200, message=self.errors[api])
        if (api == "send_private_msg" and data["user_id"] in self.strangers
                and "group_id" not in data):
            raise ActionFailed(status="failed", retcode=1200, message=LLONEBOT_NOT_FRIEND)
        if self.fail_first > 0 or data.get("group_id") in self.fail_groups:
            self.fail_first -= 1
            raise ActionFailed(status="failed", retcode=1200, message="风控")
        text = "".join(seg.data.get("text", "") for seg in data.get("message", []))
        self.delivered.append((data.get("group_id") or data.get("user_id"), text))
        if self.timeouts_delivered > 0:
            self.timeouts_delivered -= 1
            raise ActionFailed(status="failed", retcode=1200, message=NAPCAT_TIMEOUT)
        return {"message_id": len(self.calls)}

    @property
    def delivered_at(self):
        import time

        return [(time.time(), text) for _, text in self.delivered]

    def sends(self) -> list[dict]:
        return [d for _, api, d in self.calls if api.startswith("send_")]


def dispatcher_for(svc, clock, *bots):
    async def fake_sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    return OutboxDispatcher(svc, lambda: {int(b.self_id): b for b in bots}, sleep=fake_sleep)


def account(svc, self_id: int, app: str = "NapCat.Onebot", groups=None, friends=None):
    found = svc.accounts.connect(self_id, svc.clock.timestamp())
    found.app_name = app
    found.groups = None if groups is None else set(groups)
    found.friends = None if friends is None else set(friends)
    return found


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
    spacing = 60 / settings.send_rate_per_minute  # and spread evenly: no burst of 20
    assert all(b - a >= spacing - 1e-6 for a, b in pairwise(times))
    one_group = [t for t, _, d in bot.calls if d["group_id"] == 900000]
    assert all(b - a >= settings.send_interval_seconds for a, b in pairwise(one_group))
    assert times[-1] - start >= 60  # 33 messages at 20/min cannot all go in the first minute
    assert (await svc.outbox.repo.counts()) == {"sent": 33}


async def test_two_accounts_share_a_broadcast_each_at_its_own_pace(svc, clock, settings):
    branch = await make_branch_with_groups(svc, 12)
    await svc.outbox.to_branch(branch.id, [text_segment("周例会")], "announcement")
    one, two = FakeBot(clock, 1), FakeBot(clock, 2)
    start = clock.now().timestamp()
    await dispatcher_for(svc, clock, one, two).drain()
    assert len(one.sends()) + len(two.sends()) == 12 and len(one.sends()) == 6
    spacing = 60 / settings.send_rate_per_minute
    # twelve sends at one per spacing per account: about half the time one account needs
    assert clock.now().timestamp() - start <= 6 * spacing


async def test_failed_send_is_retried_with_backoff(svc, clock, settings):
    await svc.outbox.to_group(123456, [text_segment("提醒")], "reminder")
    bot = FakeBot(clock, fail_first=2)
    await dispatcher_for(svc, clock, bot).drain()
    assert len(bot.calls) == 3
    gaps = [b[0] - a[0] for a, b in pairwise(bot.calls)]
    base = settings.send_retry_base_seconds
    assert gaps[0] >= base and gaps[1] >= 2 * base
    assert (await svc.outbox.repo.counts()) == {"sent": 1}


async def test_failures_in_a_row_pause_the_account_and_the_end_is_logged_without_text(
        svc, clock, settings):
    from nonebot.log import logger

    messages = []
    handler = logger.add(lambda m: messages.append(str(m)), level="INFO")
    try:
        await svc.outbox.to_group(654321, [text_segment("会议改期到周五")], "announcement")
        bot = FakeBot(clock, fail_groups=frozenset({654321}))
        start = clock.now().timestamp()
        await dispatcher_for(svc, clock, bot).drain()
    finally:
        logger.remove(handler)
    group_sends = [c for c in bot.calls if c[1] == "send_group_msg"]
    assert len(group_sends) == settings.send_max_retries + 1
    # after risk_failures failures in a row the account paused risk_pause_seconds
    gap = group_sends[settings.risk_failures][0] - group_sends[settings.risk_failures - 1][0]
    assert gap >= settings.risk_pause_seconds and clock.now().timestamp() - start > gap
    told = [d for _, api, d in bot.calls if api == "send_private_msg"]
    assert [d["user_id"] for d in told] == [10000]  # the superuser, once (a day)
    assert "疑似风控" in told[0]["message"][0].data["text"]
    rows = {r[2]: r for r in await svc.outbox.repo.all()}
    assert rows[654321][3:5] == ("failed", settings.send_max_retries + 1)
    assert any("failed for good" in m and f"#{rows[654321][0]}" in m for m in messages)
    assert not any("会议改期" in m for m in messages)  # the record, never the text


async def test_messages_wait_for_a_bot_and_go_when_one_connects(svc, clock):
    await svc.outbox.to_group(111111, [at_segment(22222), text_segment(" 请评价")], "nudge")
    connected: dict = {}
    dispatcher = OutboxDispatcher(svc, lambda: connected)
    assert await dispatcher.step() is not None  # nothing to talk to: waits
    assert (await svc.outbox.repo.counts()) == {"pending": 1}
    bot = FakeBot(clock)
    connected[1] = bot
    assert await dispatcher.step() is None
    await dispatcher.settle()
    [(_, api, data)] = bot.calls
    assert api == "send_group_msg" and data["group_id"] == 111111
    assert [seg.type for seg in data["message"]] == ["at", "text"]


async def test_a_secret_never_carries_a_group_id_and_waits_for_no_stranger(svc, clock):
    account(svc, 1, friends={33333})
    await svc.outbox.to_user(33333, [text_segment("签到码 1234")], "checkin_code",
                             via_group_id=44444)
    await svc.outbox.to_user(55555, [text_segment("签到码 5678")], "checkin_code",
                             via_group_id=44444)  # not a friend of the only account
    bot = FakeBot(clock)
    bot.strangers = {55555}
    await dispatcher_for(svc, clock, bot).drain()
    sent = bot.sends()
    assert all("group_id" not in s for s in sent)  # tried directly, never through the group
    assert [s["user_id"] for s in sent] == [33333, 55555] and bot.delivered == [
        (33333, "签到码 1234")]
    states = {r[2]: r[3] for r in await svc.outbox.repo.all()}
    assert states == {33333: "sent", 55555: "failed"}
    assert await svc.outbox.take_hint(55555) == "checkin_code"  # told on their next command
    assert await svc.outbox.take_hint(55555) is None  # once


async def test_a_personal_notice_to_a_stranger_goes_as_a_temp_session_on_napcat_only(svc, clock):
    account(svc, 1, "NapCat.Onebot", groups={44444}, friends=set())
    await svc.outbox.to_user(66666, [text_segment("你已从候补转正")], "waitlist_promoted",
                             via_group_id=44444,
                             fallback=[at_segment(66666), text_segment(" 请发送 /报名 我的")])
    bot = FakeBot(clock)
    bot.strangers = {66666}
    await dispatcher_for(svc, clock, bot).drain()
    # tried directly (refused: not a friend), then through the group, after a member check
    assert [c[1] for c in bot.calls] == [
        "send_private_msg", "get_group_member_info", "send_private_msg"]
    assert bot.sends()[-1]["group_id"] == 44444 and bot.delivered == [(44444, "你已从候补转正")]


async def test_a_personal_notice_falls_back_to_a_mention_without_its_text(svc, clock):
    account(svc, 1, "LLOneBot", groups={44444}, friends=set())
    await svc.outbox.to_user(66666, [text_segment("你反映的宿舍漏水问题已受理：明早维修")],
                             "problem_notice", via_group_id=44444)
    bot = FakeBot(clock)
    bot.strangers = {66666}
    await dispatcher_for(svc, clock, bot).drain()
    refused, sent = bot.sends()
    assert refused["user_id"] == 66666 and "group_id" not in refused  # tried, refused
    assert "user_id" not in sent and sent["group_id"] == 44444
    assert [s.type for s in sent["message"]] == ["at", "text"]
    assert "漏水" not in str(sent["message"]) and "加我为好友" in str(sent["message"])
    outcomes = await svc.db.fetchall("SELECT kind, state, outcome FROM outbox ORDER BY id")
    assert [tuple(r) for r in outcomes] == [("problem_notice", "failed", "fallback"),
                                            ("problem_notice_fallback", "sent", None)]


async def test_not_a_friend_answer_reroutes_to_the_account_that_is(svc, clock):
    account(svc, 1, "LLOneBot")  # neither said who its friends are: both may try
    account(svc, 2, "LLOneBot")
    first, second = FakeBot(clock, 1), FakeBot(clock, 2)
    first.errors["send_private_msg"] = LLONEBOT_NOT_FRIEND
    await svc.outbox.to_user(77777, [text_segment("导学提醒")], "session_leader")
    await dispatcher_for(svc, clock, first, second).drain()
    assert len(second.sends()) == 1 and not first.delivered
    assert svc.accounts.get(1).is_friend(77777) is False


async def test_a_muted_group_waits_and_other_groups_keep_flowing(svc, clock, settings):
    account(svc, 1, groups={1001, 1002})
    bot = FakeBot(clock)
    bot.errors = {}
    await svc.outbox.to_group(1001, [text_segment("甲")], "announcement")
    await svc.outbox.to_group(1002, [text_segment("乙")], "announcement")

    original = bot.call_api

    async def muted_in_1001(api, **data):
        if api == "send_group_msg" and data["group_id"] == 1001 \
                and not svc.accounts.get(1).muted_in(1001, clock.now().timestamp()) \
                and len([c for c in bot.calls if c[2].get("group_id") == 1001]) == 0:
            bot.calls.append((clock.now().timestamp(), api, data))
            raise ActionFailed(status="failed", retcode=1200, message=NAPCAT_MUTED)
        return await original(api, **data)

    bot.call_api = muted_in_1001
    start = clock.now().timestamp()
    await dispatcher_for(svc, clock, bot).drain()
    sends = [(t - start, d["group_id"]) for t, api, d in bot.calls if api == "send_group_msg"]
    assert sends[1][1] == 1002 and sends[1][0] < 10  # the other group did not wait
    assert sends[-1][1] == 1001 and sends[-1][0] >= settings.mute_pause_seconds
    assert (await svc.outbox.repo.counts()) == {"sent": 2}


async def test_a_timed_out_send_that_was_delivered_is_not_sent_twice(svc, clock):
    account(svc, 1, groups={2001})
    bot = FakeBot(clock)
    bot.timeouts_delivered = 1
    await svc.outbox.to_group(2001, [text_segment("今晚七点支部大会")], "announcement")
    await dispatcher_for(svc, clock, bot).drain()
    assert [api for _, api, _ in bot.calls] == ["send_group_msg", "get_group_msg_history"]
    assert bot.delivered == [(2001, "今晚七点支部大会")]
    assert (await svc.outbox.repo.counts()) == {"sent": 1}


async def test_a_timed_out_send_that_was_lost_goes_again_once(svc, clock):
    account(svc, 1, groups={2001})
    bot = FakeBot(clock)
    bot.errors["send_group_msg"] = NAPCAT_TIMEOUT
    await svc.outbox.to_group(2001, [text_segment("明天交党费")], "announcement")
    dispatcher = dispatcher_for(svc, clock, bot)
    await dispatcher.step()
    await dispatcher.settle()
    del bot.errors["send_group_msg"]
    await dispatcher.drain()
    assert [api for _, api, _ in bot.calls] == [
        "send_group_msg", "get_group_msg_history", "send_group_msg"]
    assert bot.delivered == [(2001, "明天交党费")]


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


async def test_many_strangers_share_a_few_mentions_instead_of_one_message_each(svc, clock):
    account(svc, 1, "LLOneBot", groups={44444}, friends=set())
    for user in range(70000, 70045):  # a survey of a branch whose members never added the bot
        await svc.outbox.to_user(user, [text_segment("问卷：满意度调查，私聊我填写")],
                                 "survey_invite", via_group_id=44444,
                                 fallback=[at_segment(user), text_segment(" 你有一份问卷待填写")])
    bot = FakeBot(clock)
    bot.strangers = set(range(70000, 70045))
    await dispatcher_for(svc, clock, bot).drain()
    sent = [s for s in bot.sends() if "group_id" in s]
    assert bot.delivered and all(g == 44444 for g, _ in bot.delivered)  # nothing privately
    mentioned = [int(seg.data["qq"]) for s in sent for seg in s["message"] if seg.type == "at"]
    assert sorted(mentioned) == list(range(70000, 70045))  # everyone, once
    assert len(sent) == 3  # 20 + 20 + 5, not 45 messages
    assert all(s["message"][-1].data["text"] == " 你有一份问卷待填写" for s in sent)
