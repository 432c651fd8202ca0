"""Malformed input over the real WebSocket (issue 20, finding 9): an event with tens of
thousands of segments is dropped before it is parsed, and frames that are not JSON cost a log
line, not the connection."""

from __future__ import annotations

import sqlite3

from tests.e2e.onebot import SELF_ID, OneBotClient, event_time, message_text

GROUP, OTHER_GROUP = 87201, 87202
OWNER, OTHER_OWNER, MEMBER = 64001, 64002, 64003


def huge_event(segments: int, message_id: int) -> dict:
    """A wish whose text is split into ``segments`` segments (each one a character)."""
    message = [{"type": "text", "data": {"text": "/许愿 "}}]
    message += [{"type": "text", "data": {"text": "x"}}] * (segments - 1)
    return {
        "time": event_time(), "self_id": SELF_ID, "post_type": "message",
        "message_type": "group", "sub_type": "normal", "message_id": message_id,
        "group_id": GROUP, "user_id": MEMBER, "anonymous": None, "message": message,
        "raw_message": "/许愿 " + "x" * (segments - 1), "font": 14,
        "sender": {"user_id": MEMBER, "nickname": "m", "card": "", "role": "member"},
    }


def wishes(db_path) -> int:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT COUNT(*) FROM wishes").fetchone()[0]


async def test_huge_events_are_dropped_and_other_groups_keep_being_answered(bot_process):
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        await qq.set_up_group(OTHER_GROUP, OTHER_OWNER, "另一个支部")
        for segments, message_id in ((30_000, 990001), (100_000, 990002)):
            await qq.post(huge_event(segments, message_id))
            # the other group is answered next, over the same connection
            reply = await qq.reply_to(OTHER_GROUP, OTHER_OWNER, "/支部 信息", role="owner")
            assert reply["params"]["group_id"] == OTHER_GROUP
            assert "另一个支部" in message_text(reply)
        # a wish of normal size from the same member still works
        reply = await qq.reply_to(GROUP, MEMBER, "/许愿 帮我取快递")
        assert "心愿 #1 已发布" in message_text(reply)
    assert wishes(bot_process.db_path) == 1
    log = bot_process.log()
    assert "30000 segments (event_max_segments is 300)" in log
    assert "100000 segments (event_max_segments is 300)" in log
    assert "closed by peer" not in log.split("100000 segments")[1].split("帮我取快递")[0]


async def test_frames_that_are_not_json_are_skipped_and_the_connection_stays(bot_process):
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        assert qq.ws is not None
        await qq.ws.send("{this is not json")
        await qq.ws.send(b"\x00\xff\xfe binary garbage")
        await qq.ws.send("[1, 2, 3]")
        await qq.ws.send('{"post_type": "message", "message_type": "group"}')  # no model fits
        reply = await qq.reply_to(GROUP, MEMBER, "/登记 小王 3楼")
        assert "已登记" in message_text(reply)
    log = bot_process.log()
    assert "Ignored a text frame from Bot 3000000001 that is not JSON (17 bytes)" in log
    assert "Ignored a binary frame from Bot 3000000001 that is not JSON (18 bytes)" in log
    assert "Ignored a frame from Bot 3000000001 that is not a JSON object" in log
    assert "Failed to parse event 'message/group'; ignored" in log
    assert "Error while process data" not in log
