"""Whether the running bot is well, as an operator's monitor asks it (``GET /zhibu/health``).

Plain Python with everything passed in: the runtime gathers the database check, the accounts,
the queue and the last backup; this module decides the verdict and what the answer shows. The
answer carries no secret: no QQ number, no group number, no path, no message text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.accounts import Account

HEALTHY, UNHEALTHY = 200, 503


@dataclass(frozen=True)
class DatabaseCheck:
    """The last ``PRAGMA quick_check`` of the database: ``ok`` or what it said, and when."""

    ok: bool
    detail: str
    checked_at: float


@dataclass(frozen=True)
class BackupRecord:
    """The last backup this process took, or the newest file found in the backup folder."""

    at: float
    ok: bool
    seconds: float | None = None  # how long it took (None: found on disk, not timed)
    source: str = "run"  # "run": taken by this process; "file": the newest file in the folder


@dataclass(frozen=True)
class Queue:
    pending: int
    oldest_created_at: float | None


def offline_since(accounts: Iterable[Account], started_at: float) -> float | None:
    """Since when no QQ account has been connected (the start, or the last disconnect after
    it); None while one is connected."""
    accounts = list(accounts)
    if any(a.connected for a in accounts):
        return None
    return max([started_at, *(a.changed_at for a in accounts)])


def health(now: float, *, started_at: float, database: DatabaseCheck,
           accounts: Iterable[Account], queue: Queue, backup: BackupRecord | None,
           version: str, schema: int, offline_minutes: float) -> tuple[int, dict]:
    """(HTTP status, JSON body). 503 when the database check failed or no QQ account has been
    connected for ``offline_minutes`` (counted from the start when none ever was)."""
    accounts = list(accounts)
    connected = [a for a in accounts if a.connected]
    since = offline_since(accounts, started_at)
    problems = []
    if not database.ok:
        problems.append("数据库检查未通过：请停止机器人，运行 python -m tools.doctor，从备份恢复")
    if since is not None and now - since >= offline_minutes * 60:
        problems.append(f"已 {(now - since) / 60:.0f} 分钟没有 QQ 账号连接：请检查 NapCat 等 QQ 端")
    paused = [a for a in accounts if a.paused(now)]
    muted = sorted(until for a in accounts for until in a.muted.values() if until > now)
    body = {
        "status": "ok" if not problems else "unhealthy",
        "problems": problems,
        "version": version,
        "uptime_seconds": round(now - started_at),
        "database": {"ok": database.ok, "detail": database.detail if not database.ok else "ok",
                     "schema_version": schema,
                     "checked_seconds_ago": round(now - database.checked_at)},
        "accounts": {
            "connected": len(connected),
            "known": len(accounts),
            "implementations": sorted({_named(a) for a in connected}),
            "offline_seconds": None if since is None else round(now - since),
        },
        "outbox": {
            "pending": queue.pending,
            "oldest_pending_seconds": (None if queue.oldest_created_at is None
                                       else max(0, round(now - queue.oldest_created_at))),
        },
        "paused": {
            "accounts": len(paused),
            "accounts_until": [round(a.paused_until) for a in paused],
            "muted_groups": len(muted),
            "muted_until": [round(u) for u in muted],
        },
        "backup": None if backup is None else {
            "ok": backup.ok, "at": round(backup.at), "seconds_ago": round(now - backup.at),
            "took_seconds": None if backup.seconds is None else round(backup.seconds, 3),
            "source": backup.source,
        },
    }
    return (HEALTHY if not problems else UNHEALTHY), body


def _named(account: Account) -> str:
    name = account.implementation or "unknown"
    return f"{name} {account.app_version}".strip()
