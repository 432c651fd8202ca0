"""Three QQ accounts on one bot (issue 22): 12 groups, each account in 8 of them.

A message seen by two accounts runs once; a backlog of 300 messages survives one account's
connection dropping halfway, each message shown once in its group; a member who added only
account B gets their private check-in code through B.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from datetime import timedelta

from tests.e2e.onebot import BotProcess, OneBotClient, QQWorld, bot_time, shown

ACCOUNTS = (3000000001, 3000000002, 3000000003)
GROUPS = [90100 + i for i in range(12)]
OWNER, LEADER = 10000, 95002  # the owner is the bot's superuser (SUPERUSERS)
WISHERS = [96000 + i for i in range(200)]


def membership() -> dict[int, list[int]]:
    """Each account in 8 of the 12 groups; every group has two accounts."""
    return {a: [g for j, g in enumerate(GROUPS) if (j - 4 * i) % 12 < 8]
            for i, a in enumerate(ACCOUNTS)}


async def say(world: QQWorld, group: int, user: int, text, expect: str,
              role: str = "member") -> str:
    """``user`` types in ``group`` (every account there sees it) and waits for the answer,
    as people do."""
    seen = len(world.group_texts(group, bots_only=True))
    await world.group_message(group, user, text, role)
    return await shown(lambda: next((x for x in world.group_texts(group, bots_only=True)[seen:]
                                     if expect in x), None))


def count(db_path, sql: str) -> int:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql).fetchone()[0]


async def test_three_accounts_one_action_per_event_no_loss_on_a_drop_and_friends_by_account(
        tmp_path):
    world = QQWorld()
    for account, groups in membership().items():
        for group in groups:
            world.group(group, accounts=[account], members=[OWNER, LEADER])
    for group in GROUPS:
        world.set_role(group, OWNER, "owner")
    world.unfriend(LEADER)
    world.befriend(LEADER, ACCOUNTS[1])  # the leader added only account B
    bot = BotProcess(tmp_path / "accounts.db", tmp_path / "bot.log", FLOOD_BURST="500",
                     SEND_RATE_PER_MINUTE="1200", SEND_INTERVAL_SECONDS="0.05")
    bot.start()
    clients = {a: OneBotClient(bot.port, self_id=a, world=world) for a in ACCOUNTS}
    try:
        for client in clients.values():
            await client.__aenter__()
            client.quiet |= {"get_group_member_info", "get_group_info", "get_group_msg_history"}
        first = GROUPS[0]
        await say(world, first, OWNER, "/支部 创建 全校支部", "已创建支部", "owner")
        for group in GROUPS[1:]:
            await world.group_message(group, OWNER, "/支部 绑定 #1", "owner")
        await shown(lambda: all(any("本群已并入支部 #1" in x
                                    for x in world.group_texts(g, bots_only=True))
                                for g in GROUPS[1:]))

        # 200 wishes, each posted where two accounts see it: each acted on once
        for i, wisher in enumerate(WISHERS):
            await world.group_message(GROUPS[i % 12], wisher, f"/许愿 第{i}个心愿")
        await shown(lambda: count(bot.db_path, "SELECT COUNT(*) FROM wishes") >= 200)
        await asyncio.sleep(1)
        assert count(bot.db_path, "SELECT COUNT(*) FROM wishes") == 200
        replies = [x for g in GROUPS for x in world.group_texts(g, bots_only=True)
                   if "已发布" in x]
        assert len(replies) == 200

        # a member who added only B: their session code (a secret) goes through B
        await say(world, first, LEADER, "/登记 李导学", "李导学")
        await say(world, first, OWNER, f"/成员 设置 {LEADER} 正式党员", "正式党员", "owner")
        starts = bot_time.now() + timedelta(minutes=10)
        await say(world, first, OWNER, [
            {"type": "text", "data": {"text": f"/导学 发起 学习 {starts:%Y-%m-%d %H:%M} 60 "}},
            {"type": "at", "data": {"qq": str(LEADER)}}], "已发起导学", "owner")
        await shown(lambda: any("/zhibu/screen/" in x for x in world.private_texts(LEADER)))
        if clients[ACCOUNTS[0]].profile.name != "plain":  # it knows no friends
            assert {m.self_id for m in world.private_messages(LEADER)} == {ACCOUNTS[1]}

        # a backlog of 300 (25 announcements to 12 groups); account C drops halfway
        for i in range(25):
            await world.group_message(first, OWNER, f"/公告 第{i:02d}号通知", "owner")
        numbered = re.compile(r"第(\d\d)号通知")

        def delivered() -> int:
            return sum(1 for g in GROUPS for x in world.group_texts(g, bots_only=True)
                       if "公告" in x and numbered.search(x))

        await shown(lambda: delivered() >= 150, timeout=60)
        dropped = clients.pop(ACCOUNTS[2])
        dropped_at = time.monotonic()
        await dropped.__aexit__(None, None, None)
        await shown(lambda: delivered() >= 300, timeout=60)
        resumed = time.monotonic() - dropped_at
        await asyncio.sleep(1)

        # the admins see which accounts serve the branch, and that one is down
        status = await say(world, first, OWNER, "/支部 状态", "QQ 账号", "owner")
        assert "待发送：0 条" in status
        if clients[ACCOUNTS[0]].profile.name != "plain":  # it lists no groups
            lines = {a: next(x for x in status.splitlines() if str(a) in x) for a in ACCOUNTS}
            assert all("在线" in lines[a] for a in ACCOUNTS[:2]) and "离线" in lines[ACCOUNTS[2]]
            assert all("在 8/12 个群" in line for line in lines.values())
            name = {"napcat": "NapCat", "llonebot": "LLOneBot", "lagrange": "Lagrange"}
            assert name[clients[ACCOUNTS[0]].profile.name] in lines[ACCOUNTS[0]]
    finally:
        for client in clients.values():
            await client.__aexit__(None, None, None)
        bot.stop()
    for group in GROUPS:  # every announcement once in every group: none lost, none twice
        numbers = sorted(numbered.search(x).group(1)
                         for x in world.group_texts(group, bots_only=True)
                         if "公告" in x and numbered.search(x))
        assert numbers == [f"{i:02d}" for i in range(25)], (group, numbers)
    assert resumed < 30  # the rest within failover_seconds of the drop
