"""微典型 over the real WebSocket: a nomination window, six nominations (two refused: a
duplicate, and one after the deadline), review with private notices, an anonymous vote of 15
ballots that ties, the committee settles it, 公示 with 荣誉 points, a case; /统计 and the export
agree with a hand count."""

import sqlite3
from datetime import timedelta

from tests.e2e.onebot import (
    OneBotClient,
    advance,
    calls_until,
    exported_workbook,
    message_text,
    texts,
)

GROUP = 88001
SECRETARY = 63001
A, C, G, F = 63011, 63012, 63013, 63014  # nominated: 甲 (自荐), 丙, 庚 (学业), 己 (服务)
B, D, E, H, LATE, J = 63015, 63016, 63017, 63018, 63019, 63020  # nominators, a late one
NAMES = {A: "甲", C: "丙", G: "庚", F: "己", B: "乙", D: "丁", E: "戊", H: "辛", LATE: "壬",
         J: "癸"}
VOTERS = [64000 + i for i in range(15)]


def at(user_id: int, before: str, after: str) -> list[dict]:
    return [{"type": "text", "data": {"text": before}},
            {"type": "at", "data": {"qq": str(user_id)}},
            {"type": "text", "data": {"text": after}}]


async def ask(qq: OneBotClient, user: int, typed: str | list[dict], role: str = "member",
              aside: list[dict] | None = None) -> str:
    """Send in the group and return the bot's reply there; what the queue sends meanwhile
    (private notices, posts) goes to ``aside``."""
    await qq.group_message(GROUP, user, typed, role)
    while True:
        call = await qq.next_call()
        if call["action"] == "send_msg" and call["params"].get("group_id") == GROUP:
            return message_text(call)
        if aside is not None:
            aside.append(call)


async def test_a_term_of_exemplars_end_to_end(fast_bot, bot_clock):
    deadline = bot_clock.now() + timedelta(hours=2)
    async with OneBotClient(fast_bot.port) as qq:
        await qq.set_up_group(GROUP, SECRETARY)
        qq.results["get_group_info"] = {"member_count": 40}
        qq.results["upload_group_file"] = None
        for uid, name in [*NAMES.items(), *((v, f"投票人{i}") for i, v in enumerate(VOTERS))]:
            await qq.reply_to(GROUP, uid, f"/登记 {name} 3楼")

        call = await qq.reply_to(GROUP, A, "/典型 自荐 学业 连续三年专业第一")
        assert "还没有开始微典型征集" in message_text(call)  # not counted: no window yet
        call = await qq.reply_to(GROUP, SECRETARY, f"/典型 征集 {deadline:%Y-%m-%d %H:%M}",
                                 role="owner")
        assert "微典型征集开始" in message_text(call)

        # six nominations: four recorded, a duplicate refused, one after the deadline refused
        call = await qq.reply_to(GROUP, A, "/典型 自荐 学业 连续三年专业第一")
        assert "已记录自荐 #1：甲 · 学业" in message_text(call)
        await qq.group_message(GROUP, B, at(C, "/典型 推荐 ", " 学业 带领宿舍全员考研上岸"))
        assert "已记录推荐 #2：丙 · 学业" in message_text(await qq.next_call())
        await qq.group_message(GROUP, D, at(A, "/典型 推荐 ", " 学业 成绩优异"))
        assert "甲本学期已经有学业的推荐了" in message_text(await qq.next_call())
        await qq.group_message(GROUP, E, at(G, "/典型 推荐 ", " 学业 数学竞赛一等奖"))
        assert "已记录推荐 #3：庚 · 学业" in message_text(await qq.next_call())
        await qq.group_message(GROUP, H, at(F, "/典型 推荐 ", " 服务 志愿服务两百小时"))
        assert "已记录推荐 #4：己 · 服务" in message_text(await qq.next_call())
        await advance(fast_bot.port, deadline.timestamp() + 60)
        await qq.group_message(GROUP, LATE, at(J, "/典型 推荐 ", " 实践 暑期支教"))
        assert "征集已于" in message_text(await qq.next_call())

        # review: three approved, one returned; nominee and nominator are told privately
        notices: list[dict] = []
        for n in (1, 2, 3):
            reply = await ask(qq, SECRETARY, f"/典型 审核 #{n} 通过", "owner", notices)
            assert f"推荐 #{n}" in reply and "已通过" in reply
        reply = await ask(qq, SECRETARY, "/典型 审核 #4 退回 请补充服务时长证明", "owner",
                          notices)
        assert "已退回" in reply and "请补充服务时长证明" not in reply  # the reason is private
        notices += await calls_until(qq, lambda c: len(notices) + len(c) == 7)
        assert all(c["action"] == "send_private_msg" for c in notices)
        told = {c["params"]["user_id"]: message_text(c) for c in notices
                if "被退回" in message_text(c)}
        assert set(told) == {F, H} and "请补充服务时长证明" in told[F]
        assert {c["params"]["user_id"] for c in notices if "已通过审核" in message_text(c)} \
            == {A, C, B, G, E}

        # an anonymous vote in 学业 with 15 ballots, cast privately: 6, 6 and 3
        call = await qq.reply_to(GROUP, SECRETARY, "/典型 评选 学业 匿名", role="owner")
        announced = message_text(call)
        assert "已发起投票 #1：学业微典型评选" in announced
        assert "1. 甲 #1" in announced and "2. 丙 #2" in announced and "3. 庚 #3" in announced
        for voter, choice in zip(VOTERS, [1] * 6 + [2] * 6 + [3] * 3, strict=True):
            await qq.private_message(voter, f"/投票 #1 {choice}")
            assert "已收到你在匿名投票 #1 的选票" in message_text(await qq.next_call())
        await qq.group_message(GROUP, SECRETARY, "/投票 结束 #1", role="owner")
        calls = await calls_until(qq, lambda c: "平票" in texts(c) and "已结束" in texts(c))
        assert "学业微典型评选平票（各 6 票）：#1 甲、#2 丙" in texts(calls)
        assert "1. 甲 #1  ████░░░░░░ 6 票 40.0%" in texts(calls)
        call = await qq.reply_to(GROUP, SECRETARY, "/典型 确定 #3", role="owner")
        assert "不在平票的候选人中" in message_text(call)
        call = await qq.reply_to(GROUP, SECRETARY, "/典型 确定 #1", role="owner")
        assert "已确定：甲 为学业微典型" in message_text(call)

        # 公示: posted to the group, 甲 earns 10 荣誉 points (once), shown in /我的
        await qq.group_message(GROUP, SECRETARY, "/典型 公示", role="owner")
        calls = await calls_until(qq, lambda c: "微典型公示" in texts(c)
                                  and "已公示 1 位微典型" in texts(c))
        assert "【学业】甲：连续三年专业第一" in texts(calls)
        posts: list[dict] = []
        reply = await ask(qq, SECRETARY, "/典型 公示", "owner", posts)
        assert "已公示 1 位微典型" in reply and "积分" not in reply  # booked once only
        if not posts:
            posts = await calls_until(qq, lambda c: "微典型公示" in texts(c))  # posted again
        call = await qq.reply_to(GROUP, C, f"/积分 {A}")
        assert "积分：10" in message_text(call) and "荣誉 10" in message_text(call)
        call = await qq.reply_to(GROUP, A, "/我的")
        assert "荣誉：" in message_text(call) and "学业微典型" in message_text(call)

        call = await qq.reply_to(GROUP, SECRETARY, "/典型 案例 #1 三年第一的秘诀", role="owner")
        assert "已整理为案例 #1《三年第一的秘诀》（学业 · 甲，作者 甲" in message_text(call)

        await qq.group_message(GROUP, SECRETARY, "/统计", role="owner")
        calls = await calls_until(qq, lambda c: "投票举办" in texts(c))
        report = texts(calls)
        # hand count: 4 nominations (1 自荐, 3 推荐); 3 approved (学业); 1 selected; 1 case
        assert "微典型：推荐 4 人次（自荐 1，推荐 3），审核通过 3，当选 1" in report
        assert "微典型·学业：推荐 3 人次（自荐 1，推荐 2），审核通过 3，当选 1" in report
        assert "微典型·服务：推荐 1 人次（自荐 0，推荐 1），审核通过 0，当选 0" in report
        assert "微典型·实践" not in report
        assert "典型案例：1 个" in report and "展示页浏览量：0 人次" in report
        assert "投票举办：1 次" in report

        book = await exported_workbook(qq, GROUP, SECRETARY)
    rows = {r[0]: r for r in book["微典型"].iter_rows(min_row=2, values_only=True)}
    assert sorted(rows) == [1, 2, 3, 4]
    assert [(rows[n][1], rows[n][2], rows[n][4], rows[n][8], rows[n][10]) for n in (1, 2, 3, 4)] \
        == [("学业", "自荐", "甲", "当选", 6), ("学业", "推荐", "丙", "已通过", 6),
            ("学业", "推荐", "庚", "已通过", 3), ("服务", "推荐", "己", "已退回", None)]
    assert rows[1][11] == "支委确定" and rows[4][9] == "请补充服务时长证明"
    (case,) = book["典型案例"].iter_rows(min_row=2, values_only=True)
    assert case[1:6] == ("三年第一的秘诀", "甲", "学业", "甲", 1) and case[6] == "连续三年专业第一"
    raw = {r[0]: r[1] for r in book["汇总"].iter_rows(values_only=True)}
    assert (raw["微典型自荐"], raw["微典型推荐"], raw["微典型审核通过"], raw["微典型当选"],
            raw["典型案例"]) == (1, 3, 3, 1, 1)
    honours = [r for r in book["积分流水"].iter_rows(min_row=2, values_only=True)
               if r[3] == "荣誉"]
    assert [(r[1], r[4]) for r in honours] == [(A, 10)]

    with sqlite3.connect(fast_bot.db_path) as db:  # the anonymous vote kept no choice of anyone
        assert db.execute("SELECT COUNT(*) FROM poll_voters").fetchone() == (15,)
        assert db.execute("SELECT position, votes FROM poll_tallies ORDER BY position"
                          ).fetchall() == [(1, 6), (2, 6), (3, 3)]
        assert db.execute("SELECT COUNT(*) FROM poll_ballots").fetchone() == (0,)
