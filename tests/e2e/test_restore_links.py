"""A restore through another name of the live database (issue 20, finding 11)."""

from __future__ import annotations

from tests.e2e.onebot import BotProcess, OneBotClient
from tests.e2e.test_backup import GROUP, OWNER, backup_tool


async def test_a_link_to_the_live_database_does_not_get_round_the_running_check(tmp_path):
    """Issue 20, finding 11: ``restore --db alias.db``, alias.db a symbolic link to the live
    database, went past the running-bot check and replaced the link."""
    live = tmp_path / "live.db"
    alias = tmp_path / "alias.db"
    alias.symlink_to(live)
    night = tmp_path / "night.db"
    for started_as, restored_as in ((live, alias), (alias, live)):
        bot = BotProcess(started_as, tmp_path / "bot.log")
        bot.start()
        try:
            env = {**bot.env, "BACKUP_DIR": str(tmp_path / "backups")}
            if not night.exists():
                async with OneBotClient(bot.port) as qq:
                    await qq.set_up_group(GROUP, OWNER)
                assert backup_tool("--to", str(night), env=env).returncode == 0
            refused = backup_tool("restore", str(night), "--db", str(restored_as), env=env)
            assert refused.returncode == 2, refused.stdout
            assert "请先停止机器人再恢复" in refused.stderr
            assert alias.is_symlink() and alias.resolve() == live
        finally:
            bot.stop()
    same = backup_tool("restore", str(alias), "--db", str(live), env=env)
    assert same.returncode == 2 and "本身，没有恢复" in same.stderr
