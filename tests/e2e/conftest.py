import os
import types

import pytest

from tests.e2e.onebot import BotProcess, BotTime, bot_time
from tools import onebot
from tools.qqprofiles import PROFILES

# Where the bot's clock starts in every end-to-end test: "" (now), "+400d", or a moment such as
# "2028-12-31 23:59:30" (a Sunday, New Year's Eve). README, "Tests on any date".
CLOCK_VARIABLE = "ZHIBU_TEST_CLOCK"
# Which OneBot implementation profiles the tests that talk to a QQ side run under, e.g.
# "plain,napcat" for a quick run; every profile when unset (README, "The test QQ side").
PROFILES_VARIABLE = "ZHIBU_TEST_PROFILES"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "qq_profiles: run this test once per OneBot profile even though its own "
                   "code does not name OneBotClient (it uses one through a helper)")
    config.addinivalue_line(
        "markers", "one_profile: run this test once (plain), though it names OneBotClient")
    selected_profiles()  # an unknown name stops the run before anything is collected


def selected_profiles() -> list[str]:
    """The profiles from ``ZHIBU_TEST_PROFILES`` (all when unset), in the registry's order."""
    wanted = [n.strip() for n in os.environ.get(PROFILES_VARIABLE, "").split(",") if n.strip()]
    unknown = set(wanted) - set(PROFILES)
    if unknown:
        raise pytest.UsageError(f"{PROFILES_VARIABLE}: unknown profile(s) "
                                f"{', '.join(sorted(unknown))}; known: {', '.join(PROFILES)}")
    return [name for name in PROFILES if not wanted or name in wanted]


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def talks_to_qq(function) -> bool:
    """A test talks to a QQ side when its code uses ``OneBotClient`` (or it is marked)."""
    return "OneBotClient" in _names(function.__code__)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that talks to the bot through ``OneBotClient`` runs once per profile, the
    profile in its id (``test_x[napcat]``); ``OneBotClient(port)`` takes it by default."""
    if "qq_profile" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("one_profile"):
        return
    if talks_to_qq(metafunc.function) or metafunc.definition.get_closest_marker("qq_profiles"):
        metafunc.parametrize("qq_profile", selected_profiles(), indirect=True)


@pytest.fixture(autouse=True)
def qq_profile(request) -> str:
    """The OneBot profile of this test ("plain" for tests that run once)."""
    name = getattr(request, "param", "plain")
    onebot.default_profile.name = name
    onebot.fake_errors.clear()
    try:
        yield name
    finally:
        onebot.default_profile.name = "plain"
    # a crash of the fake itself is answered as a failure; it must not pass unseen
    assert not onebot.fake_errors, f"the fake OneBot side crashed: {onebot.fake_errors}"


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
