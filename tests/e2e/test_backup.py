"""Backups of a running bot: taken while it serves, restore refused until it stops."""

from __future__ import annotations

import subprocess
import sys

from storage.backup import integrity_of
from tests.e2e.onebot import ROOT, OneBotClient, message_text

GROUP, OWNER, WISHER = 810001, 810002, 810003


def backup_tool(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.backup", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


async def test_backup_while_running_and_restore_after_stop(bot_process, tmp_path):
    env = {**bot_process.env, "BACKUP_DIR": str(tmp_path / "backups")}
    async with OneBotClient(bot_process.port) as qq:
        await qq.set_up_group(GROUP, OWNER)
        call = await qq.reply_to(GROUP, WISHER, "/许愿 备份之前的心愿")
        assert "心愿 #1 已发布" in message_text(call)
        taken = backup_tool("--to", str(tmp_path / "night.db"), env=env)
        assert taken.returncode == 0, taken.stderr
        call = await qq.reply_to(GROUP, WISHER, "/许愿 备份之后的心愿")
        assert "心愿 #2 已发布" in message_text(call)
    assert integrity_of(tmp_path / "night.db") == "ok"

    refused = backup_tool("restore", str(tmp_path / "night.db"), env=env)
    assert refused.returncode == 2
    assert "请先停止机器人再恢复" in refused.stderr

    bot_process.stop()
    restored = backup_tool("restore", str(tmp_path / "night.db"), env=env)
    assert restored.returncode == 0, restored.stderr
    bot_process.start()
    async with OneBotClient(bot_process.port) as qq:
        call = await qq.reply_to(GROUP, WISHER, "/心愿")
        text = message_text(call)
        assert "备份之前的心愿" in text and "备份之后的心愿" not in text


async def test_the_bot_refuses_a_broken_database_and_starts_after_a_restore(tmp_path):
    from tests.e2e.onebot import BotProcess

    bot = BotProcess(tmp_path / "zhibu.db", tmp_path / "bot.log")
    env = {**bot.env, "BACKUP_DIR": str(tmp_path / "backups")}
    bot.start()
    try:
        async with OneBotClient(bot.port) as qq:
            await qq.set_up_group(GROUP, OWNER)
            call = await qq.reply_to(GROUP, WISHER, "/许愿 损坏之前的心愿")
            assert "心愿 #1 已发布" in message_text(call)
        assert backup_tool("--to", str(tmp_path / "night.db"), env=env).returncode == 0
    finally:
        bot.stop()
    with open(tmp_path / "zhibu.db", "r+b") as f:  # a failing disk: 8 KB of garbage
        f.seek(0)
        f.write(bytes(range(256)) * 32)

    started = subprocess.run([sys.executable, "bot.py"], cwd=ROOT, env=bot.env,
                             capture_output=True, text=True, timeout=60)
    said = started.stdout + started.stderr
    assert started.returncode != 0
    assert "已损坏，机器人不启动" in said and "python -m tools.backup restore" in said
    assert "database ready" not in said and "Traceback" not in said

    restored = backup_tool("restore", str(tmp_path / "night.db"), env=env)
    assert restored.returncode == 0, restored.stderr
    assert "已损坏" in restored.stdout and "before-restore-broken" in restored.stdout
    bot.start()
    try:
        async with OneBotClient(bot.port) as qq:
            call = await qq.reply_to(GROUP, WISHER, "/心愿")
            assert "损坏之前的心愿" in message_text(call)
    finally:
        bot.stop()
