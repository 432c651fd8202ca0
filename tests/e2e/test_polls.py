"""Polls and a survey through the real bot.py: members vote and change their minds, an
anonymous poll is voted privately, a survey is answered step by step in a private chat, and
after a restart the deadline passed while down closes the poll and posts its counts."""

import asyncio
import sqlite3
from datetime import timedelta

from tests.e2e.onebot import BotProcess, OneBotClient, message_text

GROUP = 83101
OWNER = 71001
MEMBERS = (71002, 71003, 71004, 71005)


async def private_reply(qq: OneBotClient, user_id: int, typed: str) -> str:
    await qq.private_message(user_id, typed)
    call = await qq.next_call()
    assert call["action"] == "send_msg" and call["params"]["user_id"] == user_id, call
    return message_text(call)


async def test_polls_and_a_survey_over_the_websocket(tmp_path, bot_clock):
    db_path = tmp_path / "polls.db"
    deadline = (bot_clock.now() + timedelta(days=1)).strftime("%Y-%m-%d 20:00")
    proc = BotProcess(db_path, tmp_path / "bot1.log")
    proc.start()
    try:
        async with OneBotClient(proc.port) as qq:
            await qq.set_up_group(GROUP, OWNER)
            for i, uid in enumerate(MEMBERS):
                await qq.reply_to(GROUP, uid, f"/登记 同学{i} 3楼")
            call = await qq.reply_to(
                GROUP, OWNER, f"/投票 发起 微分享选题 | 党史 | 考研 | 就业 截止 {deadline}",
                role="owner")
            assert "已发起投票 #1：微分享选题" in message_text(call)
            for uid, choice in zip(MEMBERS, (1, 2, 2, 3), strict=True):
                call = await qq.reply_to(GROUP, uid, f"/投票 #1 {choice}")
                assert "已投票：投票 #1" in message_text(call)
            call = await qq.reply_to(GROUP, MEMBERS[0], "/投票 #1 2")  # changes their mind
            assert "已改投" in message_text(call) and "替换了之前的 1「党史」" in message_text(call)
            call = await qq.reply_to(GROUP, MEMBERS[0], "/投票 #1 0")
            assert "用法：/投票" in message_text(call)

            call = await qq.reply_to(GROUP, OWNER, "/投票 发起 时间 | 周五 | 周六 匿名",
                                     role="owner")
            assert "已发起投票 #2" in message_text(call)
            assert "已收到你在匿名投票 #2" in await private_reply(qq, MEMBERS[1], "/投票 #2 2")
            assert "不能改投" in await private_reply(qq, MEMBERS[1], "/投票 #2 1")
            assert "没有找到投票 #2" in await private_reply(qq, 79999, "/投票 #2 1")

            await qq.group_message(GROUP, OWNER, "/问卷 发起 活动反馈 匿名\n评分 收获大吗\n"
                                                 "填空 建议 选填", role="owner")
            calls = [await qq.next_call() for _ in range(1 + len(MEMBERS))]
            [call] = [c for c in calls if c["action"] == "send_msg"]
            assert "已发起问卷 #1「活动反馈」，共 2 题（匿名）" in message_text(call)
            assert "已私聊邀请本支部登记的成员 4 人" in message_text(call)
            invites = [c for c in calls if c is not call]  # each member, privately
            assert sorted(c["params"]["user_id"] for c in invites) == sorted(MEMBERS)
            assert all(c["action"] == "send_private_msg" and "/问卷 填写 #1" in message_text(c)
                       for c in invites)
            assert "第 1/2 题" in await private_reply(qq, MEMBERS[2], "/问卷 填写 #1")
            assert "请回复 1 到 5" in await private_reply(qq, MEMBERS[2], "十分")
            assert "第 2/2 题" in await private_reply(qq, MEMBERS[2], "5")
            assert "已提交" in await private_reply(qq, MEMBERS[2], "跳过")
    finally:
        proc.stop()
    assert "/投票 #2 2" not in proc.log() and "/问卷 填写" not in proc.log()  # private: unlogged

    # the bot is down when the deadline passes (a minute ago, within misfire_grace_minutes)
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE polls SET closes_at = ? WHERE id = 1",
                   (int(bot_clock.timestamp()) - 60,))
    again = BotProcess(db_path, tmp_path / "bot2.log")
    again.start()
    try:
        async with OneBotClient(again.port) as qq:
            seen = [await qq.next_call(timeout=15)]
            while "已结束" not in message_text(seen[-1]):
                seen.append(await qq.next_call(timeout=15))
            call = seen[-1]
            assert call["action"] == "send_group_msg" and call["params"]["group_id"] == GROUP
            result = message_text(call)
            assert "1. 党史  ░░░░░░░░░░ 0 票 0.0%" in result
            assert "2. 考研  ████████░░ 3 票 75.0%" in result
            assert "3. 就业  ███░░░░░░░ 1 票 25.0%" in result
            assert "已投票 4 人；参与率 100.0%（登记成员 4/4 人）" in result
            await qq.group_message(GROUP, MEMBERS[3], "/投票 #1 1")
            seen.append(await qq.next_call())
            while seen[-1]["action"] == "send_private_msg":  # notices of the restart
                seen.append(await qq.next_call())
            assert "已经结束，不能再投了" in message_text(seen[-1])
            # the anonymous ballot and the anonymous answers waited for their batch (fewer
            # than anonymous_batch) when the bot stopped: they were lost, and their people
            # are told to vote or answer again
            while sum(c["action"] == "send_private_msg" for c in seen) < 2:
                seen.append(await qq.next_call(timeout=15))
            told = {c["params"]["user_id"]: message_text(c) for c in seen
                    if c["action"] == "send_private_msg"}
            assert "没能保存。请重新投票：/投票 #2" in told[MEMBERS[1]]
            assert "没能保存。请重新填写：私聊我发送 /问卷 填写 #1" in told[MEMBERS[2]]
            await asyncio.sleep(0.2)
    finally:
        again.stop()
    assert "1 closed late with results posted" in again.log()

    db = sqlite3.connect(db_path)
    assert db.execute("SELECT COUNT(*) FROM poll_ballots WHERE poll_id = 1").fetchone() == (4,)
    assert db.execute("SELECT * FROM poll_voters").fetchall() == []
    assert db.execute("SELECT * FROM poll_waiting").fetchall() == []
    assert db.execute("SELECT position, votes FROM poll_tallies").fetchall() == [(1, 0), (2, 0)]
    assert db.execute("SELECT * FROM survey_respondents").fetchall() == []
    assert db.execute("SELECT * FROM survey_waiting").fetchall() == []
    assert db.execute("SELECT position, value FROM survey_sheets").fetchall() == []
    assert db.execute("SELECT COUNT(*) FROM survey_responses").fetchone() == (0,)
