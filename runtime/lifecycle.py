"""Open the services at start-up, run the plugins' start-up work, close at shutdown."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable

from nonebot import get_driver, get_plugin_config, logger

from config import BranchConfig
from domain.clock import OffsetClock, clock_for
from domain.services import Services, open_services
from storage.backup import RESTORE_COMMAND, left_cleanly, mark_closed_cleanly, quick_check

# aiosqlite runs SQL on its own thread. With the default 5 ms GIL switch interval that thread
# waits up to 5 ms for the busy event loop to let go after each query; a bot is I/O-bound, so
# handing over sooner costs little and keeps database latency low under a burst.
GIL_SWITCH_INTERVAL_SECONDS = 0.0005
BROKEN_DATABASE_EXIT = 2  # `python bot.py` on a database that fails its quick check

_services: Services | None = None
_dispatcher = None
_ready: list[Callable[[Services], Awaitable[None]]] = []
_stopping: list[Callable[[Services], Awaitable[None]]] = []


def services() -> Services:
    if _services is None:
        raise RuntimeError("services are not started")
    return _services


def install(svc: Services) -> None:
    """Make ``svc`` the running services (start-up does this; tests do it per test)."""
    global _services
    _services = svc


def uninstall() -> None:
    global _services
    _services = None


def wake_outbox() -> None:
    """Something changed that may let queued messages go (an account connected, unmuted…)."""
    if _dispatcher is not None:
        _dispatcher.wake()


def account_gone(self_id: int) -> None:
    """An account's connection closed: its send in flight is settled at once."""
    if _dispatcher is not None:
        _dispatcher.account_gone(self_id)


def on_ready(func: Callable[[Services], Awaitable[None]]):
    """Register start-up work that needs the database (re-arming jobs…), in load order."""
    _ready.append(func)
    return func


def on_stopping(func: Callable[[Services], Awaitable[None]]):
    _stopping.append(func)
    return func


async def run_ready_hooks(svc: Services) -> None:
    for func in _ready:
        await func(svc)


async def run_stopping_hooks(svc: Services) -> None:
    for func in reversed(_stopping):
        try:
            await func(svc)
        except Exception:
            logger.exception(f"shutdown hook {func.__qualname__} failed")


driver = get_driver()


@driver.on_startup
async def _start() -> None:
    settings = get_plugin_config(BranchConfig)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)
    # the wall clock; or one the playground moves on (`:skip`), or one started ahead of it
    clock = clock_for(settings.branch_timezone, settings.clock_offset_seconds,
                      movable=settings.playground_mode)
    if isinstance(clock, OffsetClock):
        from runtime.scheduling import shift_scheduler_time

        shift_scheduler_time(clock)
        if settings.clock_offset_seconds:
            logger.warning(f"the bot's clock runs {settings.clock_offset_seconds:+.0f}s off the "
                           f"wall clock: it is {clock.now():%Y-%m-%d %H:%M:%S} here")
    await refuse_a_broken_database(settings.branch_db_path)
    svc = await open_services(settings, clock)
    install(svc)
    logger.info(f"database ready at {settings.branch_db_path} "
                f"(schema v{await svc.db.user_version()})")
    global _dispatcher
    from runtime.outbox import OutboxDispatcher

    _dispatcher = OutboxDispatcher(svc)
    _dispatcher.start()
    await run_ready_hooks(svc)
    if settings.playground_mode:
        from runtime.playground import enable

        await enable(svc, _dispatcher)


async def refuse_a_broken_database(path: str) -> None:
    """``PRAGMA quick_check`` before anything opens the database: on a broken file the bot
    says so, names the restore command and exits, instead of serving from a broken file.

    Skipped when the file is exactly as the last clean stop left it (``left_cleanly``): the
    check reads the whole file (4 s for a school's year, bench/university_year.py), and what
    breaks a file — a crash, a copy or a restore — leaves no such note."""
    if await asyncio.to_thread(left_cleanly, path):
        logger.info("database closed cleanly last time and unchanged since: quick_check skipped")
        return
    verdict = await asyncio.to_thread(quick_check, path)
    if verdict == "ok":
        return
    logger.error(
        f"数据库 {path} 已损坏，机器人不启动（quick_check：{verdict}）。\n"
        f"请从最近的备份恢复：python -m tools.backup list 查看备份，然后 "
        f"{RESTORE_COMMAND} --db {path}（损坏的文件会原样另存，不会删除），再启动机器人。")
    sys.stdout.flush()
    sys.stderr.flush()
    # a startup hook that raises makes uvicorn print a traceback over the message; nothing is
    # open yet (no database, no lock, no port), so end here with the message last
    os._exit(BROKEN_DATABASE_EXIT)


@driver.on_shutdown
async def _stop() -> None:
    if _services is None:
        return
    svc = _services
    await run_stopping_hooks(svc)
    if _dispatcher is not None:
        await _dispatcher.stop()
    uninstall()
    await svc.db.close()
    await asyncio.to_thread(mark_closed_cleanly, svc.db.path)
