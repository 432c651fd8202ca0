import os

import pytest

from tests.e2e.onebot import BotProcess, BotTime, bot_time

# Where the bot's clock starts in every end-to-end test: "" (now), "+400d", or a moment such as
# "2028-12-31 23:59:30" (a Sunday, New Year's Eve). README, "Tests on any date".
CLOCK_VARIABLE = "ZHIBU_TEST_CLOCK"


@pytest.fixture(autouse=True)
def bot_clock() -> BotTime:
    """The bot's clock for this test, started afresh at ``ZHIBU_TEST_CLOCK``; every
    ``BotProcess`` of the test (restarts too) runs on it."""
    bot_time.start_at(os.environ.get(CLOCK_VARIABLE, ""))
    try:
        yield bot_time
    finally:
        bot_time.start_at("")


@pytest.fixture
def bot_process(tmp_path):
    """A real ``python bot.py`` on a free port with a fresh database."""
    proc = BotProcess(tmp_path / "e2e.db", tmp_path / "bot.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def fast_bot(tmp_path):
    """bot.py with a fast outgoing queue, so private notices arrive within the test, a flood
    limit a scripted secretary stays under, and its clock movable over loopback HTTP
    (playground mode), so time can pass without waiting (the daily backup then runs too: into
    the test's folder)."""
    proc = BotProcess(tmp_path / "e2e.db", tmp_path / "bot.log", SEND_RATE_PER_MINUTE="6000",
                      SEND_INTERVAL_SECONDS="0.01", PLAYGROUND_MODE="true", FLOOD_BURST="500",
                      BACKUP_DIR=str(tmp_path / "backups"))
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()
