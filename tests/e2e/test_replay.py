"""Re-delivered events after a kill -9 and a restart, and one group message delivered by two of
the bot's QQ accounts, over the real WebSocket (issue 20, finding 5)."""

import asyncio
import sqlite3

from tests.e2e.onebot import SELF_ID, OneBotClient, event_time, message_text

GROUP = 86501
OWNER, MEMBER = 61501, 61502
SECOND_ACCOUNT = SELF_ID + 1


def group_event(self_id: int, message_id: int, when: int, text: str,
                user_id: int = OWNER, role: str = "owner") -> dict:
    return {
        "time": when, "self_id": self_id, "post_type": "message", "message_type": "group",
        "sub_type": "normal", "message_id": message_id, "group_id": GROUP, "user_id": user_id,
        "message": [{"type": "text", "data": {"text": text}}], "raw_message": text, "font": 14,
        "sender": {"user_id": user_id, "nickname": "x", "card": "", "role": role},
    }


async def keys_written(db_path, count: int, timeout: float = 10) -> None:
    """Wait until ``count`` events are recorded as acted on in the database."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with sqlite3.connect(db_path) as db:
            if db.execute("SELECT COUNT(*) FROM seen_events").fetchone()[0] >= count:
                return
        assert loop.time() < deadline, "the event's key was never written"
        await asyncio.sleep(0.05)


def ledger_rows(db_path) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT user_id, delta, reason FROM ledger ORDER BY id").fetchall()


async def test_an_event_redelivered_after_kill_and_restart_is_not_acted_on_again(bot_process):
    adjust = group_event(SELF_ID, 990001, event_time(), f"/积分 调整 {MEMBER} +7 r")
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        await qq.post(adjust)
        assert "记 +7 分" in message_text(await qq.next_call())
    bot_process.proc.kill()  # kill -9: no shutdown hook runs
    bot_process.proc.wait()
    bot_process.start()
    async with OneBotClient(bot_process.port) as qq:
        await qq.post(adjust)  # the QQ side re-delivers it: same message id, same time
        await qq.post({**adjust, "message_id": 990002})  # and under a new id
        replies = await qq.until_quiet(2)
        # a later, new command still works
        call = await qq.reply_to(GROUP, OWNER, f"/积分 {MEMBER}", role="owner")
        assert "：7（" in message_text(call)
    assert replies == []
    assert ledger_rows(bot_process.db_path) == [(MEMBER, 7, "r")]


async def test_a_read_only_command_redelivered_after_restart_is_not_answered_twice(bot_process):
    ask = group_event(SELF_ID, 990101, event_time(), "/积分", user_id=MEMBER, role="member")
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        await qq.post(ask)
        assert "积分" in message_text(await qq.next_call())
        await keys_written(bot_process.db_path, 2)  # /支部 创建 and /积分: the key of a
        # command that wrote nothing is written just after its reply
    bot_process.proc.kill()
    bot_process.proc.wait()
    bot_process.start()
    async with OneBotClient(bot_process.port) as qq:
        await qq.post(ask)
        assert await qq.until_quiet(2) == []


async def test_a_group_message_seen_by_two_accounts_runs_once(bot_process):
    async with OneBotClient(bot_process.port) as first, \
            OneBotClient(bot_process.port, self_id=SECOND_ACCOUNT) as second:
        await first.set_up_group(GROUP, OWNER)
        when = event_time()
        text = f"/积分 调整 {MEMBER} +5 两个号都收到"
        # each account delivers the message under its own self_id and message id
        await asyncio.gather(first.post(group_event(SELF_ID, 990201, when, text)),
                             second.post(group_event(SECOND_ACCOUNT, 880201, when, text)))
        answered = await first.until_quiet() + await second.until_quiet(0.5)
        # the same person typing the same thing again a second later is a new message
        await first.post(group_event(SELF_ID, 990202, when + 1, text))
        again = await first.until_quiet() + await second.until_quiet(0.5)
    assert ["记 +5 分" in message_text(c) for c in answered] == [True]
    assert ["记 +5 分" in message_text(c) for c in again] == [True]
    assert ledger_rows(bot_process.db_path) == [(MEMBER, 5, "两个号都收到")] * 2
