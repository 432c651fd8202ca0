"""The playground: the demo transcript, the scripted prompt loop, and production safety."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from storage.backup import integrity_of, list_backups
from tools.onebot import ROOT
from tools.playground import finish, interactive, skip_seconds, start, to_segments

TZ = ZoneInfo("Asia/Shanghai")


def test_demo_plays_the_story_and_exits_0():
    done = subprocess.run([sys.executable, "-m", "tools.playground", "--demo"], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    # what the members see, in the group, privately, and from the bot on its own
    assert "1楼群 · 🤖：心愿 #1 已发布：想请人帮我看看入党申请书怎么写" in out
    assert "1楼群 · 🤖：已标记心愿 #1 完成服务，已提醒许愿人评价。" in out
    # the wisher's @-mention is queued with the change, so it comes through the queue
    assert "📢 1楼群 · 🤖 主动发送：@钱六  你的心愿 #1 已由 张三 完成服务" in out
    assert "感谢评价！心愿 #1 已完成（5 分），张三 获得 7 积分" in out
    assert "🔒 私聊 → 李四 · 🤖：导学 #1「学习党章第一章」" in out
    # the reminder arrives at 19:00 of the bot's clock (30 minutes before 19:30), to both groups
    assert re.search(r"\[\d\d-\d\d 19:00\] 📢 1楼群 · 🤖 主动发送：📚 导学 #1", out), out
    assert re.search(r"\[\d\d-\d\d 19:00\] 📢 2楼群 · 🤖 主动发送：📚 导学 #1", out), out
    assert out.count("签到成功") == 3
    assert "签到码不对" in out
    assert "互动 +3 分" in out
    assert re.search(r"\[\d\d-\d\d 21:00\] 📢 1楼群 · 🤖 主动发送：导学 #1「学习党章第一章」"
                     "签到结束", out)
    assert "满意度：100.0%（1/1 个评价 ≥4 分）" in out
    assert "导学举办：1 场" in out and "读书笔记：1 篇" in out
    assert "1. 张三 12 分" in out
    assert "✗" not in out


async def test_the_prompt_loop_driven_by_scripted_input():
    shown: list[str] = []
    running = await start(None, shown.append)
    pg = running.pg
    try:
        with create_pipe_input() as pipe:
            pipe.send_text("\n".join([
                ":who", ":as 钱六", "/许愿 雨天借一把伞", ":as 20011", "/心愿 认领 1",
                ":as 王五", ":role admin", ":group 2", ":private", "/签到 1234",
                ":as 运维", ":skip 1d", ":time", ":skip nonsense", ":bogus", ":quit",
                "/许愿 this is never sent",
            ]) + "\n")
            await interactive(pg, input=pipe, output=DummyOutput())
        text = "\n".join(shown)
        assert "钱六 20014 群众 1楼 104 群：1楼群" in text  # :who
        assert "现在你是 钱六（20014，群众），在1楼群" in text
        assert "1楼群 · 🤖：心愿 #1 已发布：雨天借一把伞" in text
        assert "1楼群 · 🤖：认领成功：心愿 #1" in text  # :as by QQ number
        assert "王五 在 1楼群 现在是群管理员" in text
        assert "现在在 2楼群（群号 900002）（王五 本不在这个群）" in text
        assert "现在是 王五 私聊机器人" in text
        assert "🔒 私聊 → 王五 · 🤖" in text  # the private reply is shown as private
        assert "⏩ 快进 1天" in text and "⏰ 现在是" in text
        assert "机器人的时间：" in text
        assert "用法：:skip" in text and "不认识 :bogus" in text
        assert "never sent" not in text  # :quit ended the loop
        assert pg.prompt() == "运维@私聊> "
        # the clock really moved: a day later by the bot's clock than by the wall clock
        assert pg.clock.offset > 86000
        # and the nightly backup (backup_time 03:30) ran on the way, checked
        backups = list_backups(running.folder / "playground-backups")
        assert len(backups) == 1 and integrity_of(backups[0]) == "ok"
    finally:
        await finish(running)


async def test_prompt_shows_who_and_where():
    shown: list[str] = []
    running = await start(None, shown.append)
    try:
        pg = running.pg
        assert pg.prompt() == "陈书记@1楼群> "
        await pg.handle(":as 孙七")
        assert pg.prompt() == "孙七@2楼群> "  # 孙七 is only in 2楼群
        lines = await pg.say("/成员 列表")
        assert any("只有支委、书记或群管理员" in line for line in lines)
        await pg.handle(":role owner")
        lines = await pg.say("/成员 列表")
        assert any("成员 11 人" in line for line in lines)  # a QQ group owner is an admin
    finally:
        await finish(running)


def test_skip_and_mentions_parse():
    now = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
    assert skip_seconds("30m", now) == 1800
    assert skip_seconds("1d2h", now) == 93600
    assert skip_seconds("2小时", now) == 7200
    assert skip_seconds("19:30", now) == 10.5 * 3600
    assert skip_seconds("08:00", now) == 23 * 3600  # the next 08:00 is tomorrow
    assert skip_seconds("soon", now) is None
    assert skip_seconds("25:00", now) is None
    assert to_segments("/导学 发起 学习 今天 19:30 @李四") == [
        {"type": "text", "data": {"text": "/导学 发起 学习 今天 19:30 "}},
        {"type": "at", "data": {"qq": "20012"}},
    ]
    assert to_segments("@某某 你好") == [{"type": "text", "data": {"text": "@某某 你好"}}]


def test_production_bot_has_no_clock_endpoint(bot_process):
    for path in ("/playground/clock", "/playground/advance"):
        request = urllib.request.Request(f"http://127.0.0.1:{bot_process.port}{path}",
                                         data=b'{"until": 0}' if "advance" in path else None)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code in (404, 405)


async def test_the_export_is_saved_and_the_tools_run_on_the_playground_clock(tmp_path):
    from openpyxl import load_workbook

    from tests.tools.test_export import raw_figures

    shown: list[str] = []
    db = tmp_path / "pg.db"
    running = await start(db, shown.append)
    pg = running.pg
    try:
        await pg.as_("陈书记", "/导学 发起 党章学习 明天 19:30 60 @李四")
        await pg.skip(2 * 86400)  # past the session, and the 03:30 backups
        assert any("导学举办：1 场" in line for line in await pg.as_("陈书记", "/统计"))
        lines = "\n".join(await pg.as_("陈书记", "/统计 导出"))
        saved = re.search(r"已保存到 (\S+\.xlsx)", lines)
        assert saved, lines
        path = saved.group(1)
        assert path.startswith(str(tmp_path / "playground-files"))
        assert raw_figures(load_workbook(path)["汇总"])["导学举办"] == 1
        # :who shows the profiles as they are now, not as seeded
        await pg.as_("陈书记", "/成员 设置 @钱六 积极分子")
        await pg.list_cast()
        assert "钱六 20014 入党积极分子 1楼 104" in shown[-1]
        await pg.switch_person("钱六")
        assert "现在你是 钱六（20014，入党积极分子）" in shown[-1]
    finally:
        await finish(running)

    env = {k: v for k, v in os.environ.items() if k not in ("BACKUP_DIR", "CLOCK_OFFSET_SECONDS")}
    out = tmp_path / "cli.xlsx"
    done = subprocess.run([sys.executable, "-m", "tools.export", "--branch", "1", "-o", str(out),
                           "--db", str(db)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert raw_figures(load_workbook(out)["汇总"])["导学举办"] == 1  # the playground's clock
    early = tmp_path / "early.xlsx"
    done = subprocess.run([sys.executable, "-m", "tools.export", "--branch", "1", "-o",
                           str(early), "--db", str(db), "--at",
                           f"{datetime.now(TZ):%Y-%m-%d %H:%M}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert raw_figures(load_workbook(early)["汇总"])["导学举办"] == 0  # --at: before it
    listed = subprocess.run([sys.executable, "-m", "tools.backup", "list", "--db", str(db)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert str(tmp_path / "playground-backups") in listed.stdout
    assert "zhibu-" in listed.stdout
