"""Daily online backup of the database, and the lock that tells a restore the bot is running.

No commands here: ``/支部 备份`` (superusers) lives in the 支部 plugin.
"""

from nonebot import logger, require
from nonebot.plugin import PluginMetadata

from domain.timeparse import parse_moment
from runtime.backups import backup_service, superusers
from runtime.lifecycle import on_ready, on_stopping, services
from storage.backup import DatabaseLock

require("nonebot_plugin_apscheduler")
from apscheduler.triggers.cron import CronTrigger  # noqa: E402
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

__plugin_meta__ = PluginMetadata(
    name="备份",
    description="每天定时在线备份数据库（/支部 备份 立即备份）",
    usage="（没有自己的命令：超级管理员用 /支部 备份）",
    type="library",
    supported_adapters={"~onebot.v11"},
)

_lock: DatabaseLock | None = None


async def daily_backup() -> None:
    """Never raises: a failure is logged and told to the superusers privately."""
    result = await backup_service(services()).scheduled(superusers())
    if result is not None:
        logger.info(f"daily backup: {result.describe()}")


@on_ready
async def arm_backup(svc) -> None:
    global _lock
    if svc.db.path != ":memory:" and _lock is None:
        lock = DatabaseLock(svc.db.path)
        if lock.acquire():
            _lock = lock
        else:
            logger.error(f"another process ({lock.holder() or '?'}) holds {lock.path}: is a "
                         "second bot running on the same database?")
    at, _ = parse_moment(svc.settings.backup_time, svc.clock.now())
    scheduler.add_job(daily_backup, CronTrigger(hour=at.hour, minute=at.minute,
                                                timezone=svc.clock.tz),
                      id="daily_backup", replace_existing=True, coalesce=True,
                      misfire_grace_time=svc.settings.misfire_grace_minutes * 60)


@on_stopping
async def release_lock(svc) -> None:
    global _lock
    if _lock is not None:
        _lock.release()
        _lock = None
