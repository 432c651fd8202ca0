"""A word of invisible characters still counts as a word (issue 20, finding 11), over the real
WebSocket: ``/登记 <零宽字符> 3楼`` used to register the name "3楼"."""

from __future__ import annotations

import sqlite3

from tests.e2e.onebot import OneBotClient, message_text

GROUP, OWNER, MEMBER = 87301, 65001, 65002


async def test_an_invisible_name_is_an_empty_name_not_the_next_word(bot_process):
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        reply = await qq.reply_to(GROUP, MEMBER, "/登记 \u200b\u200b\u2060 3楼")
        assert message_text(reply) == "姓名不能为空。"
        reply = await qq.reply_to(GROUP, MEMBER, "/登记 \u202e\u200d 3楼 301")
        assert message_text(reply) == "姓名不能为空。"
        reply = await qq.reply_to(GROUP, MEMBER, "/许愿 \u200b")  # nothing visible at all
        assert message_text(reply).startswith("用法：/许愿")
        # visible words keep their places; invisible characters inside a word are dropped
        reply = await qq.reply_to(GROUP, MEMBER, "/登记 小\u200b王 3楼 301")
        assert message_text(reply) == "已登记：小王（3楼 301），身份：群众。"
    with sqlite3.connect(bot_process.db_path) as db:
        assert db.execute("SELECT name, floor FROM members").fetchall() == [("小王", "3楼")]
