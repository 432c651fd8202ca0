"""Replies in a group keep its pace; replies that pile up are merged, addressing each person."""

import asyncio
from itertools import pairwise

import pytest
from nonebot.adapters.onebot.v11 import Message, MessageSegment

from config import BranchConfig
from tests.fakes import GROUP, OTHER_GROUP, group_message

INTERVAL = 0.2


@pytest.fixture
def settings() -> BranchConfig:
    return BranchConfig(reply_interval_seconds=INTERVAL, reply_max_chars=200)


class RecordingBot:
    def __init__(self, self_id: str = "42") -> None:
        self.self_id = self_id
        self.sent: list[tuple[float, int, Message]] = []

    async def send(self, event, message):
        self.sent.append((asyncio.get_running_loop().time(), event.group_id, message))


def text(content: str) -> Message:
    return Message(MessageSegment.text(content))


async def test_a_burst_in_one_group_goes_as_few_messages_that_address_each_person(services):
    from runtime.replies import ReplyGate  # after NoneBot is initialised

    gate, bot = ReplyGate(), RecordingBot()
    events = [group_message(30000 + i, "/签到 1234") for i in range(30)]
    replies = [text("签到成功：导学 #1，出勤 +2 分") for _ in range(28)]
    replies += [text("签到码不对，还可以再试 4 次。"), text("你已经签到过了，不重复计分。")]
    await asyncio.gather(*(gate.send(bot, e, r) for e, r in zip(events, replies, strict=True)))

    _, _, first = bot.sent[0]
    assert first == replies[0]  # the group was quiet: the first reply as it was
    merged = [m for _, _, m in bot.sent[1:]]
    assert 1 <= len(merged) <= 3  # 29 replies in a handful of messages, within the limit
    mentioned = [int(seg.data["qq"]) for m in merged for seg in m if seg.type == "at"]
    assert sorted(mentioned) == [30000 + i for i in range(1, 30)]  # everyone, once
    # the same answer is said once per message, after the @-mentions of all who get it
    assert all(m.extract_plain_text().count("签到成功") <= 1 for m in merged)
    together = "".join(m.extract_plain_text() for m in merged)
    assert "签到码不对" in together and "不重复计分" in together
    assert all(len(m.extract_plain_text()) <= 200 for m in merged)
    times = [t for t, _, _ in bot.sent]
    assert all(b - a >= INTERVAL - 0.02 for a, b in pairwise(times))


async def test_the_same_reply_to_several_people_is_said_once(services):
    from runtime.replies import ReplyGate  # after NoneBot is initialised

    gate, bot = ReplyGate(), RecordingBot()
    events = [group_message(31000 + i, "/报名 #1") for i in range(4)]
    await asyncio.gather(*(gate.send(bot, e, text("报名成功")) for e in events))
    [_, (_, _, merged)] = bot.sent
    assert [seg.type for seg in merged] == ["at", "at", "at", "text"]
    assert merged.extract_plain_text().count("报名成功") == 1


async def test_groups_do_not_wait_for_each_other(services):
    from runtime.replies import ReplyGate  # after NoneBot is initialised

    gate, bot = ReplyGate(), RecordingBot()
    await gate.send(bot, group_message(32001, "/我的"), text("一"))
    started = asyncio.get_running_loop().time()
    await gate.send(bot, group_message(32002, "/我的", group_id=OTHER_GROUP), text("二"))
    assert asyncio.get_running_loop().time() - started < INTERVAL / 2
    await gate.send(bot, group_message(32003, "/我的", group_id=GROUP), text("三"))
    assert [g for _, g, _ in bot.sent] == [GROUP, OTHER_GROUP, GROUP]
    assert bot.sent[2][0] - bot.sent[0][0] >= INTERVAL - 0.02  # the same group waited


async def test_a_paused_account_answers_through_another_in_the_group(services, monkeypatch):
    from runtime import outbox, replies

    paused, other = RecordingBot("42"), RecordingBot("43")
    now = services.clock.timestamp()
    for self_id in (42, 43):
        services.accounts.connect(self_id, now).groups = {GROUP}
    services.accounts.get(42).paused_until = now + 300  # suspected risk control
    monkeypatch.setattr(outbox, "connected_bots", lambda: {42: paused, 43: other})
    await replies.ReplyGate().send(paused, group_message(33001, "/我的"), text("你好"))
    assert not paused.sent and [m for _, _, m in other.sent] == [text("你好")]


async def test_someone_with_one_command_is_answered_before_anothers_twentieth(services):
    from runtime.replies import ReplyGate  # after NoneBot is initialised

    gate, bot = ReplyGate(), RecordingBot()
    flood = [gate.send(bot, group_message(34001, f"/积分 {i}"), text(f"第{i}次：你的积分 5"))
             for i in range(40)]
    late = gate.send(bot, group_message(34002, "/我的"), text("小新：积分 3"))
    await asyncio.gather(*flood, late)
    # the first goes at once; the newcomer is in the very next message, not after 39 others
    second = bot.sent[1][2]
    assert "小新：积分 3" in second.extract_plain_text()
    assert len(bot.sent) >= 3  # the flooder's forty need more than one message of 200 chars
