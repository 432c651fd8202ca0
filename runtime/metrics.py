"""What the running bot counts for an operator (``GET /zhibu/metrics``, Prometheus text format),
and the one log line per command.

The router and the outgoing queue each call one function here (``timed``, ``observe_send``);
scheduled jobs are counted by an APScheduler listener and backups by the backup service's
``on_finished``, both set up by ``plugins/health``. Gauges that describe the present (the
queue, the accounts) are read when the metrics are asked for. Labels hold command names, kinds
of message, job names and results only: never a QQ number, a group or any text.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from nonebot import logger
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

disable_created_metrics()  # no "…_created" series beside every counter and histogram
REGISTRY = CollectorRegistry()

COMMANDS = Counter(
    "zhibu_commands", "Commands answered, by command and outcome (ok, usage, refused, error, "
    "duplicate)", ["command", "outcome"], registry=REGISTRY)
REPLY_SECONDS = Histogram(
    "zhibu_reply_seconds", "From a command reaching the router to its reply handed to the QQ "
    "side (the group's reply pacing included)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=REGISTRY)
OUTBOX_SENDS = Counter(
    "zhibu_outbox_sends", "Send attempts of the outgoing queue, by kind of message and result "
    "(sent, or the failure's class)", ["kind", "result"], registry=REGISTRY)
OUTBOX_PENDING = Gauge(
    "zhibu_outbox_pending", "Messages waiting in the outgoing queue", registry=REGISTRY)
OUTBOX_OLDEST = Gauge(
    "zhibu_outbox_oldest_pending_seconds", "Age of the oldest message waiting (0: none)",
    registry=REGISTRY)
JOB_RUNS = Counter(
    "zhibu_job_runs", "Scheduled job runs, by job (its id up to the first colon) and result "
    "(ok, error, missed)", ["job", "result"], registry=REGISTRY)
BACKUP_SECONDS = Histogram(
    "zhibu_backup_seconds", "How long each backup took, by result (ok, failed)", ["result"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 15, 60, 300, 1800), registry=REGISTRY)
BACKUP_LAST = Gauge(
    "zhibu_backup_last_success_timestamp_seconds", "When the last good backup finished "
    "(Unix time; 0: none since start-up)", registry=REGISTRY)
ACCOUNTS_CONNECTED = Gauge(
    "zhibu_accounts_connected", "QQ accounts connected now", registry=REGISTRY)
DATABASE_OK = Gauge(
    "zhibu_database_ok", "1 when the last quick_check of the database passed", registry=REGISTRY)


@dataclass
class CommandRun:
    """One command being answered; the router sets ``outcome``."""

    command: str
    outcome: str = "ok"


@contextmanager
def timed(event, route) -> Iterator[CommandRun]:
    """Count one routed command and log one line with its outcome and duration (who and
    where by number; never what was typed)."""
    run = CommandRun(route.command.name)
    started = time.perf_counter()
    try:
        yield run
    finally:
        seconds = time.perf_counter() - started
        COMMANDS.labels(run.command, run.outcome).inc()
        REPLY_SECONDS.observe(seconds)
        group = getattr(event, "group_id", None)
        where = f"group {group}" if group is not None else "private"
        logger.info(f"command /{run.command} from {event.user_id} in {where}: {run.outcome}, "
                    f"{seconds * 1000:.0f} ms")


def observe_send(kind: str, result: str) -> None:
    """One send attempt of the outgoing queue ended: ``sent`` or the failure's class."""
    OUTBOX_SENDS.labels(kind, result).inc()


def observe_job(job_id: str, result: str) -> None:
    JOB_RUNS.labels(str(job_id).split(":", 1)[0], result).inc()


def observe_backup(ok: bool, seconds: float | None, at: float) -> None:
    BACKUP_SECONDS.labels("ok" if ok else "failed").observe(seconds or 0.0)
    if ok:
        BACKUP_LAST.set(at)
