"""Health and metrics for the operator: ``GET /zhibu/health`` (JSON) and ``GET /zhibu/metrics``
(Prometheus text), served by NoneBot's own FastAPI app. No commands.

The health answer (``domain.health``) is 503 when the database check failed or no QQ account
has been connected for ``health_offline_minutes``. The database check is the start-up
``PRAGMA quick_check`` (the bot does not start without it passing), cached, and run again on a
separate connection when a request finds it older than ``health_db_check_minutes``.
The metrics are for this machine only, unless ``metrics_token`` is set: then for whoever sends
``Authorization: Bearer <metrics_token>``.
"""

from __future__ import annotations

import asyncio
import hmac
import sqlite3
from importlib import metadata
from pathlib import Path

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from nonebot import logger, require
from nonebot.plugin import PluginMetadata
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from domain.health import BackupRecord, DatabaseCheck, Queue, health
from domain.services import Services
from runtime import metrics
from runtime.backups import backup_service
from runtime.lifecycle import on_ready, services
from runtime.web import add_routes, from_this_machine
from storage.backup import list_backups, quick_check

require("nonebot_plugin_apscheduler")
from apscheduler.events import (  # noqa: E402
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

__plugin_meta__ = PluginMetadata(
    name="健康与指标",
    description="给运维看的 /zhibu/health 和 /zhibu/metrics",
    usage="（没有命令；见 docs/部署与运维.md 的“监控”）",
    type="library",
    supported_adapters={"~onebot.v11"},
)

HEALTH_PATH = "/zhibu/health"
METRICS_PATH = "/zhibu/metrics"
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
PACKAGE = "zhibu-assistant"


class _State:
    started_at = 0.0
    database: DatabaseCheck | None = None
    checking: asyncio.Lock | None = None


state = _State()


def version() -> str:
    """The installed package's version (pyproject.toml), or ``unknown``."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


def check_file(path: str) -> tuple[bool, str]:
    """``PRAGMA quick_check`` of the database file on a connection of its own."""
    if path != ":memory:" and not Path(path).is_file():
        return False, "数据库文件不存在"
    try:
        verdict = quick_check(path)
    except sqlite3.Error as exc:
        return False, f"无法读取：{exc}"[:200]
    return verdict == "ok", verdict[:200]


async def database_check(svc: Services) -> DatabaseCheck:
    """The cached check, run again when older than ``health_db_check_minutes``."""
    now = svc.clock.timestamp()
    cached = state.database
    if cached is not None and now - cached.checked_at < svc.settings.health_db_check_minutes * 60:
        return cached
    if state.checking is None:
        state.checking = asyncio.Lock()
    async with state.checking:  # one check at a time; those waiting take its result
        if state.database is not cached:
            return state.database
        ok, detail = await asyncio.to_thread(check_file, svc.db.path)
        if not ok:
            logger.error(f"database check failed: {detail}")
        state.database = DatabaseCheck(ok, detail, svc.clock.timestamp())
    return state.database


def last_backup(svc: Services) -> BackupRecord | None:
    """This process's last backup, else the newest file in the backup folder (a file there
    passed its integrity check before it got its name)."""
    taken = backup_service(svc).last
    if taken is not None:
        return taken
    try:
        found = list_backups(svc.settings.backup_dir)
    except OSError:
        return None
    if not found:
        return None
    newest = max(found, key=lambda p: p.stat().st_mtime)
    return BackupRecord(newest.stat().st_mtime, True, None, "file")


async def report(svc: Services) -> tuple[int, dict]:
    """(status, body) of ``/zhibu/health`` now."""
    pending, oldest = await svc.outbox.repo.pending_overall()
    return health(
        svc.clock.timestamp(), started_at=state.started_at, database=await database_check(svc),
        accounts=svc.accounts.all(), queue=Queue(pending, oldest), backup=last_backup(svc),
        version=version(), schema=await svc.db.user_version(),
        offline_minutes=svc.settings.health_offline_minutes)


async def health_endpoint() -> JSONResponse:
    try:
        status, body = await report(services())
    except Exception as exc:  # the database itself fails: that is the answer
        logger.opt(exception=exc).error("health check failed")
        status, body = 503, {"status": "unhealthy",
                             "problems": [f"健康检查出错：{type(exc).__name__}"]}
    return JSONResponse(body, status_code=status, headers=HEADERS)


def allowed(request: Request, token: str) -> int | None:
    """None when the request may read the metrics, else the HTTP status refusing it."""
    if token:
        given = request.headers.get("authorization", "")
        return None if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()) else 401
    return None if from_this_machine(request) else 403


async def metrics_endpoint(request: Request) -> Response:
    svc = services()
    refused = allowed(request, svc.settings.metrics_token)
    if refused is not None:
        return Response("forbidden\n", status_code=refused, media_type="text/plain",
                        headers=HEADERS)
    pending, oldest = await svc.outbox.repo.pending_overall()
    now = svc.clock.timestamp()
    metrics.OUTBOX_PENDING.set(pending)
    metrics.OUTBOX_OLDEST.set(0 if oldest is None else max(0.0, now - oldest))
    metrics.ACCOUNTS_CONNECTED.set(len(svc.accounts.connected()))
    metrics.DATABASE_OK.set(1 if (await database_check(svc)).ok else 0)
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST,
                    headers=HEADERS)


JOB_EVENTS = EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED


def job_event(event: JobExecutionEvent) -> None:
    """APScheduler's listener: one job run (or missed run) counted by job name and result."""
    result = {EVENT_JOB_EXECUTED: "ok", EVENT_JOB_ERROR: "error", EVENT_JOB_MISSED: "missed"}
    metrics.observe_job(event.job_id, result.get(event.code, "other"))


@on_ready
async def start(svc: Services) -> None:
    state.started_at = svc.clock.timestamp()
    # the start-up quick_check (runtime.lifecycle) passed, or the bot would not be here
    state.database = DatabaseCheck(True, "ok", state.started_at)
    backup_service(svc).on_finished = lambda done: metrics.observe_backup(
        done.ok, done.seconds, done.at)
    scheduler.add_listener(job_event, JOB_EVENTS)


add_routes("health and metrics", [
    (HEALTH_PATH, health_endpoint, {}),
    (METRICS_PATH, metrics_endpoint, {}),
])
