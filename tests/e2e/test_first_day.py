"""A secretary's first day over the real WebSocket, following README's "first day": a main group
and two floor groups set up in the wrong order lose nothing; floors are one row each; last
term's report is the same after this term's changes (issue 14)."""

import re

from tests.e2e.onebot import OneBotClient, message_text

MAIN, FLOOR3, FLOOR5 = 87001, 87002, 87003
SECRETARY, FLOOR_OWNER, CHEN, LI, WANG, ZHAO = 92001, 92002, 92003, 92004, 92005, 92006


async def say(qq: OneBotClient, group: int, user: int, text: str, role: str = "member",
              seen: list | None = None) -> str:
    """Send ``text``; the bot's reply, with the other calls it made first kept in ``seen``."""
    await qq.group_message(group, user, text, role)
    while True:
        call = await qq.next_call()
        if call["action"] in ("send_msg", "send_group_msg"):
            return message_text(call)
        if seen is not None:
            seen.append(call)


async def test_first_day_in_the_wrong_order_loses_nothing(bot_process, bot_clock):
    async with OneBotClient(bot_process.port) as qq:
        # a floor group's owner made it a branch first, and people registered there
        assert "已创建支部 #1" in await say(qq, FLOOR3, FLOOR_OWNER, "/支部 创建 三楼", "owner")
        assert "3楼 301" in await say(qq, FLOOR3, CHEN, "/登记 陈静 三楼 301室")
        assert "3楼 302" in await say(qq, FLOOR3, LI, "/登记 李明 3F 302")
        assert "心愿 #1" in await say(qq, FLOOR3, LI, "/许愿 借一把伞")
        # then the secretary sets up the main group (step 1 of the first day)
        assert "已创建支部 #2" in await say(qq, MAIN, SECRETARY, "/支部 创建 社区党支部", "owner")
        await say(qq, MAIN, SECRETARY, "/登记 书记 1楼", "owner")
        await say(qq, MAIN, SECRETARY, f"/成员 设置 {SECRETARY} 书记", "owner")
        # step 2: floor groups. 5楼 was never set up; the secretary is an admin there
        assert "本群已并入支部 #2" in await say(qq, FLOOR5, SECRETARY, "/支部 绑定 #2", "admin")
        assert "5楼" in await say(qq, FLOOR5, WANG, "/登记 王芳 5 501")
        # 3楼's owner is an admin of the main group too: the bot asks the QQ side
        qq.results["get_group_member_info"] = {"group_id": MAIN, "user_id": FLOOR_OWNER,
                                               "role": "admin"}
        asked: list = []
        reply = await say(qq, FLOOR3, FLOOR_OWNER, "/支部 绑定 #2", "owner", asked)
        assert "本群已并入支部 #2" in reply and "并入 2 名成员、1 个心愿" in reply
        assert [(c["action"], c["params"]["group_id"]) for c in asked] == [
            ("get_group_member_info", MAIN)]
        # nothing lost: the profiles and the wish are in the main branch now
        assert "陈静（92003）" in await say(qq, FLOOR3, CHEN, "/我的")
        assert "借一把伞" in await say(qq, MAIN, ZHAO, "/心愿")
        # step 3 and 4: 支委, floor leaders; per-floor figures have one row per floor
        await say(qq, MAIN, SECRETARY, f"/成员 设置 {CHEN} 正式党员")
        await say(qq, MAIN, SECRETARY, f"/成员 设置 {CHEN} 组长")
        listing = await say(qq, MAIN, SECRETARY, "/成员 列表")
        assert listing.count("【3楼") == 1 and "【3楼 · 党小组组长 陈静】" in listing
        assert "三楼" not in listing and "3F" not in listing

        qq.results["get_group_info"] = {"member_count": 10}
        report = await say(qq, MAIN, SECRETARY, "/统计")
        assert report.count("3楼：") == 1 and "3楼：成员 2 人" in report
        assert "党小组组长 陈静" in report and "5楼：成员 1 人" in report

        # a new term: last term's report stays as it was after this term's changes. The first
        # term is named from the bot's date when the branch was made (it may be a year ahead).
        first_term = re.search(r"^学期：(\S+)$", report, re.MULTILINE).group(1)
        await say(qq, MAIN, SECRETARY, "/学期 开始 下学期")
        past = await say(qq, MAIN, SECRETARY, f"/统计 {first_term}")
        await say(qq, MAIN, SECRETARY, f"/成员 移除 {LI}")
        await say(qq, MAIN, SECRETARY, f"/成员 设置 {CHEN} 群众")
        await say(qq, MAIN, SECRETARY, "/学期 开始 再下学期")
        assert await say(qq, MAIN, SECRETARY, f"/统计 {first_term}") == past
        assert "成员：4 人" in past
        assert "上学期" in await say(qq, MAIN, SECRETARY, "/统计")
