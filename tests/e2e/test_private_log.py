"""No log line carries the text of a private message or a private problem (issue 20, finding 6):
the real bot's stdout and its log file, captured while a privately raised problem's notice fails
for good, NapCat echoes what the bot sent (``message_sent``), and a private message arrives with
a message id that is not a number."""

from __future__ import annotations

import pytest

from tests.e2e.onebot import SELF_ID, BotProcess, OneBotClient, event_time, message_text

GROUP = 87101
OWNER, COMMITTEE, STUDENT = 63001, 63002, 63003
LIGHT = "我宿舍门锁坏了晚上不敢睡"
ECHO = "机器人私聊发出的通知原文"
ODD_ID = "编号不是数字的私聊原文"
NOTE = "锁芯明天上午换新的"


async def until(qq: OneBotClient, predicate, timeout: float = 15) -> dict:
    while True:
        call = await qq.next_call(timeout)
        if predicate(call):
            return call


@pytest.mark.parametrize("level", ["INFO", "TRACE"])
async def test_private_text_never_reaches_the_log(tmp_path, level):
    bot = BotProcess(tmp_path / "db" / "private.db", tmp_path / "stdout.log", LOG_LEVEL=level,
                     SEND_MAX_RETRIES="0", SEND_INTERVAL_SECONDS="0")
    (tmp_path / "db").mkdir()
    bot.start()
    try:
        async with OneBotClient(bot.port) as qq:
            await qq.set_up_group(GROUP, OWNER)
            for uid, name in ((COMMITTEE, "老张"), (STUDENT, "小明")):
                await qq.reply_to(GROUP, uid, f"/登记 {name} 5楼")
            await qq.reply_to(GROUP, OWNER, f"/成员 设置 {COMMITTEE} 支委", role="owner")

            # every private send fails for good: the 支委's notice of the problem is given up
            qq.failures["send_private_msg"] = 1000
            await qq.private_message(STUDENT, f"/反映 报修 {LIGHT}")
            await until(qq, lambda c: c["action"] == "send_private_msg")

            # NapCat's echo of a private message the bot sent (reportSelfMessage)
            await qq.post({
                "time": event_time(), "self_id": SELF_ID, "post_type": "message_sent",
                "message_type": "private", "sub_type": "friend", "message_id": 880001,
                "user_id": SELF_ID, "target_id": STUDENT, "raw_message": ECHO, "font": 14,
                "message": [{"type": "text", "data": {"text": ECHO}}],
                "sender": {"user_id": SELF_ID, "nickname": "bot"}, "message_format": "array",
            })
            # a private message whose id is not a number (fails to parse)
            await qq.post({
                "time": event_time(), "self_id": SELF_ID, "post_type": "message",
                "message_type": "private", "sub_type": "friend", "message_id": "ab-cd",
                "user_id": STUDENT, "raw_message": f"/反映 {ODD_ID}", "font": 14,
                "message": [{"type": "text", "data": {"text": f"/反映 {ODD_ID}"}}],
                "sender": {"user_id": STUDENT, "nickname": "小明"},
            })
            # a progress note typed in a group is logged without its words
            await qq.group_message(GROUP, COMMITTEE, f"/民情 进展 #1 {NOTE}")
            reply = await until(qq, lambda c: c["action"] == "send_msg"
                                and c["params"].get("group_id") == GROUP)
            assert "私聊" in message_text(reply)
    finally:
        bot.stop()
    logs = {"stdout": bot.log(),
            "zhibu.log": (tmp_path / "db" / "logs" / "zhibu.log").read_text("utf-8")}
    for name, log in logs.items():
        for secret in (LIGHT, ECHO, ODD_ID, NOTE):
            assert secret not in log, (name, secret)
        # the notice that never went is logged by its number and kind, never its text
        assert "(problem_new_private, secret) to private" in log and "undeliverable" in log, name
        assert "[message_sent]" in log, name  # the echo is logged, without its message
        assert "ab-cd" in log, name  # so is the odd message, by its id
        assert "/民情 进展 #1" in log, name
