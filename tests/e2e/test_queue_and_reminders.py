"""Announcements, the persistent queue and reminder restarts through the real bot.py."""

import asyncio
import sqlite3
from datetime import datetime, timedelta

from domain.outbox import text_segment
from storage.database import Database
from storage.outbox import OutboxRepository
from tests.e2e.onebot import BotProcess, BotTime, OneBotClient, message_text

GROUP, FLOOR_GROUP = 81001, 81002
OWNER = 60001


async def next_action(qq: OneBotClient, action: str, timeout: float = 10) -> dict:
    while True:
        call = await qq.next_call(timeout)
        if call["action"] == action:
            return call


async def test_announcement_goes_out_through_the_queue_to_every_group(bot_process):
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        call = await qq.reply_to(GROUP, OWNER, "/支部 信息", role="owner")
        assert "支部 #1" in message_text(call)
        await qq.reply_to(GROUP, OWNER, "/成员 设置 60001 书记", role="owner")  # not registered
        await qq.reply_to(GROUP, OWNER, "/登记 王书记", role="owner")
        await qq.reply_to(GROUP, OWNER, "/成员 设置 60001 书记", role="owner")
        call = await qq.reply_to(FLOOR_GROUP, OWNER, "/支部 绑定 #1", role="admin")
        assert "本群已并入支部 #1" in message_text(call)
        call = await qq.reply_to(GROUP, OWNER, "/公告 [CQ:at,qq=all] 今晚七点支部大会")
        assert "发到本支部 2 个群" in message_text(call)
        sent = [await next_action(qq, "send_group_msg"), await next_action(qq, "send_group_msg")]
    assert {c["params"]["group_id"] for c in sent} == {GROUP, FLOOR_GROUP}
    for call in sent:
        assert [s["type"] for s in call["params"]["message"]] == ["text"]
        assert message_text(call) == "📢 公告：[CQ:at,qq=all] 今晚七点支部大会"


async def test_message_queued_while_no_bot_is_connected_goes_out_on_connect(tmp_path):
    db_path = tmp_path / "queued.db"
    db = Database(db_path)
    await db.open()
    async with db.transaction():
        await OutboxRepository(db).add(branch_id=None, target_type="group", target_id=GROUP,
                                       segments=[text_segment("离线期间的提醒")],
                                       kind="reminder", now=0)
    await db.close()
    proc = BotProcess(db_path, tmp_path / "bot.log")
    proc.start()
    try:
        await asyncio.sleep(1.5)  # the bot is up with nobody connected: the message waits
        assert sqlite3.connect(db_path).execute(
            "SELECT state FROM outbox").fetchall() == [("pending",)]
        async with OneBotClient(proc.port) as qq:
            call = await next_action(qq, "send_group_msg")
            assert call["params"]["group_id"] == GROUP
            assert message_text(call) == "离线期间的提醒"
            await asyncio.sleep(0.3)
    finally:
        proc.stop()
    assert sqlite3.connect(db_path).execute(
        "SELECT state FROM outbox").fetchall() == [("sent",)]


def next_wednesday_1900(now: datetime) -> datetime:
    """The next Wednesday 19:00 strictly after ``now`` (what 每周三 19:00 fires at next)."""
    at = now.replace(hour=19, minute=0, second=0, microsecond=0)
    at += timedelta(days=(2 - at.weekday()) % 7)
    return at if at > now else at + timedelta(days=7)


async def test_reminders_are_rearmed_after_a_restart(tmp_path, bot_clock: BotTime):
    db_path = tmp_path / "restart.db"
    # a one-off reminder 40 days ahead of the bot's clock, typed as month-day (no year)
    once = (bot_clock.now() + timedelta(days=40)).replace(hour=20, minute=0)
    proc = BotProcess(db_path, tmp_path / "bot1.log")
    proc.start()
    try:
        async with OneBotClient(proc.port) as qq:
            await qq.set_up_group(GROUP, OWNER)
            call = await qq.reply_to(GROUP, OWNER, "/提醒 添加 每周三 19:00 支部大会", role="owner")
            assert "已添加提醒 #1" in message_text(call)
            call = await qq.reply_to(GROUP, OWNER, f"/提醒 添加 {once:%m-%d} 20:00 年终总结",
                                     role="owner")
            assert "已添加提醒 #2" in message_text(call)
    finally:
        proc.stop()
    again = BotProcess(db_path, tmp_path / "bot2.log")
    again.start()
    try:
        async with OneBotClient(again.port) as qq:
            call = await qq.reply_to(GROUP, OWNER, "/提醒", role="owner")
            text = message_text(call)
            wednesday = next_wednesday_1900(bot_clock.now())
            assert f"#1 每周三 19:00（下次 {wednesday:%m-%d} 19:00） 支部大会" in text
            assert f"#2 {once:%Y-%m-%d} 20:00 年终总结" in text
    finally:
        again.stop()
    assert "2 reminders armed; 0 fired late, 0 skipped" in again.log()
