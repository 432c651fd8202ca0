"""A session tonight through the real bot.py: private code, check-ins, notes, the sheet."""

import re
import sqlite3
from datetime import timedelta

from tests.e2e.onebot import OneBotClient, message_text

GROUP = 83001
OWNER, LEADER, MEMBER, OTHER = 70001, 70002, 70003, 70004


async def test_session_night_end_to_end(bot_process, bot_clock):
    starts = bot_clock.now() + timedelta(minutes=10)
    when = starts.strftime("%Y-%m-%d %H:%M")
    async with OneBotClient(bot_process.port) as qq:
        # the bot asks for its own role before recalling a code typed in the group (issue 13)
        qq.results["get_group_member_info"] = {"role": "member"}
        qq.quiet.add("get_group_member_info")
        await qq.set_up_group(GROUP, OWNER)
        await qq.reply_to(GROUP, LEADER, "/登记 李导学 3楼 301")
        await qq.reply_to(GROUP, MEMBER, "/登记 王同学 3楼 302")
        await qq.reply_to(GROUP, OTHER, "/登记 赵同学 4楼 401")  # only the registered check in
        await qq.reply_to(GROUP, OWNER, f"/成员 设置 {LEADER} 正式党员", role="owner")
        await qq.reply_to(GROUP, OWNER, f"/成员 设置 {MEMBER} 预备党员", role="owner")

        await qq.group_message(GROUP, OWNER, [
            {"type": "text", "data": {"text": f"/导学 发起 党章学习 {when} 60 "}},
            {"type": "at", "data": {"qq": str(LEADER)}},
        ], role="owner")
        private = [await qq.next_call(), await qq.next_call()]
        reply = await qq.next_call()
        assert [c["action"] for c in private] == ["send_private_msg", "send_private_msg"]
        assert {c["params"]["user_id"] for c in private} == {LEADER, OWNER}
        assert all("group_id" not in c["params"] for c in private)  # a secret: never via a group
        assert "/zhibu/screen/" in message_text(private[0])  # codes rotate: the screen link
        await qq.private_message(OWNER, "/导学 签到码 #1")  # the creator reads the current code
        code = re.search(r"签到码：(\d{4})", message_text(await qq.next_call())).group(1)
        assert reply["action"] == "send_msg" and reply["params"]["group_id"] == GROUP
        assert "已私聊发给导学人和发起人" in message_text(reply)
        assert code not in message_text(reply)

        wrong = "0000" if code != "0000" else "1111"
        call = await qq.reply_to(GROUP, MEMBER, f"/签到 {wrong}")
        assert "签到码不对，还可以再试 4 次" in message_text(call)
        call = await qq.reply_to(GROUP, MEMBER, f"/签到 {code}")
        assert "签到成功：导学 #1" in message_text(call)
        call = await qq.reply_to(GROUP, MEMBER, f"/签到 {code}")
        assert "不重复计分" in message_text(call)
        call = await qq.reply_to(GROUP, OTHER, f"/签到 {code}")
        assert "签到成功" in message_text(call)

        note = "学习党章第一章总纲，理解了党的性质和宗旨，要在宿舍和楼层里发挥先锋模范作用。"
        call = await qq.reply_to(GROUP, MEMBER, f"/笔记 {note}")
        assert "已收到导学 #1" in message_text(call) and "互动 +3 分" in message_text(call)
        call = await qq.reply_to(GROUP, MEMBER, f"/笔记 {note}")
        assert "已经提交过" in message_text(call)

        await qq.private_message(LEADER, "/导学 签到表 #1")
        call = await qq.next_call()
        assert call["action"] == "send_msg" and call["params"]["user_id"] == LEADER
        sheet = message_text(call)
        assert "签到 2 人" in sheet and "王同学" in sheet and "李导学（70002）" in sheet
        assert "出勤率 50%" in sheet  # eligible: leader and member; only the member came

    db = sqlite3.connect(bot_process.db_path)
    assert db.execute("SELECT user_id, method FROM checkins ORDER BY user_id").fetchall() == [
        (MEMBER, "code"), (OTHER, "code")]
    assert db.execute("SELECT user_id, category, delta FROM ledger ORDER BY id").fetchall() == [
        (MEMBER, "出勤", 2), (OTHER, "出勤", 2), (MEMBER, "互动", 3)]
