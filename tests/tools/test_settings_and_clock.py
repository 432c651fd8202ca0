"""The tools read the bot's settings as the bot does, and the tests' bot clock parses its specs."""

from datetime import datetime

import pytest

from config import load_settings
from tools.onebot import BotTime


def test_tools_read_environment_variables_like_the_bot(monkeypatch):
    monkeypatch.setenv("BACKUP_DIR", "/srv/zhibu/backups")
    monkeypatch.setenv("CLOCK_OFFSET_SECONDS", "86400")
    settings = load_settings()
    assert settings.backup_dir == "/srv/zhibu/backups"
    assert settings.clock_offset_seconds == 86400


def test_bot_time_starts_ahead_or_at_the_next_such_moment():
    clock = BotTime()
    clock.start_at("+400d")
    assert clock.offset == 400 * 86400
    clock.start_at("sunday 12-31 23:59:30")
    at = clock.now()
    assert (at.month, at.day, at.weekday(), at.hour, at.minute) == (12, 31, 6, 23, 59)
    assert clock.env() == {"CLOCK_OFFSET_SECONDS": f"{clock.offset:.3f}"}
    clock.start_at("")
    assert clock.offset == 0 and clock.env() == {}
    with pytest.raises(ValueError):
        clock.start_at(f"{datetime.now().year - 1}-01-01 00:00:00")


def test_the_backup_tool_uses_the_bots_backup_folder_from_its_env_file(tmp_path):
    import os
    import sqlite3
    import subprocess
    import sys

    from tools.onebot import ROOT

    (tmp_path / ".env").write_text(f"BACKUP_DIR={tmp_path / 'bot-backups'}\n", encoding="utf-8")
    db = tmp_path / "zhibu.db"
    sqlite3.connect(str(db)).execute("CREATE TABLE members (x)").connection.close()
    env = {k: v for k, v in os.environ.items() if k not in ("BACKUP_DIR", "ENVIRONMENT")}
    env["PYTHONPATH"] = str(ROOT)
    for args in (["--db", str(db)], ["list", "--db", str(db)]):
        done = subprocess.run([sys.executable, "-m", "tools.backup", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert str(tmp_path / "bot-backups") in done.stdout
    assert not (tmp_path / "data").exists()
    assert len(list((tmp_path / "bot-backups").glob("zhibu-*.db"))) == 1
