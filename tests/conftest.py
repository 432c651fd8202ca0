"""Shared fixtures: nonebot init for nonebug, and a fresh database per test."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import nonebot
import pytest
from nonebug import NONEBOT_INIT_KWARGS, NONEBOT_START_LIFESPAN

from config import BranchConfig
from domain.clock import FrozenClock

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
SUPERUSER = 10000


def pytest_configure(config: pytest.Config) -> None:
    config.stash[NONEBOT_INIT_KWARGS] = {
        "superusers": {str(SUPERUSER)},
        "command_start": {"/", "／"},
        "command_sep": {"."},
        "nickname": set(),
        "log_level": "WARNING",
        "apscheduler_autostart": False,
    }
    # Each test opens its own database through the `services` fixture instead.
    config.stash[NONEBOT_START_LIFESPAN] = False


@pytest.fixture(scope="session", autouse=True)
async def after_nonebot_init(after_nonebot_init: None):
    from nonebot.adapters.onebot.v11 import Adapter

    nonebot.get_driver().register_adapter(Adapter)
    nonebot.load_from_toml(str(ROOT / "pyproject.toml"))
    # NoneBot runs bot connect/disconnect hooks in the lifespan's task group, which matcher
    # tests do not start; the accounts plugin's hooks are covered by the end-to-end tests.
    driver = nonebot.get_driver()
    driver._bot_connection_hook.clear()
    driver._bot_disconnection_hook.clear()


@pytest.fixture
def settings() -> BranchConfig:
    return BranchConfig()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 27, 20, 0, tzinfo=TZ))


@pytest.fixture
async def svc(tmp_path, settings, clock):
    """Every domain service on a fresh database in a temp dir."""
    from domain.services import open_services

    services = await open_services(settings, clock, str(tmp_path / "test.db"))
    try:
        yield services
    finally:
        await services.db.close()


@pytest.fixture
async def services(svc):
    """``svc`` installed as the running bot's services, for matcher tests."""
    from runtime import lifecycle

    lifecycle.install(svc)
    try:
        yield svc
    finally:
        lifecycle.uninstall()
