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
