"""The wish loop through the real bot.py over OneBot v11 reverse WebSocket."""

import sqlite3

import pytest
from websockets.exceptions import InvalidStatus

from tests.e2e.onebot import OneBotClient, message_text, segment_types

GROUP = 80001
WISHER, HELPER, OWNER = 50001, 50002, 50003


def sends_to_group(call: dict, group_id: int) -> bool:
    params = call["params"]
    return call["action"] in ("send_msg", "send_group_msg") and params["group_id"] == group_id


async def test_whole_wish_loop_over_websocket(bot_process):
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        call = await qq.reply_to(GROUP, HELPER, "/登记 小李 3楼 301")
        assert sends_to_group(call, GROUP) and "已登记：小李" in message_text(call)
        call = await qq.reply_to(GROUP, OWNER, "/成员 设置 50002 正式党员", role="owner")
        assert "正式党员" in message_text(call)
        call = await qq.reply_to(GROUP, WISHER, "/许愿 帮我取快递")
        assert "心愿 #1 已发布" in message_text(call)
        call = await qq.reply_to(GROUP, HELPER, "/心愿 认领 #1")
        assert "认领成功" in message_text(call)
        await qq.group_message(GROUP, HELPER, "/心愿 完成 #1")
        # the reply, and the wisher's @-mention queued with the change (in either order)
        calls = sorted([await qq.next_call(), await qq.next_call()], key=lambda c: c["action"])
        assert [c["action"] for c in calls] == ["send_group_msg", "send_msg"]
        mention, reply = calls
        assert "已标记心愿 #1 完成服务" in message_text(reply)
        assert segment_types(mention)[0] == "at" and sends_to_group(mention, GROUP)
        assert mention["params"]["message"][0]["data"]["qq"] == str(WISHER)
        call = await qq.reply_to(GROUP, WISHER, "/心愿 评价 #1 5")
        assert "获得 7 积分" in message_text(call)
        call = await qq.reply_to(GROUP, HELPER, "/积分")
        assert "积分：7" in message_text(call) and "服务 7" in message_text(call)

    rows = sqlite3.connect(bot_process.db_path).execute(
        "SELECT user_id, category, delta, ref FROM ledger ORDER BY id").fetchall()
    assert rows == [(HELPER, "服务", 5, "wish:1:done"), (HELPER, "服务", 2, "wish:1:rating5")]


@pytest.mark.parametrize("as_string", [False, True])
async def test_cq_code_in_wish_text_comes_back_literally(bot_process, as_string):
    typed = "/许愿 [CQ:at,qq=all] 请大家帮忙"
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        if as_string:
            # string-format implementations escape user-typed brackets
            await qq.post_raw_string(GROUP, WISHER, typed)
        else:
            await qq.group_message(GROUP, WISHER, typed)
        call = await qq.next_call()
    assert segment_types(call) == ["text"]
    assert "[CQ:at,qq=all] 请大家帮忙" in message_text(call)


async def test_wrong_token_is_refused(bot_process):
    with pytest.raises(InvalidStatus):
        async with OneBotClient(bot_process.port, token="wrong"):
            pass


async def test_hostile_numbers_are_answered_not_crashed(bot_process):
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        call = await qq.reply_to(GROUP, WISHER, "/心愿 详情 #999999999")
        assert "没有找到心愿" in message_text(call)
        call = await qq.reply_to(GROUP, WISHER, "/心愿 详情 #99999999999999999999999")
        assert "用法：/心愿 详情 <编号>" in message_text(call)
