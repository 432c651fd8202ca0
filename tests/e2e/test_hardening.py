"""Duplicates and floods over the real WebSocket, as a QQ side re-delivering on reconnect."""

import sqlite3
import time

from tests.e2e.onebot import OneBotClient, event_time, message_text

GROUP = 86001
OWNER, MEMBER, FLOODER = 61001, 61002, 61003


def wish_event(user_id: int, message_id: int, when: int, text: str) -> dict:
    return {
        "time": when, "self_id": 3000000001, "post_type": "message", "message_type": "group",
        "sub_type": "normal", "message_id": message_id, "group_id": GROUP, "user_id": user_id,
        "message": [{"type": "text", "data": {"text": text}}], "raw_message": text, "font": 14,
        "sender": {"user_id": user_id, "nickname": "x", "card": "", "role": "member"},
    }


async def test_redelivered_events_are_acted_on_once(bot_process):
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        event = wish_event(MEMBER, 555001, event_time(), "/许愿 帮我取快递")
        for _ in range(3):  # NapCat re-delivering after a reconnect, same message id
            await qq.post(event)
        await qq.post({**event, "message_id": 555002})  # and once under a new id
        calls = await qq.until_quiet()
    assert [message_text(c) for c in calls] == ["心愿 #1 已发布：帮我取快递\n"
                                                "符合条件的同学可发送 /心愿 认领 #1 认领。"]
    with sqlite3.connect(bot_process.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM wishes").fetchone()[0] == 1


async def test_a_flood_from_one_member_neither_floods_the_group_nor_delays_others(bot_process):
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        for i in range(300):
            await qq.group_message(GROUP, FLOODER, f"/心愿 {i % 3 + 1}")
        started = time.perf_counter()
        await qq.group_message(GROUP, MEMBER, "/积分")
        answered_after = None
        calls = []
        while True:
            try:
                call = await qq.next_call(timeout=2)
            except TimeoutError:
                break
            calls.append(call)
            if call["params"].get("user_id") == MEMBER and answered_after is None:
                answered_after = time.perf_counter() - started
    to_flooder = [c for c in calls if c["params"].get("user_id") == FLOODER]
    # the allowance (20), one "太快了", then silence for the other 279
    assert len(to_flooder) == 21
    assert sum("太快了" in message_text(c) for c in to_flooder) == 1
    # answered (how fast is measured by bench/flood_probe.py, not asserted here)
    assert answered_after is not None
