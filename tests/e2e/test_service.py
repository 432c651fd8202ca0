"""Service over the real WebSocket (issue 25): one term of posts, a responsibility area, eight
tasks, wishes and 民情, with /统计 and the 服务 sheet against a hand count; the term frozen when
the next one starts; and a wish among 20 members with skills reaching the three it suits."""

import io
from datetime import timedelta

from openpyxl import load_workbook

from tests.e2e.onebot import TOKEN, OneBotClient, group_file, message_text
from tools.playground import ClockApi

MAIN = 88001
SECRETARY = 63001
A, B, C, D, L = 63011, 63012, 63013, 63014, 63015  # the eligible members
W, S = 63021, 63022  # students: W lives in 305, inside A's area
LAST_ROW = "问卷满意度"  # the report's last row: every page has arrived


class Chat:
    """Says things as people and reads the bot's reply to each; everything else the bot sends
    meanwhile (private notices, group posts) is kept in ``notices``."""

    def __init__(self, qq: OneBotClient) -> None:
        self.qq = qq
        self.notices: list[dict] = []

    async def say(self, user: int, text: str, role: str = "member") -> str:
        await self.qq.group_message(MAIN, user, text, role)
        while True:
            call = await self.qq.next_call(timeout=20)
            if call["action"] == "send_msg":
                return message_text(call)
            self.notices.append(call)

    async def report(self, user: int, text: str = "/统计") -> str:
        """The pages of a report, up to its last row."""
        pages = [await self.say(user, text)]
        while LAST_ROW not in pages[-1]:
            call = await self.qq.next_call(timeout=20)
            if call["action"] == "send_msg":
                pages.append(message_text(call))
            else:
                self.notices.append(call)
        return "\n".join(pages)

    async def wait_for(self, done, timeout: float = 20) -> None:
        while not done():
            self.notices.append(await self.qq.next_call(timeout=timeout))

    def private(self, user: int, kind_text: str = "") -> list[str]:
        return [message_text(c) for c in self.notices if c["action"] == "send_private_msg"
                and c["params"]["user_id"] == user and kind_text in message_text(c)]

    async def upload(self, user: int, text: str) -> bytes:
        """The file a command uploads to the group (its reply read too)."""
        await self.qq.group_message(MAIN, user, text)
        uploads = []
        while True:
            call = await self.qq.next_call(timeout=30)
            if call["action"] == "upload_group_file":
                uploads.append(call)
            elif call["action"] == "send_msg":
                assert uploads and "已上传群文件" in message_text(call), call
                return group_file(self.qq, MAIN, uploads)  # what landed in the group's files
            else:
                self.notices.append(call)


async def advance(port: int, until: float) -> None:
    clock = ClockApi(port, TOKEN)
    while not (await clock.advance(until)).get("done"):
        pass


async def test_a_term_of_service_with_posts_tasks_wishes_and_problems(fast_bot, bot_clock):
    start = bot_clock.now()
    async with OneBotClient(fast_bot.port) as qq:
        qq.quiet |= {"get_group_info", "get_group_member_info"}
        qq.results["get_group_info"] = {"member_count": 40}
        chat = Chat(qq)
        assert "已创建支部" in await chat.say(SECRETARY, "/支部 创建 社区第一党支部", "owner")
        people = ((SECRETARY, "王书记", "1楼 101"), (A, "区长", "3楼 301"),
                  (B, "先锋乙", "3楼 308"), (C, "观察丙", "4楼 401"),
                  (D, "先锋丁", "4楼 402"), (L, "组长", "3楼 310"),
                  (W, "住305", "3楼 305"), (S, "住405", "4楼 405"))
        for uid, name, where in people:
            assert "已登记" in await chat.say(uid, f"/登记 {name} {where}")
        admin = "owner"
        await chat.say(SECRETARY, f"/成员 设置 {SECRETARY} 书记", admin)
        for uid, identity in ((A, "正式"), (B, "预备"), (C, "积极分子"), (D, "正式"), (L, "正式")):
            assert "现在是" in await chat.say(SECRETARY, f"/成员 设置 {uid} {identity}", admin)
        assert "3楼党小组组长" in await chat.say(SECRETARY, f"/成员 设置 {L} 组长", admin)

        # 3 posts and a responsibility area
        for uid, post in ((B, "先锋岗 学习先锋"), (D, "先锋岗 服务先锋"), (C, "观察员"),
                          (A, "责任区 3楼 301–310")):
            assert "已设置" in await chat.say(SECRETARY, f"/岗位 设置 {uid} {post}")
        listed = await chat.say(W, "/岗位")
        assert "区长：3楼 301–310" in listed and "先锋乙：学习先锋" in listed

        # a wish from 305 reaches the area's member privately; A serves it
        assert "心愿 #1 已发布" in await chat.say(W, "/许愿 求借一个台灯")
        await chat.wait_for(lambda: chat.private(A, "你的责任区"))
        assert "有新心愿：#1 求借一个台灯" in chat.private(A, "你的责任区")[0]
        for uid, text in ((A, "/心愿 认领 #1"), (A, "/心愿 完成 #1"), (W, "/心愿 评价 #1 5")):
            await chat.say(uid, text)
        assert "心愿 #2 已发布" in await chat.say(S, "/许愿 帮我取个快递")  # 405: no area
        for uid, text in ((D, "/心愿 认领 #2"), (D, "/心愿 完成 #2"), (S, "/心愿 评价 #2 4")):
            await chat.say(uid, text)

        # 民情: one handled by C, one by L (the second is from 305: A hears of it)
        await chat.say(S, "/反映 报修 走廊灯坏了")
        await chat.say(W, "/反映 报修 水龙头漏水")
        for n, handler, reporter in ((1, C, S), (2, L, W)):
            assert "已受理" in await chat.say(SECRETARY, f"/民情 受理 #{n} {handler}")
            await chat.say(handler, f"/民情 解决 #{n} 修好了")
            assert "已办结" in await chat.say(reporter, f"/民情 确认 #{n} 5")
        await chat.wait_for(lambda: chat.private(A, "民情 #2"))
        assert "水龙头漏水" in chat.private(A, "民情 #2")[0]

        # eight tasks
        when = (start + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
        due6 = (start + timedelta(hours=30)).strftime("%Y-%m-%d %H:%M")
        published = [
            f"/任务 发布 整理党员活动室 {when} {B} 3",  # T1: one person, a deadline
            f"/任务 发布 更新宣传栏 {D} 2",  # T2: returned once, redone
            "/任务 发布 宿舍文化建设 楼层:3楼",  # T3: A, B, L
            "/任务 发布 学习强国打卡 岗位:先锋岗 2",  # T4: B, D
            "/任务 发布 搬运图书",  # T5: open to claim (C takes it)
            f"/任务 发布 整理服务台账 截止 {due6} {C}",  # T6: left undone: overdue
            "/任务 发布 社区大扫除 全体",  # T7: A, B, C, D, L (only A finishes)
            f"/任务 发布 楼层巡查 {L}",  # T8: reported, never confirmed
        ]
        for n, text in enumerate(published, start=1):
            assert f"已发布任务 #{n}" in await chat.say(SECRETARY, text)
        steps = [
            (B, "/任务 完成 #1 摆放整齐"), (SECRETARY, "/任务 确认 #1"),
            (D, "/任务 完成 #2 换了海报"), (SECRETARY, "/任务 退回 #2 照片不清楚"),
            (D, "/任务 完成 #2 重新拍照"), (SECRETARY, "/任务 确认 #2"),
            (A, "/任务 完成 #3 贴了标语"), (B, "/任务 完成 #3 布置书架"),
            (L, "/任务 完成 #3 整理走廊"), (L, "/任务 确认 #3"), (SECRETARY, "/任务 确认 #3"),
            (B, "/任务 完成 #4 已打卡"), (D, "/任务 完成 #4 已打卡"), (SECRETARY, "/任务 确认 #4"),
            (C, "/任务 认领 #5"), (C, "/任务 完成 #5 搬完了"), (SECRETARY, "/任务 确认 #5"),
            (A, "/任务 完成 #7 打扫了楼道"), (SECRETARY, f"/任务 确认 #7 {A}"),
            (L, "/任务 完成 #8 巡查完毕"),
        ]
        replies = [await chat.say(uid, text) for uid, text in steps]
        assert "已确认任务 #3：区长 +3 分、先锋乙 +3 分" in replies[9]  # the 组长: not himself
        assert "已确认任务 #3：组长 +3 分" in replies[10]
        assert "已确认任务 #2：先锋丁 +2 分" in replies[5]
        await chat.wait_for(lambda: chat.private(D, "被退回：照片不清楚"))  # queued: its turn
        detail = await chat.say(W, "/任务 详情 #2")
        assert "先锋丁 已确认：重新拍照（退回 1 次：照片不清楚）" in detail

        # the bot's clock moves past T6's deadline: the reminder, then the overdue notice
        deadline = (start + timedelta(hours=30)).replace(second=0, microsecond=0)
        await advance(fast_bot.port, (deadline + timedelta(minutes=10)).timestamp())
        await chat.wait_for(lambda: chat.private(C, "已逾期"))
        reminders = chat.private(C, "任务提醒：#6")
        assert len(reminders) == 1 and f"将于 {deadline:%m-%d %H:%M} 截止" in reminders[0]
        assert "任务 #6「整理服务台账」已于" in chat.private(C, "已逾期")[0]
        assert not chat.private(B, "任务提醒")  # T1 was done before its reminder was due
        board = await chat.say(SECRETARY, "/任务 清单")
        assert "进行中 3 个，其中逾期 1 个" in board and "#6 整理服务台账" in board
        assert "（逾期）" in board.split("#6")[1].split("\n")[0]

        report = await chat.report(SECRETARY)
        # hand count, service_standard 3, one point of service per confirmed task, wish
        # helped and problem handled:
        #   A: T3, T7 + wish #1 = 3 ✓   B: T1, T3, T4 = 3 ✓   C: T5 + 民情 #1 = 2
        #   D: T2, T4 + wish #2 = 3 ✓   L: T3 + 民情 #2 = 2 (T8 reported, not confirmed)
        # 3楼: A ✓, B ✓, L → 2/3; 4楼: C, D ✓ → 1/2. Tasks: 8 published, assignments
        # 1+1+3+2+1+1+5+1 = 15, confirmed 1+1+3+2+1+1 = 9; overdue: T6.
        expected = [
            "党员服务达标率：60.0%（3/5 人服务达到 3）",
            "3楼服务达标率：66.7%（2/3 人）",
            "4楼服务达标率：50.0%（1/2 人）",
            "服务来源：任务 9 次，心愿 2 次，民情 2 次（加权合计 13）",
            "岗位：先锋岗 2 人（服务达标 2），责任区 1 人（服务达标 1），观察员 1 人（服务达标 0）",
            "任务发布：8 个（指派 15 人次）",
            "任务完成率：60.0%（9/15 人次已确认）",
            "任务逾期：1 个",
            "匹配认领占比：0.0%（0/2 个被认领的心愿由收到匹配通知的成员认领）",
        ]
        lines = report.split("\n")
        for line in expected:
            assert line in lines, line

        book = load_workbook(io.BytesIO(await chat.upload(SECRETARY, "/统计 导出")))
        service = {row[0]: row[6:11] for row in book["服务"].iter_rows(min_row=2,
                                                                     values_only=True)}
        assert service == {
            SECRETARY: (0, 0, 0, 0, "—"), A: (2, 1, 0, 3, "是"), B: (3, 0, 0, 3, "是"),
            C: (1, 0, 1, 2, "否"), D: (2, 1, 0, 3, "是"), L: (1, 0, 1, 2, "否"),
            W: (0, 0, 0, 0, "—"), S: (0, 0, 0, 0, "—")}
        tasks = list(book["任务"].iter_rows(min_row=2, values_only=True))
        assert len(tasks) == 15 and sum(r[9] == "已确认" for r in tasks) == 9
        assert [r[16] for r in tasks if r[0] == 6] == ["是"]  # T6 overdue

        # the term ends; posts change; the past term keeps its posts and its 服务达标率
        assert "第二学期" in await chat.say(SECRETARY, "/学期 开始 第二学期")
        await chat.say(SECRETARY, f"/岗位 取消 {B}")
        await chat.say(SECRETARY, f"/岗位 设置 {L} 先锋岗 新先锋")
        await chat.say(SECRETARY, f"/岗位 设置 {A} 责任区 3楼 301-305")
        past = (await chat.report(SECRETARY, "/统计 #1")).split("\n")
        for line in expected[:5]:
            assert line in past, line
        now = (await chat.report(SECRETARY)).split("\n")
        assert "党员服务达标率：0.0%（0/5 人服务达到 3）；上学期 60.0%，↓60.0 个百分点" in now
        assert "3楼服务达标率：0.0%（0/3 人）；上学期 66.7%，↓66.7 个百分点" in now
        assert ("岗位：先锋岗 2 人（服务达标 0），责任区 1 人（服务达标 0），"
                "观察员 1 人（服务达标 0）") in now


MEMBERS = [64000 + i for i in range(1, 21)]


async def test_a_wish_reaches_the_three_members_it_suits(fast_bot, bot_clock):
    """20 members with skills; 求高数辅导 notifies the best three with 高数: never the wisher,
    someone at the claim limit, someone who turned matching off or someone who may not
    claim; then one of them claims it and the report counts it."""
    m = dict(enumerate(MEMBERS, start=1))
    tags = {1: "高数", 2: "高数 辅导", 3: "高数 辅导", 4: "高数 辅导", 5: "高数", 6: "高数",
            7: "高数", 8: "高数", 9: "英语", 10: "电脑维修", 11: "搬运", 12: "党史",
            13: "英语 党史", 14: "摄影", 15: "编程", 16: "篮球", 17: "书法", 18: "吉他",
            19: "线代", 20: "跑腿"}
    floors = {4: "5楼", 6: "4楼", 7: "4楼"}  # the rest live on 3楼, as the wisher (1) does
    async with OneBotClient(fast_bot.port) as qq:
        qq.quiet |= {"get_group_info", "get_group_member_info"}
        qq.results["get_group_info"] = {"member_count": 30}
        chat = Chat(qq)
        await chat.say(SECRETARY, "/支部 创建 社区第一党支部", "owner")
        await chat.say(SECRETARY, "/登记 王书记")
        await chat.say(SECRETARY, f"/成员 设置 {SECRETARY} 书记", "owner")
        for i, uid in m.items():
            await chat.say(uid, f"/登记 成员{i} {floors.get(i, '3楼')} {300 + i}")
            identity = "群众" if i in (8, 20) else "正式"  # 8 may not claim; 20 posts wishes
            await chat.say(SECRETARY, f"/成员 设置 {uid} {identity}", "owner")
            assert "已更新你的特长" in await chat.say(uid, f"/成员 特长 {tags[i]}")
        assert "已关闭你的心愿匹配通知" in await chat.say(m[3], "/成员 特长 关闭")
        for n in range(1, 5):  # 2 reaches the claim limit (3); 7 holds one open claim
            await chat.say(m[20], f"/许愿 帮我取个快递{n}")
            await chat.say(m[2] if n < 4 else m[7], f"/心愿 认领 #{n}")

        assert "心愿 #5 已发布" in await chat.say(m[1], "/许愿 求高数辅导")
        told = {4: m[4], 5: m[5], 6: m[6]}  # 2 tags; the wisher's floor; fewer open claims
        await chat.wait_for(lambda: all(chat.private(uid, "#5") for uid in told.values()))
        await advance(fast_bot.port, (bot_clock.now() + timedelta(hours=2)).timestamp())
        notified = {c["params"]["user_id"] for c in chat.notices
                    if c["action"] == "send_private_msg" and "可能适合你" in message_text(c)}
        assert notified == set(told.values())  # not 1, 2, 3, 7 (fourth), 8, nor the others
        assert chat.private(m[4], "#5")[0].startswith(
            "有一个心愿可能适合你：#5 求高数辅导（你的特长：高数、辅导），发送 /心愿 认领 #5")
        assert "认领成功" in await chat.say(m[5], "/心愿 认领 #5")

        book = load_workbook(io.BytesIO(await chat.upload(SECRETARY, "/统计 导出")))
        wishes = {row[0]: row[10:12] for row in book["心愿"].iter_rows(min_row=2,
                                                                    values_only=True)}
        hours, by_told = wishes[5]
        assert 2.0 <= hours < 2.1 and by_told == "是"  # claimed two hours after it was posted
        assert [wishes[n][1] for n in range(1, 5)] == ["否"] * 4
        report = (await chat.report(SECRETARY)).split("\n")
        # 5 wishes claimed: #1–#3 by 2 and #4 by 7 (nobody was told of those), #5 by 5, told
        assert "匹配认领占比：20.0%（1/5 个被认领的心愿由收到匹配通知的成员认领）" in report
        assert any(line.startswith("认领用时：中位 0.0 小时（5 个）") for line in report)
