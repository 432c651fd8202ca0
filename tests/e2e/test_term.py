"""A secretary runs a term over the real WebSocket; the report and the spreadsheet agree."""

import io
import os
import subprocess
import sys

from openpyxl import load_workbook

from tests.e2e.onebot import ROOT, OneBotClient, group_file, message_text

GROUP = 85001
SECRETARY, A, B, C = 90001, 90002, 90003, 90004


async def test_secretary_runs_a_term(bot_process, tmp_path, bot_clock):
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, SECRETARY)
        qq.results["get_group_info"] = {"group_id": GROUP, "member_count": 8}
        qq.results["upload_group_file"] = None
        for uid, name in ((SECRETARY, "书记"), (A, "甲"), (B, "乙"), (C, "丙")):
            await qq.reply_to(GROUP, uid, f"/登记 {name} 3楼")
        for uid in (A, B, C):
            await qq.reply_to(GROUP, SECRETARY, f"/成员 设置 {uid} 正式党员", role="owner")
        await qq.reply_to(GROUP, SECRETARY, f"/成员 设置 {SECRETARY} 书记", role="owner")

        call = await qq.reply_to(GROUP, SECRETARY, f"/积分 调整 {A} +30 组织志愿服务")
        assert "已为 甲 记 +30 分" in message_text(call)
        call = await qq.reply_to(GROUP, SECRETARY, f"/积分 调整 {B} +12 参加活动")
        assert "流水 #2" in message_text(call)
        call = await qq.reply_to(GROUP, SECRETARY, f"/积分 调整 {C} +12 参加活动")
        call = await qq.reply_to(GROUP, SECRETARY, "/积分 撤销 #3 记错了")
        assert "已撤销流水 #3" in message_text(call)
        call = await qq.reply_to(GROUP, A, "/积分 调整 90002 +50 自己加")
        assert "只有支委、书记或群管理员" in message_text(call)

        call = await qq.reply_to(GROUP, C, "/积分榜")
        board = message_text(call)
        assert "1. 甲 30 分" in board and "2. 乙 12 分" in board and "3. 丙 0 分" in board
        call = await qq.reply_to(GROUP, SECRETARY, "/结对 1")
        assert "甲（30 分）→ 丙（0 分）" in message_text(call)

        await qq.group_message(GROUP, SECRETARY, "/统计")
        assert (await qq.next_call())["action"] == "get_group_info"
        report = message_text(await qq.next_call())
        assert "成员：4 人" in report and "覆盖率：50.0%（4/8）" in report
        assert "积分达标率：33.3%（1/3 人达到标准）" in report
        assert "积分前三：第1名 甲 30 分；第2名 乙 12 分；第3名 丙 0 分" in report

        await qq.group_message(GROUP, SECRETARY, "/统计 导出")
        assert (await qq.next_call())["action"] == "get_group_info"
        upload = await qq.next_call()
        assert upload["action"] == "upload_group_file" and upload["params"]["group_id"] == GROUP
        assert "已上传群文件" in message_text(await qq.next_call())
        uploaded = load_workbook(io.BytesIO(group_file(qq, GROUP, [upload])))  # as QQ has it
    assert upload["params"]["file"].startswith("base64://")  # tried first: reaches anywhere
    assert "积分达标率" in [row[0].value for row in uploaded["汇总"].iter_rows()]

    out = tmp_path / "term.xlsx"
    done = subprocess.run(
        [sys.executable, "-m", "tools.export", "--branch", "1", "-o", str(out), "--db",
         str(bot_process.db_path)], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, **bot_clock.env()})  # the bot's date: the same term
    assert done.returncode == 0, done.stderr
    book = load_workbook(out)
    rows = [(row[0].value, row[1].value) for row in book["汇总"].iter_rows(min_row=2)]
    figures = [value for label, value in rows if label == "积分达标率"]
    assert figures[0] == "33.3%（1/3 人达到标准）"  # the same text as /统计 shows
    assert abs(figures[1] - 1 / 3) < 1e-9  # and the raw number for checking
    ledger = [[c.value for c in row] for row in book["积分流水"].iter_rows(min_row=2)]
    assert [(r[0], r[4]) for r in ledger] == [(1, 30), (2, 12), (3, 12), (4, -12)]
