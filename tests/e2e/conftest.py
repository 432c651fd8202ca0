import pytest

from tests.e2e.onebot import BotProcess


@pytest.fixture
def bot_process(tmp_path):
    """A real ``python bot.py`` on a free port with a fresh database."""
    proc = BotProcess(tmp_path / "e2e.db", tmp_path / "bot.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()
