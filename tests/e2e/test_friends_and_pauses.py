"""Friend requests on each QQ side, and a muted group or an account under risk control delaying
only their own messages (issue 19)."""

from __future__ import annotations

import asyncio
import time

from tests.e2e.onebot import BotProcess, OneBotClient, QQWorld, shown

GROUP, OTHER_GROUP = 89101, 89102
OWNER, MEMBER, NEIGHBOUR, STRANGER = 94001, 94002, 94003, 94004
ACCOUNT_A, ACCOUNT_B = 3000000001, 3000000002


async def test_members_friend_requests_are_accepted_and_greeted_strangers_are_not(tmp_path):
    world = QQWorld()
    world.group(GROUP, accounts=[ACCOUNT_A], members=[OWNER, MEMBER, NEIGHBOUR])
    for person in (MEMBER, NEIGHBOUR, STRANGER):
        world.unfriend(person)
    bot = BotProcess(tmp_path / "friends.db", tmp_path / "bot.log")
    bot.start()
    try:
        async with OneBotClient(bot.port, world=world) as qq:
            qq.quiet |= {"get_group_member_info"}
            await qq.set_up_group(GROUP, OWNER)
            await qq.reply_to(GROUP, MEMBER, "/登记 小明 3楼")  # has a profile
            account = world.accounts[ACCOUNT_A]
            for person in (MEMBER, NEIGHBOUR, STRANGER):
                await world.friend_request(person, ACCOUNT_A, "我是3楼的")
                await asyncio.sleep(1.1)  # NapCat's flag is the request's second
            # a member (a profile) and someone in the branch's group (asked of the QQ side;
            # the always-yes client knows nobody's groups) are accepted and greeted privately;
            # a stranger is left for the operator
            accepted = (MEMBER,) if qq.profile.name == "plain" else (MEMBER, NEIGHBOUR)
            await shown(lambda: all(any("支部助手" in x for x in world.private_texts(p))
                                    for p in accepted))
            await asyncio.sleep(1)
            if qq.profile.name != "plain":  # it keeps no friends either
                assert all(world.is_friend(ACCOUNT_A, p) for p in accepted)
                assert not world.is_friend(ACCOUNT_A, STRANGER)
                pending = [r.user_id for r in account.requests.values()]
                assert STRANGER in pending and MEMBER not in pending
            assert world.private_texts(STRANGER) == []
    finally:
        bot.stop()
    log = bot.log()
    assert "friend request from 94004 left pending" in log
    assert "我是3楼的" not in log  # what people write with a request is theirs


async def test_a_muted_group_and_a_paused_account_delay_only_their_own_messages(tmp_path):
    """Two branches; account A is muted in the first branch's group, then A's sends all time out
    (risk control): the other branch's announcements keep going, through B."""
    world = QQWorld()
    world.group(GROUP, accounts=[ACCOUNT_A], members=[OWNER])
    world.group(OTHER_GROUP, accounts=[ACCOUNT_A, ACCOUNT_B], members=[OWNER])
    bot = BotProcess(tmp_path / "pause.db", tmp_path / "bot.log", SEND_RETRY_BASE_SECONDS="0.2",
                     RISK_FAILURES="2", RISK_PAUSE_SECONDS="600", SEND_INTERVAL_SECONDS="0.2")
    bot.start()
    try:
        async with OneBotClient(bot.port, self_id=ACCOUNT_A, world=world) as a, \
                OneBotClient(bot.port, self_id=ACCOUNT_B, world=world) as b:
            for client in (a, b):
                client.quiet |= {"get_group_member_info", "get_group_msg_history"}
            await a.set_up_group(GROUP, OWNER)
            await a.group_message(OTHER_GROUP, OWNER, "/支部 创建 二支部", "owner")
            await shown(lambda: any("已创建支部" in x
                                    for x in world.group_texts(OTHER_GROUP, bots_only=True)))
            await world.mute(GROUP, ACCOUNT_A, 600)
            await a.group_message(GROUP, OWNER, "/公告 一支部开会", "owner")
            start = time.monotonic()
            await a.group_message(OTHER_GROUP, OWNER, "/公告 二支部开会", "owner")
            await shown(lambda: any("二支部开会" in x and "公告" in x
                                    for x in world.group_texts(OTHER_GROUP, bots_only=True)))
            other_waited = time.monotonic() - start
            await asyncio.sleep(1)
            if a.profile.name != "plain":  # the always-yes client knows no mutes
                assert not any("一支部开会" in x and "公告" in x  # waits for the mute to end
                               for x in world.group_texts(GROUP, bots_only=True))
            await world.unmute(GROUP, ACCOUNT_A)
            await shown(lambda: any("一支部开会" in x and "公告" in x
                                    for x in world.group_texts(GROUP, bots_only=True)))

            # A is throttled: every send times out and nothing goes out. After two in a row
            # it pauses and the other branch's messages go through B; superusers told once
            world.account(ACCOUNT_A, risk_control=True)
            for i in range(4):
                await b.group_message(OTHER_GROUP, OWNER, f"/公告 通知{i}", "owner")
            await shown(lambda: all(any(f"通知{i}" in x for x in world.group_texts(
                OTHER_GROUP, bots_only=True)) for i in range(4)), timeout=20)
            texts = world.group_texts(OTHER_GROUP, bots_only=True)
            assert all(sum(f"通知{i}" in x for x in texts) == 1 for i in range(4))
    finally:
        bot.stop()
    log = bot.log()
    assert other_waited < 5
    assert "account 3000000001: 疑似风控" in log and "sending paused" in log
