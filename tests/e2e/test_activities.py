"""A 微分享 night and a 支部党员大会 over the real WebSocket, members spread over three groups."""

import io
import re
import sqlite3
from datetime import datetime, timedelta

from openpyxl import load_workbook

from tests.e2e.onebot import OneBotClient, advance, calls_until, group_file, message_text

MAIN, FLOOR3, FLOOR5 = 87001, 87002, 87003
SECRETARY = 62001
PARTY = [62011, 62012, 62013]  # 预备党员: two ask for leave, one comes
STUDENTS = [7_000_000 + i for i in range(260)]


def periods(since: datetime, until: datetime, months: int) -> int:
    """Calendar months (1) or quarters (3) overlapping [since, until]: how many 三会一课
    periods the report counts as due (按时召开 …/N)."""
    first = (since.year * 12 + since.month - 1) // months
    last = (until.year * 12 + until.month - 1) // months
    return last - first + 1


async def test_sharing_with_waitlist_and_a_meeting_with_leave(fast_bot, bot_clock):
    starts = bot_clock.now() + timedelta(minutes=20)
    when = starts.strftime("%Y-%m-%d %H:%M")
    async with OneBotClient(fast_bot.port) as qq:
        await qq.set_up_group(MAIN, SECRETARY)
        term_began = bot_clock.now()  # the branch's first term starts with it
        await qq.reply_to(MAIN, SECRETARY, "/登记 王书记", role="owner")
        await qq.reply_to(MAIN, SECRETARY, f"/成员 设置 {SECRETARY} 书记", role="owner")
        for group in (FLOOR3, FLOOR5):
            call = await qq.reply_to(group, SECRETARY, "/支部 绑定 #1", role="owner")
            assert "本群已并入支部 #1" in message_text(call)
        for i, uid in enumerate(PARTY):
            await qq.reply_to(MAIN, uid, f"/登记 党员{i}")
            await qq.reply_to(MAIN, SECRETARY, f"/成员 设置 {uid} 预备党员")

        await qq.group_message(MAIN, SECRETARY, f"/活动 发起 微分享 考研经验 {when} 60 名额 200")
        private, reply = await qq.next_call(), await qq.next_call()
        assert private["action"] == "send_private_msg"  # the code goes to the organiser only
        assert "已发起微分享 #1" in message_text(reply)

        groups = (MAIN, FLOOR3, FLOOR5)
        for i, uid in enumerate(STUDENTS):
            await qq.group_message(groups[i % 3], uid, "/报名 #1")
        replies = await calls_until(qq, lambda c: len(c) == len(STUDENTS))
        texts = [message_text(c) for c in replies]
        assert sum("报名成功" in t for t in texts) == 200
        positions = sorted(int(re.search(r"候补第 (\d+) 位", t).group(1))
                           for t in texts if "候补第" in t)
        assert positions == list(range(1, 61))
        first_waiting = [c["params"]["user_id"] for c in replies
                         if "候补第 1 位" in message_text(c)]

        confirmed = [c["params"]["user_id"] for c in replies if "报名成功" in message_text(c)]
        for uid in confirmed[:10]:
            await qq.group_message(MAIN, uid, "/报名 取消 #1")
        # each is answered, and the ten first on the waitlist are told privately, in order
        told = await calls_until(qq, lambda c: sum(
            "已取消微分享 #1的报名" in message_text(x) or "候补转为" in message_text(x)
            for x in c) == 20)
        promotions = [c for c in told if "候补转为" in message_text(c)]
        assert all(c["action"] == "send_private_msg" for c in promotions)
        promoted = [c["params"]["user_id"] for c in promotions]
        assert promoted[0] == first_waiting[0] and len(set(promoted)) == 10

        # the last of the 60 on the waitlist (sign-ups are handled concurrently: whoever was
        # told 候补第 60 位), ten places later
        last = next(c["params"]["user_id"] for c in replies if "候补第 60 位" in message_text(c))
        call = await qq.reply_to(MAIN, last, "/报名 我的")
        assert "候补第 50 位" in message_text(call)

        await qq.group_message(MAIN, SECRETARY, f"/活动 发起 支部党员大会 年度大会 {when} 60 无码")
        reply = await qq.next_call()
        assert "已发起支部党员大会 #2" in message_text(reply)
        for uid in PARTY[:2]:
            call = await qq.reply_to(MAIN, uid, "/请假 #2 实习在外地")
            assert "已记录你对支部党员大会 #2" in message_text(call)

        # on the night: the organiser reads the code out; it checks a student in
        await qq.private_message(SECRETARY, "/导学 签到码 #1")
        code = re.search(r"签到码[^\d]{0,8}(\d{4})", message_text(await qq.next_call())).group(1)
        await qq.reply_to(FLOOR3, confirmed[20], "/登记 小陈 3楼 302")  # check-in needs a profile
        await qq.private_message(confirmed[20], f"/签到 {code}")  # privately, as recommended
        call = await qq.next_call()
        assert "签到成功：微分享 #1「考研经验」" in message_text(call)
        call = await qq.reply_to(MAIN, PARTY[2], "/签到")  # the meeting needs no code
        assert "签到成功：支部党员大会 #2" in message_text(call)

        await qq.group_message(MAIN, SECRETARY, "/活动 名单 #2")
        roster, answer = await calls_until(qq, lambda c: len(c) == 2)
        assert roster["action"] == "send_private_msg"
        assert "应到 3 人：出席 1、补签 0、请假 2、未签到 0" in message_text(roster)
        assert "党员0" not in message_text(answer)  # names only in private

        # the night ends: move the bot's clock past both activities, then the report
        until = (starts + timedelta(hours=2)).timestamp()  # = night_ended below
        await advance(fast_bot.port, until)
        qq.results["get_group_info"] = {"member_count": 300}
        await qq.group_message(MAIN, SECRETARY, "/统计")
        calls = await calls_until(qq, lambda c: any("📊" in message_text(x) for x in c
                                                      if x["action"] == "send_msg"))
        report = "\n".join(message_text(c) for c in calls
                           if c["action"] == "send_msg" and c["params"].get("group_id") == MAIN)
        # hand count: 微分享 #1: 250 sign-ups standing (50 waiting), 200 confirmed of whom one
        # came (199 no-shows), and the organiser, who asked for the code at the door (counted
        # present, a walk-in here): 2 check-ins by 2 people, 1/200 of those expected.
        assert ("活动·微分享：举办 1 场，报名 250 人次（候补 50），报名未到率 99.5%，"
                "参与 2 人次（2 人），平均出勤率 0.5%") in report
        # 支部党员大会 #2: 3 party members expected, 2 on leave, 1 came; its organiser (the
        # secretary, not a party member here, so a walk-in) is counted present when check-in
        # closes, as no admin marked them absent: 2 check-ins. Its quarter is covered.
        # The periods due are those the term overlaps up to the bot's now (two when the night
        # crosses New Year's Eve)
        night_ended = starts + timedelta(hours=2)
        quarters = periods(term_began, night_ended, 3)
        assert ("活动·支部党员大会：举办 1 场，参与 2 人次（2 人），平均出勤率 33.3%，"
                f"按时召开 1/{quarters} 个季度") in report
        assert "活动·支委会：举办 0 场" in report
        assert f"按时召开 0/{periods(term_began, night_ended, 1)} 个月" in report

        await qq.group_message(MAIN, SECRETARY, "/统计 导出")
        calls = await calls_until(qq, lambda c: any(
            x["action"] == "send_msg" and "已上传群文件" in message_text(x) for x in c))
        uploads = [c for c in calls if c["action"] == "upload_group_file"]
        book = load_workbook(io.BytesIO(group_file(qq, MAIN, uploads)))
    sheet = {row[0]: row for row in book["活动"].iter_rows(min_row=2, values_only=True)}
    assert sheet[1][7:10] == (200, 50, 199) and sheet[2][10:15] == (3, 1, 0, 2, 0)
    states = [row[5:7] for row in book["出勤"].iter_rows(min_row=2, values_only=True)
              if row[0] == 2]
    assert sorted(states) == [("出席", None), ("现场参加", "负责人"), ("请假", None),
                              ("请假", None)]

    with sqlite3.connect(fast_bot.db_path) as db:
        counts = dict(db.execute("SELECT status, COUNT(*) FROM signups WHERE session_id = 1 "
                                 "GROUP BY status").fetchall())
    assert counts == {"confirmed": 200, "waitlist": 50, "cancelled": 10}
