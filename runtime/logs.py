"""The bot's log file: the same lines as the console, in a file that rotates by size.

NoneBot logs to standard output only. The bot also writes every line (at ``LOG_LEVEL``) to
``zhibu.log`` in ``log_dir`` (empty: a folder ``logs`` beside the database). When the file
reaches ``log_max_mb`` it is renamed with the time (``zhibu.2026-12-01_03-30-00_000000.log``)
and compressed to ``.gz``, and a new one is started; rotated files older than
``log_keep_days`` days are deleted whenever a file is rotated (and at start-up).

Both sinks leave out NoneBot's two routine lines around every command ("Event will be handled
by Matcher(… plugins.router …)" and "… running complete"): every command goes through the one
router matcher, so they say nothing the event's own line does not, and they were two thirds
of the log's growth per command. Nor do they take NoneBot's TRACE line that prints each event
in full ("… run with incoming args: …"), private messages included.
"""

from __future__ import annotations

import contextlib
import sys
from datetime import timedelta
from pathlib import Path

import nonebot.log
from nonebot.log import default_filter, default_format, logger

from config import BranchConfig

LOG_NAME = "zhibu.log"
FILE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss} [{level}] {name} | {message}"

ROUTER_MATCHER = "module=plugins.router,"
ROUTINE = ("Event will be handled by Matcher(", "running complete")
FULL_EVENT = " run with incoming args: "  # Matcher.simple_run at TRACE: the event's repr

_sink: int | None = None


def quiet_filter(record) -> bool:
    """NoneBot's filter (``LOG_LEVEL``), less the router matcher's routine lines and NoneBot's
    TRACE line that prints every event in full (a private message's text too)."""
    message = record["message"]
    routine = message.startswith(ROUTINE[0]) or message.endswith(ROUTINE[1])
    if (routine and ROUTER_MATCHER in message) or FULL_EVENT in message:
        return False
    return default_filter(record)


def log_folder(settings: BranchConfig) -> Path:
    """Where the log file lives: ``log_dir``, or ``logs`` beside the database."""
    if settings.log_dir:
        return Path(settings.log_dir)
    return Path(settings.branch_db_path).parent / "logs"


def add_log_file(settings: BranchConfig) -> Path:
    """Write the log to a rotating file too (once per process); returns the file's path."""
    global _sink
    path = log_folder(settings) / LOG_NAME
    if _sink is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(ValueError):  # NoneBot's console sink, re-added with the filter
            logger.remove(nonebot.log.logger_id)
            nonebot.log.logger_id = logger.add(sys.stdout, level=0, diagnose=False,
                                               filter=quiet_filter, format=default_format)
        _sink = logger.add(
            path, level=0, filter=quiet_filter, format=FILE_FORMAT, colorize=False,
            diagnose=False, encoding="utf-8", rotation=settings.log_max_mb * 1024 * 1024,
            retention=timedelta(days=settings.log_keep_days), compression="gz",
        )
    return path
